"""Notifications for agents: in-app (the bell), email digests for agents who are away, Slack.

`notify()` is the entry point for code that decides to notify on its own (automation's "notify"
action); everything else arrives through the `notifications` event subscriber (jobs.py).
"""

from hub.notifications.store import notify

__all__ = ["notify"]
