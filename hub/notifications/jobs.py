"""Jobs of the notifications domain: the event subscriber that turns events into notifications."""

from __future__ import annotations

from hub.notifications import subscriber
from hub.realtime.subscribers import subscribe

subscribe(subscriber.SUBSCRIBER, subscriber.EVENT_TYPES, subscriber.handle)
