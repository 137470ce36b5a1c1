"""Channels: the adapter contract and the inboxes (one channel account each)."""
