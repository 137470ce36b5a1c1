"""Realtime: the event log and its fan-out between processes."""
