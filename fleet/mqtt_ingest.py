"""The fleet's subscription to what boards publish (and to the city's alerts).

One MQTT 5 session kept by the broker (clean start off, a session expiry): QoS 1 messages
that arrive while the fleet restarts wait at the broker and are delivered when it comes
back, within the broker's own queue limits (Mosquitto's `max_queued_messages`). paho's
network thread connects, and reconnects with a growing delay for as long as it takes; a
broker that is down when the fleet starts is only a warning. The subscriptions are made
again on every connect (a broker restarted without persistence has forgotten them).

Messages are handed to ingest on paho's thread, one at a time: each is one short
transaction, and paho acknowledges a QoS 1 message only when the handler returns, so a
message the fleet has not stored is delivered again after a crash.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 24 * 3600  # the broker keeps the session (and its queue) for a day
KEEPALIVE_S = 30
RECONNECT_S = (1, 30)  # paho doubles the delay from the first to the second

MessageHandler = Callable[[str, bytes, bool], None]


def board_topics(root: str) -> list[str]:
    """What the fleet reads (also the ACL it needs: docs/fleet.md)."""
    leaves = ("status", "heartbeat", "events", "cmd/result", "screenshot")
    return [f"{root}/board/+/{leaf}" for leaf in leaves] + [f"{root}/alert/#"]


def default_client_id() -> str:
    """`signage-fleet-<host name>`: stable across restarts, so the broker knows the
    session again; only characters every broker takes in a client id."""
    host = re.sub(r"[^a-zA-Z0-9-]", "-", socket.gethostname())[:40] or "host"
    return f"signage-fleet-{host}"


class BoardSubscription:
    """`start()` connects in the background and keeps connected; `stop()` ends it."""

    def __init__(
        self,
        host: str,
        port: int,
        root: str,
        on_message: MessageHandler,
        *,
        client_id: str | None = None,
    ) -> None:
        self.host, self.port, self.root = host, port, root
        self.topics = board_topics(root)
        self._on_message = on_message
        self.subscribed = threading.Event()  # set while the subscriptions stand
        self._failing = False  # an outage is told once, not at every retry
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or default_client_id(),
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.reconnect_delay_set(*RECONNECT_S)
        client.on_connect = self._connected
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        client.on_subscribe = self._subscribed
        client.on_message = self._message
        self._client = client

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self._client.connect_async(
            self.host, self.port, keepalive=KEEPALIVE_S, clean_start=False, properties=properties
        )
        self._client.loop_start()

    def stop(self) -> None:
        # A clean disconnect keeps the session (its expiry is not zero): what boards send
        # until the fleet is back is queued for it.
        self._client.disconnect()
        self._client.loop_stop()
        self.subscribed.clear()

    # --- paho's thread ----------------------------------------------------------------

    def _connected(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._tell_failure(f"the broker refused the connection: {reason}")
            return
        self._failing = False
        resumed = " (its session resumed)" if flags.session_present else ""
        log.info("connected to the broker at %s:%d%s", self.host, self.port, resumed)
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in self.topics])

    def _subscribed(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        refused = [t for t, r in zip(self.topics, reasons, strict=False) if r.is_failure]
        if refused:
            # An ACL that does not let the fleet read: say which, keep what was granted.
            log.error("the broker refused the subscriptions %s (check its ACL)", refused)
        log.info("subscribed to %d topics under %s/", len(self.topics) - len(refused), self.root)
        self.subscribed.set()

    def _connect_failed(self, _client: mqtt.Client, _userdata: Any) -> None:
        self._tell_failure("cannot reach it")

    def _disconnected(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.subscribed.clear()
        if reason.is_failure:
            self._tell_failure(f"lost the connection ({reason})")

    def _tell_failure(self, what: str) -> None:
        if not self._failing:
            log.warning(
                "broker %s:%d: %s; retrying every %d s at most",
                self.host,
                self.port,
                what,
                RECONNECT_S[1],
            )
        else:
            log.debug("broker %s:%d: %s", self.host, self.port, what)
        self._failing = True

    def _message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # MQTT topics are UTF-8; a broker should not pass this
            log.warning("ignored a message whose topic is not UTF-8")
            return
        try:
            self._on_message(topic, bytes(message.payload), bool(message.retain))
        except Exception:  # ingest catches its own; this keeps paho's thread alive
            log.exception("ingest failed on %r", topic[:200])
