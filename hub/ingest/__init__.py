"""Inbound: the ingest pipeline, pull-channel polling, raw payloads kept for inspection."""
