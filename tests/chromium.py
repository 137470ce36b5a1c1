"""Debian's Chromium as the browser tests start it (the inbox and the widget suites)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = Path(CHROMIUM).is_file()
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
