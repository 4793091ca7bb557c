"""A contract-speaking board simulator: many boards, one MQTT 5 connection each.

Each simulated board speaks CONTRACT §2/§3 as `signage-agent run` does on the wire: a
Last Will and a retained `online` status per connection, heartbeats (built with the
agent's own `Heartbeat` model, so they are valid) every interval from a jittered start,
`playback.started` every item's duration, subscriptions to its alert and content topics,
and on an alert `alert.started` with `sent`, `received_at` and `latency_ms` (and
`alert.ended` on a cancel or an emptied topic).

Why one connection per board: presence is one Last Will per connection, and the
broker's fan-out of an alert to N sessions is what a city pays for; multiplexing boards
over a few connections would measure something else. Why not one thread per board:
2 000 threads on 2 cores spend their time switching. So one selector loop (epoll)
drives many paho clients through paho's external-loop hooks (`on_socket_open`,
`on_socket_register_write`, `loop_read`/`loop_write`/`loop_misc`): one file descriptor
per board, no thread per client; the bench runs one such process per regional broker so
both cores can work. An alert is checked lightly (JSON, type, id, severity), not fully
validated like a real board does: the simulator should add as little of its own time to
the fan-out it measures as it can.

Run as a process: `python -m bench.board_sim --port P --prefix sim-a --count 1000`;
it prints `ready N` once all N are connected, reads `interval S` (heartbeat interval)
and `stop` on stdin, and prints one `stats {json}` line at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import heapq
import itertools
import json
import queue
import random
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sim_board import Counters, Place, SimBoard, now, places

__all__ = ["Place", "SimBoard", "SimFleet", "places"]

Action = Callable[[], None]


class SimFleet:
    """Many `SimBoard`s driven by one selector loop in one thread."""

    def __init__(
        self,
        host: str,
        port: int,
        boards: list[Place],
        *,
        heartbeat_s: float = 30,
        item_s: float = 20,
        connects_per_s: float = 400,
    ) -> None:
        self.host, self.port = host, port
        self.heartbeat_s, self.item_s = heartbeat_s, item_s
        self.connects_per_s = connects_per_s
        self.counters = Counters()
        self.selector = selectors.DefaultSelector()
        self.boards = [self._board(place) for place in boards]
        self.online: set[str] = set()
        self._timers: list[tuple[float, int, Action]] = []
        self._tick = itertools.count()
        self._control: queue.SimpleQueue[Action] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._epoch = 0  # heartbeat schedules of an older interval are dropped
        self._inbox: list[tuple[SimBoard, str, bytes, datetime]] = []

    def _board(self, place: Place) -> SimBoard:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=place.board_id, protocol=mqtt.MQTTv5
        )
        board = SimBoard(place, client, self.counters)
        offline = json.dumps({"state": "offline", "reason": "connection-lost"})
        client.will_set(board.topic("status"), offline, qos=1, retain=True)
        client.max_queued_messages_set(1000)  # bounded, like the agent's in-memory queue
        client.on_socket_open = lambda _c, _u, sock: self._watch(sock, board)
        client.on_socket_close = lambda _c, _u, sock: self._unwatch(sock)
        client.on_socket_register_write = lambda _c, _u, sock: self._want_write(sock, board, True)
        client.on_socket_unregister_write = lambda _c, _u, sock: self._want_write(
            sock, board, False
        )
        client.on_connect = lambda *args: self._connected(board, *args)
        client.on_disconnect = lambda *_args: self._disconnected(board)
        client.on_message = lambda _c, _u, msg: self._message(board, msg)
        return board

    # -- the selector's bookkeeping (paho calls these from inside its loop calls)

    def _watch(self, sock: Any, board: SimBoard) -> None:
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.selector.register(sock, selectors.EVENT_READ, board)

    def _unwatch(self, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(sock)

    def _want_write(self, sock: Any, board: SimBoard, on: bool) -> None:
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.modify(sock, events, board)

    def _connected(self, board: SimBoard, _c: Any, _u: Any, _f: Any, code: Any, _p: Any) -> None:
        if isinstance(code, ReasonCode) and code.is_failure:
            return
        board.on_connect()
        self.online.add(board.place.board_id)

    def _disconnected(self, board: SimBoard) -> None:
        self.counters.disconnects += 1
        self.online.discard(board.place.board_id)
        if not self._stop.is_set():  # back after a jittered pause, as a board does
            self.at(random.uniform(1, 5), lambda: self._connect(board))

    def _message(self, board: SimBoard, msg: mqtt.MQTTMessage) -> None:
        # Only noted here: the answer waits until every socket that was ready has been
        # read, so that one board's answer does not delay the next board's receipt (on a
        # real board each has its own CPU).
        if "/alert/" in msg.topic:
            self._inbox.append((board, msg.topic, bytes(msg.payload), now()))

    # -- timers

    def at(self, delay_s: float, action: Action) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay_s, next(self._tick), action))

    def _beat(self, board: SimBoard, epoch: int) -> None:
        if epoch != self._epoch:
            return
        if board.client.is_connected():
            board.heartbeat(self.heartbeat_s)
        self.at(self.heartbeat_s, lambda: self._beat(board, epoch))

    def _play(self, board: SimBoard) -> None:
        if board.client.is_connected():
            board.play()
        self.at(self.item_s, lambda: self._play(board))

    def _schedule_beats(self) -> None:
        self._epoch += 1
        for board in self.boards:
            self.at(
                random.uniform(0, self.heartbeat_s),
                functools.partial(self._beat, board, self._epoch),
            )

    def set_heartbeat_interval(self, seconds: float) -> None:
        """From any thread: beat every `seconds` from now on (each board from a new
        jittered start within the interval)."""

        def change() -> None:
            self.heartbeat_s = seconds
            self._schedule_beats()

        self._control.put(change)

    # -- the loop

    def _connect(self, board: SimBoard) -> None:
        try:
            board.client.connect(self.host, self.port, keepalive=60, clean_start=True)
        except OSError:
            self.at(random.uniform(1, 5), lambda: self._connect(board))

    def _misc(self) -> None:
        for board in self.boards:
            board.client.loop_misc()  # keepalive pings, timeouts
        self.at(1.0, self._misc)

    def run(self) -> None:
        """Connect every board (at `connects_per_s`), then serve until `stop()`."""
        gap = 1 / self.connects_per_s
        for n, board in enumerate(self.boards):
            self.at(n * gap, functools.partial(self._connect, board))
            self.at(n * gap + random.uniform(0, self.item_s), functools.partial(self._play, board))
        self._schedule_beats()
        self.at(1.0, self._misc)
        while not self._stop.is_set():
            self._step()
        self._close()

    def _step(self) -> None:
        while not self._control.empty():
            self._control.get()()
        timeout = 0.1
        if self._timers:
            timeout = min(timeout, max(0.0, self._timers[0][0] - time.monotonic()))
        ready = self.selector.select(timeout)
        self._read(ready)
        # While alerts arrive, read on before answering (for at most 0.2 s): an alert
        # fanned out to a thousand boards is received by each as it arrives, not after
        # the simulator answered the boards read before it.
        until = time.monotonic() + 0.2
        while self._inbox and time.monotonic() < until:
            more = self.selector.select(0)
            if not any(events & selectors.EVENT_READ for _key, events in more):
                break
            self._read(more)
            ready += more
        for board, topic, payload, received in self._inbox:
            board.on_alert(topic, payload, received)
        self._inbox.clear()
        for key, events in ready:
            if events & selectors.EVENT_WRITE:
                key.data.client.loop_write()
        due = time.monotonic()
        while self._timers and self._timers[0][0] <= due:
            heapq.heappop(self._timers)[2]()

    @staticmethod
    def _read(ready: list[tuple[selectors.SelectorKey, int]]) -> None:
        for key, events in ready:
            if events & selectors.EVENT_READ:
                key.data.client.loop_read()

    def _close(self) -> None:
        shutdown = json.dumps({"state": "offline", "reason": "shutdown"})
        for board in self.boards:
            if board.client.is_connected():
                board.publish("status", shutdown, retain=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(b.client.want_write() for b in self.boards):
            for key, events in self.selector.select(0.1):
                if events & selectors.EVENT_WRITE:
                    key.data.client.loop_write()
        for board in self.boards:
            board.client.disconnect()
            board.client.loop_write()
        self.selector.close()

    def stop(self) -> None:
        self._stop.set()

    def stopped(self) -> bool:
        return self._stop.is_set()

    def start_thread(self) -> SimFleet:
        self._thread = threading.Thread(target=self.run, name="board-sim", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(15)


def _control_reader(fleet: SimFleet) -> None:
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["interval"] and len(words) == 2:
            fleet.set_heartbeat_interval(float(words[1]))
        elif words[:1] == ["stop"]:
            break
    fleet.stop()


def _announce_ready(fleet: SimFleet, count: int) -> None:
    while len(fleet.online) < count and not fleet.stopped():
        time.sleep(0.2)
    print(f"ready {len(fleet.online)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", default="sim")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--heartbeat-s", type=float, default=30)
    parser.add_argument("--item-s", type=float, default=20)
    args = parser.parse_args()
    fleet = SimFleet(
        args.host, args.port, places(args.prefix, args.count),
        heartbeat_s=args.heartbeat_s, item_s=args.item_s,
    )  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: fleet.stop())
    threading.Thread(target=_control_reader, args=(fleet,), daemon=True).start()
    threading.Thread(target=_announce_ready, args=(fleet, args.count), daemon=True).start()
    fleet.run()
    print("stats " + json.dumps(fleet.counters.__dict__), flush=True)


if __name__ == "__main__":
    main()
