"""One package per external system. Adapters import `hub`, never `web` or each other."""
