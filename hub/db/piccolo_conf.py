"""Piccolo's configuration: the hub's database engine and its one app.

The DSN comes from hub.system.runtime (DATABASE_URL, or the embedded PostgreSQL started on demand), so
`piccolo migrations ...` and the hub itself always talk to the same database. It lives inside the
package so an installed `hub` finds it from any working directory (PICCOLO_CONF points here).
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from hub.db.engine import configured_dsn

DB = PostgresEngine(config={"dsn": configured_dsn()}, extensions=())

APP_REGISTRY = AppRegistry(apps=["hub.db.piccolo_app"])
