"""The link's supervisor thread: the deadlines paho does not keep.

paho waits a whole keepalive for a CONNACK, and leaves a silent broker (frozen, half-open
TCP) only after 2 × keepalive. The supervisor cuts a connection whose CONNACK is later
than the connect timeout, and leaves a silent broker within 1.5 × keepalive; paho's
thread then sees the end of the stream and reconnects. It also keeps paho's proof of life for
the watchdog (`making_progress`).
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
SUPERVISE_S = 0.25


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
        while_connected: Callable[[float], None],
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock
        self._stopping = stopping  # the link's: no cut while it stops
        self._connected = connected
        self._while_connected = while_connected  # asked each round while connected
        self._lock = threading.Lock()
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
        if self._thread is not None:
            self._thread.join(timeout=1)

    # --- what paho's thread reports -----------------------------------------------------

    def socket_opened(self) -> None:
        with self._lock:
            self._socket_opened_at = self._clock.monotonic()
            self._cut_reason = None
            self._read_error = None

    def answered(self) -> None:
        """A CONNACK arrived (accepting or refusing): no CONNACK deadline any more."""
        with self._lock:
            self._socket_opened_at = None
            self._last_received = self._clock.monotonic()

    def attempt_failed(self) -> None:
        """The attempt failed before a socket was open (TCP, TLS)."""
        with self._lock:
            self._socket_opened_at = None

    def closed(self) -> tuple[float | None, str | None]:
        """The connection ended: when its socket opened (None once a CONNACK came) and why
        the supervisor cut it (None when it did not); both forgotten for the next one."""
        with self._lock:
            opened, cut = self._socket_opened_at, self._cut_reason
            self._socket_opened_at = None
            self._cut_reason = None
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
        while not self._stopping.wait(SUPERVISE_S):
            try:
                self.check_deadlines(self._clock.monotonic())
            except Exception:  # the supervisor must outlive any surprise
                log.exception("error in the MQTT supervisor")

    def check_deadlines(self, now: float) -> None:
        """Cut a connection that waits too long for its CONNACK or whose broker went silent."""
        with self._lock:
            opened, heard, cut = self._socket_opened_at, self._last_received, self._cut_reason
        if cut is not None:
            return
        connected = self._connected()
        if not connected and opened is not None:
            if now - opened > self._config.connect_timeout_s:
                self._cut(f"no CONNACK within {self._config.connect_timeout_s:g} s")
        elif connected:
            keepalive = self.keepalive
            if now - heard > SILENCE_FACTOR * keepalive:
                self._cut(
                    f"broker silent for {now - heard:.1f} s (keepalive {keepalive} s): "
                    "left the connection (frozen broker or half-open TCP)"
                )
            else:
                self._while_connected(now)

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
