"""Which database, queue and fan-out backend to use: decided by URLs, in this one module.

Unset `DATABASE_URL` means an embedded PostgreSQL (pgserver) in the data folder; unset `REDIS_URL`
means the SAQ queue and the realtime fan-out run on PostgreSQL too. Nothing else in the code base
asks which deployment it is in.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from hub.system.config import Settings

log = logging.getLogger(__name__)

_embedded_dsn: dict[Path, str] = {}


def embedded_dsn(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in `data_dir/pgdata` and return its URI.

    pgserver keeps one server per data folder and stops it when the last process using it exits.
    """
    pgdata = (data_dir / "pgdata").resolve()
    if pgdata in _embedded_dsn:
        return _embedded_dsn[pgdata]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # As root pgserver runs postgres as its own system user, which must reach the folder.
        if os.geteuid() == 0:
            os.chmod(pgdata.parent, 0o755)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        dsn = server.get_uri()
    _embedded_dsn[pgdata] = dsn
    log.info("embedded PostgreSQL running in %s", pgdata)
    return dsn


@dataclass(frozen=True)
class Backends:
    """The resolved URLs every part of the hub connects with."""

    database_dsn: str
    queue_url: str
    fanout_url: str

    @property
    def fanout_is_redis(self) -> bool:
        return self.fanout_url.startswith(("redis://", "rediss://"))


def resolve(settings: Settings) -> Backends:
    dsn = settings.database_url or embedded_dsn(settings.data_dir)
    # Keep piccolo_conf (and the `piccolo` CLI) on the same database as this process.
    os.environ["HUB_RESOLVED_DSN"] = dsn
    queue = settings.redis_url or dsn
    return Backends(database_dsn=dsn, queue_url=queue, fanout_url=queue)


def psycopg_dsn(dsn: str) -> str:
    """SAQ's Postgres queue uses psycopg, which wants `postgresql://`."""
    if dsn.startswith("postgres://"):
        return "postgresql://" + dsn[len("postgres://") :]
    return dsn
