"""The link's supervisor sleeps until its next deadline instead of polling (issue 18), and
still cuts at the deadlines it keeps: the CONNACK's while connecting, the silence's while
connected (the brokers themselves: tests/hostile/test_conn_broker_faults.py)."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.clock import SystemClock
from agent.config import MqttConfig
from agent.link_supervisor import SILENCE_FACTOR, LinkSupervisor


class Watched(LinkSupervisor):
    """The real supervisor, its rounds counted and its cuts noted."""

    def __init__(self, config: MqttConfig, connected: threading.Event) -> None:
        self.rounds = 0
        self.cuts: list[tuple[float, str]] = []
        self.stopping = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2)  # never connected: no socket
        super().__init__(
            client,
            config,
            SystemClock(),
            self.stopping,
            connected.is_set,
            while_connected=lambda _now: None,
        )

    def check_deadlines(self, now: float) -> float | None:
        self.rounds += 1
        return super().check_deadlines(now)

    def _cut(self, reason: str) -> None:
        self.cuts.append((time.monotonic(), reason))
        super()._cut(reason)


def config(**fields: float) -> MqttConfig:
    return MqttConfig.model_validate({"host": "127.0.0.1", **fields})


def test_the_deadlines_it_sleeps_until() -> None:
    connected = threading.Event()
    supervisor = Watched(config(keepalive_s=30, connect_timeout_s=10), connected)
    assert supervisor.check_deadlines(time.monotonic()) is None  # nothing open: no deadline
    supervisor.socket_opened()
    opened = time.monotonic()
    assert abs(supervisor.check_deadlines(opened) - (opened + 10)) < 0.1  # type: ignore[operator]
    supervisor.answered()
    heard = time.monotonic()
    connected.set()
    due = supervisor.check_deadlines(heard)
    assert due is not None
    assert abs(due - (heard + SILENCE_FACTOR * 30)) < 0.1
    assert supervisor.cuts == []


def test_an_idle_supervisor_does_not_wake_and_still_cuts_on_time() -> None:
    connected = threading.Event()
    supervisor = Watched(config(keepalive_s=5, connect_timeout_s=0.6), connected)
    supervisor.start()
    try:
        time.sleep(1.0)  # disconnected, no attempt running: nothing to watch
        assert supervisor.rounds == 1  # the first look, then asleep (it polled 4 a second)
        supervisor.socket_opened()  # an attempt: its CONNACK is due within 0.6 s
        opened = time.monotonic()
        time.sleep(1.0)
        assert [reason for _, reason in supervisor.cuts] == ["no CONNACK within 0.6 s"]
        late = supervisor.cuts[0][0] - opened - 0.6
        assert 0 <= late < 0.1  # at the deadline, not up to a poll later
        assert supervisor.rounds <= 4  # woken by the socket, at the deadline: no polling
        supervisor.closed()
        supervisor.socket_opened()
        supervisor.answered()
        connected.set()
        heard = time.monotonic()
        supervisor.session_up()
        time.sleep(SILENCE_FACTOR * 5 + 0.5)  # a broker silent after its CONNACK
        assert len(supervisor.cuts) == 2
        at, reason = supervisor.cuts[1]
        assert reason.startswith("broker silent for 7.0 s")
        assert 0 <= at - heard - SILENCE_FACTOR * 5 < 0.1
        assert supervisor.rounds <= 10
    finally:
        supervisor.stopping.set()
        supervisor.join()
    assert supervisor._thread is not None
    assert not supervisor._thread.is_alive()  # join woke it: it saw the stop at once
