"""The link's supervisor thread: the deadlines paho does not keep.

paho waits a whole keepalive for a CONNACK, and leaves a silent broker (frozen, half-open
TCP) only after 2 × keepalive. The supervisor cuts a connection whose CONNACK is later
than the connect timeout, and leaves a silent broker within 1.5 × keepalive; paho's
thread then sees the end of the stream and reconnects. It also keeps paho's proof of life for
the watchdog (`making_progress`).

The thread sleeps until its next deadline (the CONNACK's while connecting, the silence's
while connected, a pending command probe's next look), not on a fixed poll: an idle board
must cost nothing. What moves a deadline earlier or starts one wakes it (a socket opened,
a CONNACK, a session up, a connection closed, the stop); what only moves one later (a
packet heard) does not: woken at the old deadline, it finds the new one and sleeps again.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from agent.clock import Clock
from agent.config import MqttConfig
from agent.mqtt_wire import READ_FAILED

# The link's lines keep the one logger name operators and tests filter on.
log = logging.getLogger("agent.link")

SILENCE_FACTOR = 1.4  # leave a silent broker before 1.5 × keepalive (paho alone takes 2 ×)
LATE_S = 0.01  # woken this much after a deadline: past it, whatever the timer's rounding


class LinkSupervisor:
    """What the connection has heard and when, shared by paho's thread (which writes it)
    and the supervisor thread (which acts on it); one lock between them."""

    def __init__(
        self,
        client: mqtt.Client,
        config: MqttConfig,
        clock: Clock,
        stopping: threading.Event,
        connected: Callable[[], bool],
        *,
        while_connected: Callable[[float], float | None],
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock
        self._stopping = stopping  # the link's: no cut while it stops
        self._connected = connected
        # Asked at each wake while connected: when it wants to be asked again, or None.
        self._while_connected = while_connected
        self._lock = threading.Lock()
        self._changed = threading.Event()  # a deadline may have started or come nearer
        self._socket_opened_at: float | None = None
        self._last_received = clock.monotonic()
        self._cut_reason: str | None = None
        self._read_error: str | None = None
        # The keepalive of this connection: the broker may impose its own (MQTT 5).
        self.keepalive = config.keepalive_s
        self.last_activity = clock.monotonic()  # paho's thread did something (watchdog)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name="mqtt-supervisor", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._changed.set()  # the link is stopping: the thread sees it now
        if self._thread is not None:
            self._thread.join(timeout=1)

    # --- what paho's thread reports -----------------------------------------------------

    def socket_opened(self) -> None:
        with self._lock:
            self._socket_opened_at = self._clock.monotonic()
            self._cut_reason = None
            self._read_error = None
        self._changed.set()  # the CONNACK's deadline starts

    def answered(self) -> None:
        """A CONNACK arrived (accepting or refusing): no CONNACK deadline any more."""
        with self._lock:
            self._socket_opened_at = None
            self._last_received = self._clock.monotonic()
        self._changed.set()

    def session_up(self) -> None:
        """The session is up (after `answered`, once the link counts as connected): the
        silence deadline starts, with the keepalive this broker gave."""
        self._changed.set()

    def attempt_failed(self) -> None:
        """The attempt failed before a socket was open (TCP, TLS)."""
        with self._lock:
            self._socket_opened_at = None
        self._changed.set()

    def closed(self) -> tuple[float | None, str | None]:
        """The connection ended: when its socket opened (None once a CONNACK came) and why
        the supervisor cut it (None when it did not); both forgotten for the next one."""
        with self._lock:
            opened, cut = self._socket_opened_at, self._cut_reason
            self._socket_opened_at = None
            self._cut_reason = None
        self._changed.set()
        return opened, cut

    def on_log(self, _client: mqtt.Client, _userdata: Any, _level: int, message: str) -> None:
        # paho logs every connection attempt, keepalive ping and packet: proof of life.
        # "Received …" is logged for every packet from the broker, PINGRESP included: the
        # only sign paho gives of the broker being alive when there is nothing else.
        now = self._clock.monotonic()
        self.last_activity = now
        if message.startswith("Received "):
            self._last_received = now
        elif message.startswith(READ_FAILED):
            # Under TLS 1.3 the broker's verdict on the board's certificate arrives here,
            # after the handshake: paho reports it only in this line.
            with self._lock:
                self._read_error = message.removeprefix(READ_FAILED)

    def read_error(self) -> str | None:
        """What paho's last failed read on this connection said (an SSL alert…), or None."""
        with self._lock:
            return self._read_error

    def making_progress(self, allowed_s: float) -> bool:
        """paho's network thread runs and has done something lately (for the watchdog)."""
        thread = getattr(self._client, "_thread", None)
        if thread is None or not thread.is_alive():
            return False
        # A connected client pings every keepalive; a disconnected one retries within the
        # longest backoff: allow for whichever is longer.
        window = max(allowed_s, 2 * self._config.keepalive_s, self._config.reconnect_max_s + 10)
        return self._clock.monotonic() - self.last_activity < window

    # --- the supervisor thread ----------------------------------------------------------

    def _supervise(self) -> None:
        wait: float | None = 0.0
        while True:
            self._changed.wait(wait)
            # Cleared before the state is read: a change after this wakes the next wait.
            self._changed.clear()
            if self._stopping.is_set():
                return
            now = self._clock.monotonic()
            try:
                due = self.check_deadlines(now)
            except Exception:  # the supervisor must outlive any surprise
                log.exception("error in the MQTT supervisor")
                due = now + 1.0  # and try again soon, as the old poll did
            wait = None if due is None else max(0.0, due - now) + LATE_S

    def check_deadlines(self, now: float) -> float | None:
        """Cut a connection that waits too long for its CONNACK or whose broker went silent;
        returns the next deadline (monotonic), or None when none runs until a change."""
        with self._lock:
            opened, heard, cut = self._socket_opened_at, self._last_received, self._cut_reason
        if cut is not None:
            return None  # cut: its close wakes the thread
        connected = self._connected()
        if not connected and opened is not None:
            timeout = self._config.connect_timeout_s
            if now - opened > timeout:
                self._cut(f"no CONNACK within {timeout:g} s")
                return None
            return opened + timeout
        if not connected:
            return None  # between attempts: the next socket wakes the thread
        keepalive = self.keepalive
        if now - heard > SILENCE_FACTOR * keepalive:
            self._cut(
                f"broker silent for {now - heard:.1f} s (keepalive {keepalive} s): "
                "left the connection (frozen broker or half-open TCP)"
            )
            return None
        silent_at = heard + SILENCE_FACTOR * keepalive
        asked_at = self._while_connected(now)
        return silent_at if asked_at is None else min(silent_at, asked_at)

    def _cut(self, reason: str) -> None:
        with self._lock:
            self._cut_reason = reason
        sock: Any = self._client.socket()
        if sock is None:
            return
        try:  # paho's thread then sees the end of the stream and reconnects
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("socket already closed")
