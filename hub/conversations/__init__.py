"""Conversations: the list and search, the lifecycle, threading, and the inbox pages' read models."""
