"""Outbound: replies, their dispatch through the channels, and delivery updates."""
