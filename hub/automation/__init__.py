"""Automation rules: event and time triggers, condition trees, actions, and their run log."""
