"""The link's subscriptions: the set in force subscribed on every connect, changed on the
live connection when the board's topics change (a remote assignment, CONTRACT §8), and
forgotten when the connection drops (the next connect subscribes the set in force then).

Paho's thread subscribes on connect and forgets on disconnect; the core's thread changes
the set after an assignment: one lock orders the two.
"""

from __future__ import annotations

import logging
import threading

import paho.mqtt.client as mqtt

from agent.link_acks import BrokerAcks
from agent.topics import TopicRow, Topics

# The link's lines keep the one logger name operators and tests filter on.
log = logging.getLogger("agent.link")


class Subscriptions:
    """What this connection subscribed (topic → QoS) and the changes to it."""

    def __init__(
        self, topics: Topics, acks: BrokerAcks, *, alerts: bool, keyring: bool = False
    ) -> None:
        self._topics = topics
        self._acks = acks
        self._alerts = alerts
        self._keyring = keyring  # boards with [trust] (CONTRACT §7)
        self._lock = threading.Lock()
        self._subscribed: dict[str, int] = {}

    def _rows(self) -> list[tuple[str, TopicRow]]:
        return self._topics.subscription_rows(alerts=self._alerts, trust=self._keyring)

    def on_connect(self, client: mqtt.Client) -> None:
        """Paho's thread, on a CONNACK: subscribe every topic in force now."""
        with self._lock:
            rows = self._rows()
            self._subscribed = {topic: row.qos for topic, row in rows}
            topics = [topic for topic, _row in rows]
            _rc, mid = client.subscribe([(topic, row.qos) for topic, row in rows])
            if mid is not None:
                self._acks.subscribing(mid, topics)

    def dropped(self) -> None:
        """Paho's thread, on a disconnect: nothing is subscribed until the next connect."""
        with self._lock:
            self._subscribed = {}

    def change(self, client: mqtt.Client) -> tuple[list[str], list[str]]:
        """The board's topics changed: unsubscribe what it left and subscribe what it
        joined on the live connection (the broker then sends the new topics' retained
        messages). Offline, nothing is sent: the next connect subscribes the new set.
        Returns (subscribed, unsubscribed) topics."""
        with self._lock:
            wanted = {topic: row.qos for topic, row in self._rows()}
            gone = [topic for topic in self._subscribed if topic not in wanted]
            new = [(topic, qos) for topic, qos in wanted.items() if topic not in self._subscribed]
            if not self._subscribed:  # no connection has subscribed: its connect will
                return [], []
            self._subscribed = wanted
            if gone:
                client.unsubscribe(gone)
            if new:
                _rc, mid = client.subscribe(new)
                if mid is not None:
                    self._acks.subscribing(mid, [topic for topic, _qos in new], fresh=False)
        log.info("subscriptions changed: +%s -%s", [t for t, _q in new] or "none", gone or "none")
        return [topic for topic, _qos in new], gone
