"""The core's inbound queue and its backlog: what other threads put, taken in turns.

The queue is unbounded: no thread ever blocks on it, and nothing on it is dropped. What
bounds it: the broker sends at most `link_inbound.RECEIVE_MAXIMUM` unacknowledged messages (each
is acknowledged once handled), QoS 0 is capped by the link, the rest is rare. Each turn
takes what has arrived into one queue per rank — link state and signals (cheap), then
alerts, then content, then commands — and hands it out in that order for at most
HANDLE_BUDGET_S, so that under a flood the loop still draws and sends heartbeats.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Callable

from agent.core_queue import CoreMessage
from agent.feed_reports import FeedAlert
from agent.inbox import InboxFile
from agent.link_messages import Delivered, Received
from agent.topics import AlertTopic, ContentTopic, Topics

HANDLE_BUDGET_S = 0.2
RANKS = 4  # handling order of a backlog, see `Inflow.rank`


class Inflow:
    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.queue: queue.Queue[CoreMessage] = queue.Queue()  # unbounded: see above
        # Arrived, not handled yet: one queue per rank, each in arrival order.
        self.backlog: list[deque[CoreMessage]] = [deque() for _ in range(RANKS)]

    def waiting(self) -> bool:
        return any(self.backlog)

    def turn(self, timeout: Callable[[], float], handle: Callable[[CoreMessage], None]) -> None:
        """Wait (at most `timeout()` seconds) for messages, then hand what has arrived to
        `handle`, most urgent first, for at most HANDLE_BUDGET_S."""
        if not self.waiting():
            try:
                self._enqueue(self.queue.get(timeout=timeout()))
            except queue.Empty:
                return
        while True:  # take what else arrived, without waiting
            try:
                self._enqueue(self.queue.get_nowait())
            except queue.Empty:
                break
        # Real time, not the agent's clock: this bounds the work done per turn.
        deadline = time.monotonic() + HANDLE_BUDGET_S
        for line in self.backlog:
            while line:
                handle(line.popleft())
                if time.monotonic() >= deadline:
                    return

    def _enqueue(self, message: CoreMessage) -> None:
        self.backlog[self.rank(message)].append(message)

    def rank(self, message: CoreMessage) -> int:
        if isinstance(message, Received):
            route = self.topics.route(message.topic)
            if isinstance(route, AlertTopic):
                return 1
            return 2 if isinstance(route, ContentTopic) else 3
        if isinstance(message, FeedAlert):  # an alert, whichever path it came on
            return 1
        return 2 if isinstance(message, InboxFile) else 0

    def deliveries(self) -> list[int]:
        """After the loop stopped: the acknowledgements that arrived (message ids). The
        rest stays unhandled: unacknowledged, so the broker sends it again next run."""
        mids = [m.mid for m in self.backlog[0] if isinstance(m, Delivered)]  # rank 0: link
        while True:
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                return mids
            if isinstance(message, Delivered):
                mids.append(message.mid)
