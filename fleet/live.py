"""Live updates: ingest says what changed, the web page's event streams hear it.

Ingest runs on paho's network thread; the web page's server-sent-event streams run on
uvicorn's event loop. `Changes.notify` may be called from any thread; each subscriber
gets its own bounded asyncio queue on its own loop, so a slow browser never holds up
ingest (when its queue is full it misses changes and is told to reload: `resync`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

# What changed: a board (presence, heartbeat, event, screenshot), an alert (published,
# a receipt, ended), a command (its result came). `key` is the board or alert or command id.
ChangeKind = Literal["board", "alert", "command", "resync"]
QUEUE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    key: str


class Changes:
    """A thread-safe broadcast of `Change`s to asyncio subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Change]]] = []

    def notify(self, kind: ChangeKind, key: str) -> None:
        change = Change(kind, key)
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, queue, change)
            except RuntimeError:  # the subscriber's loop has closed
                continue

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Change]]:
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_LIMIT)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.append(entry)
        try:
            yield queue
        finally:
            with self._lock:
                self._subscribers.remove(entry)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)


def _offer(queue: asyncio.Queue[Change], change: Change) -> None:
    if queue.full():
        # Too far behind: drop what is queued and tell the page to fetch everything anew.
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(Change("resync", ""))
        return
    queue.put_nowait(change)
