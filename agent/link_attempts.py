"""The link's connection attempts: each failed one counted in `reconnects`, kept as the
heartbeat's `last_error`, logged once per cause (a repeat of the same cause at INFO), and
the next one scheduled after a jittered backoff (agent/link_session.py says why an
attempt failed; this says it and waits). A CONNACK starts the count afresh.

Called on paho's thread only (its callbacks): no lock.
"""

from __future__ import annotations

import logging
import random
import threading

import paho.mqtt.client as mqtt

from agent.config import MqttConfig
from agent.link_health import LinkHealth
from signage_base import backoff

# The link's lines keep the one logger name operators and tests filter on.
log = logging.getLogger("agent.link")

backoff_delay = backoff.backoff_delay  # shared with the fetcher and the serial writer


class Attempts:
    """The attempts of one session, and when the next one is made."""

    def __init__(
        self,
        config: MqttConfig,
        board_id: str,
        client: mqtt.Client,
        health: LinkHealth,
        stopping: threading.Event,
    ) -> None:
        self._config = config
        self._client = client
        self._health = health
        self._stopping = stopping
        # Seeded per board and per process: boards of one fleet draw different delays.
        self._rng = random.Random(f"{board_id}-{random.random()}")
        self._attempt = 0
        self._last_logged_cause: str | None = None

    def connected(self) -> None:
        """A CONNACK: the count starts afresh, paho's own delays for the next outage."""
        self._attempt = 0
        self._last_logged_cause = None
        config = self._config
        self._client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)  # type: ignore[arg-type]

    def failed(self, cause: str) -> None:
        """One failed connection attempt: counted, kept for the heartbeat, logged once."""
        self._health.note_error(cause)
        self._health.reconnects += 1
        next_in = self.schedule_retry()
        retry = f"; next attempt in {next_in:.1f} s" if next_in is not None else ""
        level = logging.WARNING if cause != self._last_logged_cause else logging.INFO
        self._last_logged_cause = cause
        log.log(
            level,
            "MQTT connection to %s:%d failed (attempt %d): %s%s",
            self._config.host,
            self._config.effective_port,
            self._attempt,
            cause,
            retry,
        )

    def schedule_retry(self) -> float | None:
        """The next attempt after a jittered backoff; None once the link is stopping."""
        if self._stopping.is_set():
            return None
        self._attempt += 1
        delay = backoff_delay(
            self._attempt, self._config.reconnect_min_s, self._config.reconnect_max_s, self._rng
        )
        self._client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]
        return delay
