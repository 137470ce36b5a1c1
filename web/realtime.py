"""WS /ws/agent: live events for agents, resumable from the last event id they saw.

One relay per web process listens to the fan-out for notices ("events up to id N exist") and
hands the events, read from the table in id order, to the sockets of this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from hub.auth import access
from hub.auth.permissions import Permission, allowed
from hub.db.engine import connection_pool
from hub.notifications import presence
from hub.realtime import events
from hub.routing import availability
from hub.system.services import current
from hub.system.tasks import cancel
from web.security import SUBPROTOCOL, principal_for, principal_from

log = logging.getLogger(__name__)

BACKFILL_PAGE = 500
MAX_QUEUED = 10_000  # a socket this far behind is closed; its client resumes from the table
FIRST_MESSAGE_WAIT = 0.3
RECHECK_SECONDS = 15.0  # how stale a socket's access may get when changed by another process

_encoder = msgspec.json.Encoder()


@dataclass(eq=False)
class Subscriber:
    inboxes: set[int] | None  # None: every inbox
    agent_id: int | None = None
    queue: asyncio.Queue[tuple[events.Event, bytes]] = field(default_factory=asyncio.Queue)
    overflowed: bool = False
    # Set when access may have changed (membership, logout, revoked key): the socket checks its
    # credentials and inboxes again before it hands out anything more.
    recheck: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, event: events.Event) -> bool:
        if event.agent_id is not None:
            # An agent's own notification: never anyone else's, whatever inboxes they see.
            return event.agent_id == self.agent_id
        return self.inboxes is None or event.inbox_id in self.inboxes


class Relay:
    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.last_id = 0
        self._task: asyncio.Task[None] | None = None
        self._presence: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        pool = connection_pool()
        self.last_id = int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM event"))
        fanout = current().fanout
        await fanout.subscribe([events.CHANNEL])
        self._task = asyncio.create_task(self._listen(), name="realtime-relay")
        self._presence = asyncio.create_task(self._heartbeat(), name="agent-presence")

    async def stop(self) -> None:
        for task in (self._task, self._presence):
            if task is not None:
                await cancel(task)
        self._task = self._presence = None

    def connected_agents(self) -> set[int]:
        return {s.agent_id for s in self.subscribers if s.agent_id is not None}

    async def _heartbeat(self) -> None:
        """Record which agents have a socket open here, so notifications know who is online."""
        while True:
            await asyncio.sleep(presence.HEARTBEAT_SECONDS)
            try:
                await presence.touch(sorted(self.connected_agents()))
                await availability.touch(sorted(self.connected_agents()))
            except Exception:
                log.exception("could not record agent presence")

    async def _listen(self) -> None:
        fanout = current().fanout
        while True:
            try:
                async for _, data in fanout.listen():
                    await self.catch_up(events.decode_notice(data).last_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("realtime relay failed; restarting in 1 s")
                await asyncio.sleep(1)

    async def catch_up(self, up_to: int) -> None:
        """Read every event committed since the last one relayed, in id order, and hand it out.

        Notices can arrive late or out of order (each process publishes after its own commit);
        reading from the table makes that harmless: each event is relayed once, in order.
        """
        async with self._lock:
            if not self.subscribers:
                # Nobody to hand events to: skip reading them. Ids are in commit order, so every
                # event up to `up_to` is committed and a socket that starts live starts after it;
                # a socket that resumes reads its own backfill from the table.
                self.last_id = max(self.last_id, up_to)
                return
            while up_to > self.last_id:
                page = await events.events_after(self.last_id, limit=BACKFILL_PAGE)
                if not page:
                    return
                for event in page:
                    self._dispatch(event)

    def _dispatch(self, event: events.Event) -> None:
        self.last_id = max(self.last_id, event.id)
        encoded = _encoder.encode(event)
        for sub in list(self.subscribers):
            if not sub.wants(event):
                continue
            if sub.queue.qsize() >= MAX_QUEUED:
                sub.overflowed = True
                continue
            sub.queue.put_nowait((event, encoded))

    def register(self, inboxes: list[int] | None, agent_id: int | None = None) -> Subscriber:
        sub = Subscriber(None if inboxes is None else set(inboxes), agent_id)
        self.subscribers.add(sub)
        return sub

    def unregister(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def recheck_access(self) -> None:
        """Access changed somewhere: every socket of this process checks its own again now
        (sockets of other processes do within RECHECK_SECONDS)."""
        for sub in self.subscribers:
            sub.recheck.set()


relay = Relay()


async def _first_after(socket: WebSocket) -> int | None:
    raw = socket.query_params.get("after")
    if raw is not None:
        return int(raw) if raw.isdigit() else None
    try:
        message = await asyncio.wait_for(socket.receive_json(), timeout=FIRST_MESSAGE_WAIT)
    except TimeoutError:
        return None
    if isinstance(message, dict) and isinstance(message.get("after"), int):
        return int(message["after"])
    return None


async def _backfill(socket: WebSocket, last: int, inboxes: list[int] | None, agent_id: int) -> int:
    while True:
        page = await events.events_after(
            last, limit=BACKFILL_PAGE, inbox_ids=inboxes, agent_id=agent_id
        )
        for event in page:
            await socket.send_bytes(_encoder.encode(event))
            last = event.id
        if len(page) < BACKFILL_PAGE:
            return last


@websocket("/ws/agent", permission=Permission.READ_CONVERSATIONS)
async def agent_socket(socket: WebSocket) -> None:
    """Live events for the agent (session cookie or ?token=<api key>); send {"after": id} to resume."""
    principal = await principal_for(socket)  # the guard's lookup; re-checks look up again
    if principal is None:
        await socket.close(code=4401, reason="not authenticated")
        return
    if principal.via == "session" and not _same_origin(socket):
        # A cookie rides along on cross-site WebSocket handshakes (SameSite=Lax does not stop
        # them): only the hub's own pages may open a cookie-authenticated socket.
        await socket.close(code=4403, reason="cross-origin socket refused")
        return

    offered = socket.scope.get("subprotocols") or ()
    await socket.accept(subprotocols=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    inboxes = await access.visible_inbox_ids(principal.agent)
    agent_id = principal.agent.id
    sub = relay.register(inboxes, agent_id)
    await presence.touch([agent_id])
    await availability.touch([agent_id])  # routing: seen now (away after absence)
    try:
        after = await _first_after(socket)
        # Without a resume point the socket starts live, from what this process has relayed.
        last = (
            await _backfill(socket, after, inboxes, agent_id)
            if after is not None
            else relay.last_id
        )
        resume: asyncio.Queue[int] = asyncio.Queue()
        reader = asyncio.create_task(_read(socket, resume))
        loop = asyncio.get_running_loop()
        checked_at = loop.time()
        try:
            while True:
                getter = asyncio.create_task(sub.queue.get())
                wanted = asyncio.create_task(resume.get())
                flagged = asyncio.create_task(sub.recheck.wait())
                done, pending = await asyncio.wait(
                    {getter, wanted, reader, flagged},
                    timeout=max(0.0, checked_at + RECHECK_SECONDS - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in pending:
                    if task is not reader:
                        task.cancel()
                if reader in done:
                    return
                # Before anything is sent: a change of access may have come with this event.
                if sub.recheck.is_set() or loop.time() >= checked_at + RECHECK_SECONDS:
                    sub.recheck.clear()
                    checked_at = loop.time()
                    principal = await principal_from(socket)
                    if principal is None:
                        await socket.close(code=4401, reason="logged out or key revoked")
                        return
                    if not allowed(principal.agent.role, Permission.READ_CONVERSATIONS):
                        await socket.close(code=4403, reason="your role may not read conversations")
                        return
                    inboxes = await access.visible_inbox_ids(principal.agent)
                    sub.inboxes = None if inboxes is None else set(inboxes)
                if wanted in done:
                    last = await _backfill(socket, min(last, wanted.result()), inboxes, agent_id)
                if getter in done:
                    event, encoded = getter.result()
                    if not sub.wants(event):
                        pass  # queued before the agent lost access to its inbox
                    elif event.id == 0:  # ephemeral (typing): not part of the resumable stream
                        await socket.send_bytes(encoded)
                    elif event.id > last:
                        await socket.send_bytes(encoded)
                        last = event.id

                if sub.overflowed:
                    await socket.close(code=4408, reason="too far behind; reconnect with after")
                    return
        finally:
            await cancel(reader)
    except WebSocketDisconnect:
        return
    finally:
        relay.unregister(sub)
        if agent_id not in relay.connected_agents():
            await presence.leave(agent_id)
            # The last tab closed: routing counts the absence from now.
            await availability.touch([agent_id])


def _same_origin(socket: WebSocket) -> bool:
    origin = socket.headers.get("origin")
    if not origin:
        return True  # not a browser: cookies are not sent on its behalf
    public = urlsplit(current().settings.public_url)
    host = socket.headers.get("host", "")
    allowed = {f"{public.scheme}://{public.netloc}", f"http://{host}", f"https://{host}"}
    return origin.rstrip("/") in allowed


async def _read(socket: WebSocket, resume: asyncio.Queue[int]) -> None:
    """Client messages after the first: {"after": id} asks for a replay from that id."""
    with contextlib.suppress(WebSocketDisconnect, Exception):
        while True:
            message = await socket.receive_json()
            if isinstance(message, dict) and isinstance(message.get("after"), int):
                await resume.put(int(message["after"]))
