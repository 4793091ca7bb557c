"""Inbound flow control: messages from paho's thread to the core's queue, acknowledged
once the core has handled them.

A QoS 1 message is acknowledged only once the core has handled it (manual acks), and the
broker keeps at most RECEIVE_MAXIMUM unacknowledged messages in flight to us (MQTT 5
Receive Maximum; for MQTT 3.1.1 clients Mosquitto applies its own `max_inflight_messages`).
So a burst waits at the broker, not in our memory, and nothing acknowledged is ever
dropped here. QoS 0 messages have no flow control: beyond QOS0_BACKLOG of them waiting
for the core, further ones are dropped and counted (they were never acknowledged).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from agent.command_probe import CommandReadProbe
from agent.link_messages import Received

# The link's lines keep the one logger name operators and tests filter on.
log = logging.getLogger("agent.link")

RECEIVE_MAXIMUM = 100
QOS0_BACKLOG = 1000


class ArrivalOrder:
    """PUBACKs in the order the PUBLISH packets arrived, as MQTT asks ([MQTT-4.6.0-2]),
    although the core handles a backlog alerts first: an acknowledgement waits for those
    of the messages that arrived before it. paho's thread records arrivals, the core's
    thread reports what it handled; one lock between them, and the acknowledgements are
    sent outside it (paho takes its own locks to send)."""

    def __init__(self, send: Callable[[int, int], None]) -> None:
        self._lock = threading.Lock()
        self._arrived: deque[tuple[int, int]] = deque()  # (packet id, QoS), oldest first
        self._handled: set[int] = set()
        self._send = send

    def arrived(self, mid: int, qos: int) -> None:
        with self._lock:
            self._arrived.append((mid, qos))

    def reset(self) -> None:
        """A new connection: the broker sends again what was not acknowledged."""
        with self._lock:
            self._arrived.clear()
            self._handled.clear()

    def handled(self, mid: int) -> None:
        with self._lock:
            self._handled.add(mid)
            due = []
            while self._arrived and self._arrived[0][0] in self._handled:
                first, qos = self._arrived.popleft()
                self._handled.discard(first)
                due.append((first, qos))
        for first, qos in due:
            self._send(first, qos)


class InboundFlow:
    """Each inbound message handed to the core as `Received`, and acknowledged (`ack`)
    once the core is through with it."""

    def __init__(
        self, client: mqtt.Client, inbox: queue.Queue[Any], probe: CommandReadProbe
    ) -> None:
        self._client = client
        self._probe = probe  # its probes come back here: swallowed, never a command
        self._inbox = inbox
        self._acks = ArrivalOrder(self._send_ack)
        self.connection = 0  # grows at every successful connect (paho's thread writes it)
        self.dropped = 0  # QoS 0 messages beyond QOS0_BACKLOG (never acknowledged)
        # QoS 0 messages handed to the core and handled: each counter has one writer thread.
        self._qos0_in = 0
        self._qos0_done = 0

    def connected(self) -> None:
        """A new connection, before any message of it can arrive: its packet ids are new."""
        self.connection += 1
        self._acks.reset()

    def on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Hand the message to the core; it is acknowledged (`ack`) once handled there.

        Never blocks and never drops a QoS 1 message: the broker's in-flight limit bounds
        how many can be waiting here (RECEIVE_MAXIMUM).
        """
        if msg.qos > 0:
            self._acks.arrived(msg.mid, msg.qos)  # before the core can handle it
        try:
            if self._probe.is_probe(msg.topic, msg.payload):
                if msg.qos > 0:
                    self._acks.handled(msg.mid)  # the link's own: never a command
                return
            if msg.qos == 0 and self._qos0_in - self._qos0_done >= QOS0_BACKLOG:
                self.dropped += 1
                if self.dropped % QOS0_BACKLOG == 1:
                    log.warning("QoS 0 flood: dropped %d messages so far", self.dropped)
                return
            received = Received(
                msg.topic,
                bytes(msg.payload),
                bool(msg.retain),
                msg.mid,
                msg.qos,
                self.connection,
                bool(msg.dup),
            )
            self._inbox.put_nowait(received)
            if msg.qos == 0:
                self._qos0_in += 1  # handed over: `ack` counts it done
        except Exception:  # a raising callback would kill paho's thread
            log.exception("error in MQTT on_message; acknowledging the message unhandled")
            if msg.qos > 0:
                self._acks.handled(msg.mid)  # else it would hold an in-flight slot for ever

    def ack(self, message: Received) -> None:
        """The core is through with `message`: the broker may forget it (and send the next).

        A message of an earlier connection is not acknowledged on this one: its packet id
        may name another message now, and the broker sends it again anyway.
        """
        if message.qos == 0:
            self._qos0_done += 1
            return
        if message.connection != self.connection:
            return
        self._acks.handled(message.mid)  # sent once those that arrived before it are

    def _send_ack(self, mid: int, qos: int) -> None:
        rc = self._client.ack(mid, qos)
        if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("could not acknowledge message %d: %s", mid, rc)
