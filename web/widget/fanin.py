"""All widget sockets of a process share one relay subscriber, routed by conversation.

The agent relay (web.realtime) reads each committed event once per process; a subscriber per
widget socket would wake every socket of an inbox for every event of that inbox. Here one drain
task looks up the visitor owning the event's conversation and queues the visitor's view of it
(encoded once) on that visitor's sockets only. Typing notices, which are never stored, arrive on a
separate fan-out channel and take the same route. Everything starts with the first socket of the
process and stops with the last, so an idle process holds no extra connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import msgspec

from hub.realtime import events
from hub.realtime.fanout import Fanout
from hub.system.services import current
from hub.system.tasks import cancel
from hub.visitors import contacts, presence, views
from web import realtime

log = logging.getLogger(__name__)

Key = tuple[int, int]  # (inbox id, contact id): one visitor, on every device they use
EVENT, RESUME, FRAME = 0, 1, 2
Item = tuple[int, int, str]  # (what, event id or resume point, text frame)
MAX_QUEUED = 1_000  # a socket this far behind is closed; its client resumes from the table
TYPING_CHANNEL = "hub_typing"
PRESENCE_REFRESH_TICKS = 30  # seconds between refreshes of "online" for every held visitor

_encoder = msgspec.json.Encoder()


class TypingNotice(msgspec.Struct, frozen=True):
    conversation_id: int
    inbox_id: int
    sender: str  # "agent" | "visitor"
    name: str
    typing: bool
    agent_id: int | None = None


_notice_decoder = msgspec.json.Decoder(TypingNotice)


class Connection:
    """One widget socket's queue of frames to send."""

    __slots__ = ("key", "overflowed", "queue")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.overflowed = False

    def push(self, item: Item) -> None:
        if self.queue.qsize() >= MAX_QUEUED:
            self.overflowed = True
            return
        self.queue.put_nowait(item)


def frame(value: Any) -> str:
    return _encoder.encode(value).decode()


class Fanin:
    def __init__(self) -> None:
        self.watchers: dict[Key, set[Connection]] = {}
        self.owned: dict[Key, set[int]] = {}  # the conversations of each held visitor
        self.owners: dict[int, Key] = {}
        self.subscriber: realtime.Subscriber | None = None
        self.bus: Fanout | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.went_online: set[int] = set()
        self.went_offline: set[int] = set()
        self._lock = asyncio.Lock()

    # --- sockets ---------------------------------------------------------------------------

    async def attach(self, conn: Connection) -> None:
        """Route the visitor's events to this socket from now on.

        The caller backfills from the table afterwards, which closes any gap between the
        conversations read here and events already relayed.
        """
        async with self._lock:
            if self.subscriber is None:
                await self._start()
            if conn.key not in self.watchers:
                self.went_online.add(conn.key[1])
            self.watchers.setdefault(conn.key, set()).add(conn)
        # Read after registering: a conversation created meanwhile is learnt from its event.
        self._own(conn.key, await contacts.conversation_ids(*conn.key))

    async def detach(self, conn: Connection) -> None:
        async with self._lock:
            held = self.watchers.get(conn.key)
            if held is not None:
                held.discard(conn)
                if not held:
                    del self.watchers[conn.key]
                    for conversation_id in self.owned.pop(conn.key, set()):
                        self.owners.pop(conversation_id, None)
                    self.went_offline.add(conn.key[1])
            if not self.watchers and self.subscriber is not None:
                await self._stop()

    def _own(self, key: Key, conversation_ids: list[int]) -> None:
        if key not in self.watchers:
            return
        self.owned.setdefault(key, set()).update(conversation_ids)
        for conversation_id in conversation_ids:
            self.owners[conversation_id] = key

    # --- events ----------------------------------------------------------------------------

    def route(self, event: events.Event) -> None:
        conversation_id = event.conversation_id
        if conversation_id is None:
            return
        key = self.owners.get(conversation_id)
        if key is None and event.type.startswith("conversation.") and event.inbox_id:
            contact = (event.data.get("contact") or {}).get("id")
            if isinstance(contact, int) and (event.inbox_id, contact) in self.watchers:
                key = (event.inbox_id, contact)
                self._own(key, [conversation_id])
        if key is None:
            return
        view = views.event_view(event)
        if view is None:
            return
        text = frame(view)
        for conn in self.watchers.get(key, ()):
            conn.push((EVENT, event.id, text))

    async def _drain(self) -> None:
        while True:
            subscriber = self.subscriber
            assert subscriber is not None
            event, _ = await subscriber.queue.get()
            try:
                self.route(event)
            except Exception:
                log.exception("widget: could not route event %s", event.id)
            if subscriber.overflowed:
                self._overflowed()

    def _overflowed(self) -> None:
        # The relay dropped events for us: every socket may have a gap, so each is closed and
        # its client resumes from the table. A fresh subscriber starts clean.
        log.warning("widget fan-in fell behind the relay; closing widget sockets to resume")
        if self.subscriber is not None:
            realtime.relay.unregister(self.subscriber)
        self.subscriber = realtime.relay.register(None)
        for held in self.watchers.values():
            for conn in held:
                conn.overflowed = True
                conn.queue.put_nowait((FRAME, 0, ""))  # wake its sender to close

    # --- typing ----------------------------------------------------------------------------

    def on_typing(self, notice: TypingNotice) -> None:
        if notice.sender == "agent":
            key = self.owners.get(notice.conversation_id)
            text = frame(
                {
                    "type": "typing",
                    "conversation_id": notice.conversation_id,
                    "typing": notice.typing,
                    "name": notice.name,
                }
            )
            for conn in self.watchers.get(key, set()) if key is not None else set():
                conn.push((FRAME, 0, text))
        # Agents' sockets get both sides (a colleague typing too) as an event without an id:
        # it is not part of the resumable stream.
        event = events.Event(
            id=0,
            type="typing",
            conversation_id=notice.conversation_id,
            inbox_id=notice.inbox_id,
            data=msgspec.to_builtins(notice),
            created_at=dt.datetime.now(dt.UTC).isoformat(),
        )
        encoded = _encoder.encode(event)
        for sub in list(realtime.relay.subscribers):
            if sub is not self.subscriber and sub.wants(event):
                sub.queue.put_nowait((event, encoded))

    async def _listen_typing(self) -> None:
        bus = self.bus
        assert bus is not None
        async for _, data in bus.listen():
            try:
                self.on_typing(_notice_decoder.decode(data))
            except Exception:
                log.exception("widget: bad typing notice")

    # --- presence --------------------------------------------------------------------------

    async def _presence(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(1)
            tick += 1
            try:
                await self._flush_presence(refresh_all=tick % PRESENCE_REFRESH_TICKS == 0)
            except Exception:
                log.exception("widget: could not record visitor presence")

    async def _flush_presence(self, *, refresh_all: bool = False) -> None:
        held = {key[1] for key in self.watchers}
        online, self.went_online = (held if refresh_all else self.went_online & held), set()
        offline, self.went_offline = self.went_offline - held, set()
        await presence.mark_online(sorted(online))
        await presence.mark_offline(sorted(offline))

    # --- lifecycle -------------------------------------------------------------------------

    async def _start(self) -> None:
        self.subscriber = realtime.relay.register(None)
        self.bus = Fanout(current().backends.fanout_url)
        try:
            await self.bus.start()
            await self.bus.subscribe([TYPING_CHANNEL])
        except Exception:
            log.exception("widget: typing notices are unavailable (fan-out not reachable)")
            self.bus = None
        self.tasks = [
            asyncio.create_task(self._drain(), name="widget-fanin"),
            asyncio.create_task(self._presence(), name="widget-presence"),
        ]
        if self.bus is not None:
            self.tasks.append(asyncio.create_task(self._listen_typing(), name="widget-typing"))

    async def _stop(self) -> None:
        await cancel(*self.tasks)
        self.tasks = []
        if self.subscriber is not None:
            realtime.relay.unregister(self.subscriber)
            self.subscriber = None
        if self.bus is not None:
            with contextlib.suppress(Exception):
                await self.bus.stop()
            self.bus = None
        with contextlib.suppress(Exception):
            await self._flush_presence()
        self.owned.clear()
        self.owners.clear()

    @property
    def connections(self) -> int:
        return sum(len(held) for held in self.watchers.values())


fanin = Fanin()


async def publish_typing(notice: TypingNotice) -> None:
    """Tell every web process; failures are harmless (typing is a hint, never stored)."""
    try:
        await current().fanout.publish(TYPING_CHANNEL, _encoder.encode(notice))
    except Exception:
        log.warning("could not publish a typing notice", exc_info=True)
