"""Piccolo's configuration for the `piccolo` CLI run from the repository root.

The real configuration is hub/db/piccolo_conf.py (found from anywhere through PICCOLO_CONF).
"""

from hub.db.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
