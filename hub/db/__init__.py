"""Database: Piccolo tables, migrations and the connection pool."""

import os

# Piccolo looks for its configuration module by this name, from any working directory.
os.environ.setdefault("PICCOLO_CONF", "hub.db.piccolo_conf")
