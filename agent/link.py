"""The MQTT connection: connect, subscribe on every connect, presence, jittered reconnect.

paho's network thread only moves bytes: inbound messages and connection changes are put
on the core's queue; validation and every state change happen in the core (one owner).
"""

from __future__ import annotations

import logging
import queue
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent import __version__
from agent.clock import Clock
from agent.config import MqttConfig
from agent.messages import MqttHealth, Status
from agent.outbox import Outbox
from agent.topics import Topics

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 3600  # commands sent during a short outage still arrive

# --- inbound flow control -----------------------------------------------------------------
# A QoS 1 message is acknowledged only once the core has handled it (manual acks), and the
# broker keeps at most RECEIVE_MAXIMUM unacknowledged messages in flight to us (MQTT 5
# Receive Maximum; for MQTT 3.1.1 clients Mosquitto applies its own `max_inflight_messages`).
# So a burst waits at the broker, not in our memory, and nothing acknowledged is ever
# dropped here. QoS 0 messages have no flow control: beyond QOS0_BACKLOG of them waiting
# for the core, further ones are dropped and counted (they were never acknowledged).
RECEIVE_MAXIMUM = 100
QOS0_BACKLOG = 1000


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retained: bool
    # For the acknowledgement after handling (`MqttLink.ack`): the packet id and QoS, and
    # the connection it came on (a packet id means nothing on a later connection).
    mid: int = 0
    qos: int = 0
    connection: int = 0
    # The broker sends it again (DUP): it was sent before and not acknowledged, e.g. the
    # connection dropped between our handling it and our acknowledgement arriving.
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class LinkUp:
    since: datetime


@dataclass(frozen=True, slots=True)
class LinkDown:
    reason: str


@dataclass(frozen=True, slots=True)
class Delivered:
    """The broker acknowledged the message with this id."""

    mid: int


LinkMessage = Received | LinkUp | LinkDown | Delivered


def backoff_delay(attempt: int, low: float, high: float, rng: random.Random) -> float:
    """Exponential backoff with random jitter: attempt 1 waits about `low`, doubling to `high`.

    The jitter (50–100 % of the step) keeps a fleet that lost the same broker from
    reconnecting in lockstep.
    """
    step = min(high, low * 2 ** max(0, attempt - 1))
    return float(step * rng.uniform(0.5, 1.0))


def new_client(cfg: MqttConfig, client_id: str) -> mqtt.Client:
    """An MQTT 5 client with the configured credentials and TLS (shared with `doctor`)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if cfg.username is not None:
        client.username_pw_set(cfg.username, cfg.password())
    if cfg.tls:
        client.tls_set(
            ca_certs=str(cfg.ca_file) if cfg.ca_file else None,
            certfile=str(cfg.cert_file) if cfg.cert_file else None,
            keyfile=str(cfg.key_file) if cfg.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        board_id: str,
        topics: Topics,
        inbox: queue.Queue[Any],
        clock: Clock,
        *,
        subscribe_alerts: bool = False,
    ) -> None:
        self.config = config
        self.topics = topics
        self.inbox = inbox
        self.clock = clock
        self.subscribe_alerts = subscribe_alerts
        # Seeded per board and per process: boards of one fleet draw different delays.
        self._rng = random.Random(f"{board_id}-{random.random()}")
        self._attempt = 0
        self.connected_since: datetime | None = None
        self.reconnects = 0
        self.dropped_inbound = 0  # QoS 0 messages beyond QOS0_BACKLOG (never acknowledged)
        self._connection = 0  # grows at every successful connect (paho's thread writes it)
        # QoS 0 messages handed to the core and handled: each counter has one writer thread.
        self._qos0_in = 0
        self._qos0_done = 0
        self._ever_connected = False
        self._stopping = threading.Event()
        self.last_activity = time.monotonic()  # paho's thread did something (watchdog)
        self.client = self._make_client(board_id)

    # --- set-up -------------------------------------------------------------------------

    def _make_client(self, board_id: str) -> mqtt.Client:
        cfg = self.config
        client = new_client(cfg, board_id)
        client.max_queued_messages_set(cfg.max_queued_messages)
        client.max_inflight_messages_set(20)
        client.manual_ack_set(True)  # acknowledged by `ack` once the core has handled it
        client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)  # type: ignore[arg-type]
        will = Status(state="offline", reason="connection-lost")
        client.will_set(self.topics.status, will.model_dump_json(exclude_none=True), 1, True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_publish = self._on_publish
        client.on_log = self._on_log
        return client

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = RECEIVE_MAXIMUM  # back-pressure: see RECEIVE_MAXIMUM
        self.client.connect_async(
            self.config.host,
            self.config.effective_port,
            keepalive=self.config.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    # --- callbacks (paho's thread: keep them tiny and never let them raise) --------------

    def _on_log(self, _client: mqtt.Client, _userdata: Any, _level: int, _message: str) -> None:
        # paho logs every connection attempt, keepalive ping and packet: proof of life.
        self.last_activity = time.monotonic()

    def making_progress(self, allowed_s: float) -> bool:
        """paho's network thread runs and has done something lately (for the watchdog)."""
        thread = getattr(self.client, "_thread", None)
        if thread is None or not thread.is_alive():
            return False
        # A connected client pings every keepalive; a disconnected one retries within the
        # longest backoff: allow for whichever is longer.
        window = max(allowed_s, 2 * self.config.keepalive_s, self.config.reconnect_max_s + 10)
        return time.monotonic() - self.last_activity < window

    @staticmethod
    def _on_socket_open(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        # Small MQTT packets and Nagle's algorithm meet the peer's delayed ACK: without
        # this an event waits ~40 ms per hop. An alert must not.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            log.debug("could not set TCP_NODELAY on the MQTT socket")

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        try:
            self._connection += 1  # before any message of this connection can arrive
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            self._attempt = 0
            client.reconnect_delay_set(self.config.reconnect_min_s, self.config.reconnect_max_s)  # type: ignore[arg-type]
            client.subscribe(
                [(t, 1) for t in self.topics.subscriptions(alerts=self.subscribe_alerts)]
            )
            since = self.clock.now()
            self.connected_since = since
            online = Status(state="online", since=since, agent_version=__version__)
            client.publish(self.topics.status, online.model_dump_json(exclude_none=True), 1, True)
            self.inbox.put(LinkUp(since))
        except Exception:  # a raising callback would kill paho's thread
            log.exception("error in MQTT on_connect")

    def _schedule_retry(self, client: mqtt.Client) -> None:
        if self._stopping.is_set():
            return
        self._attempt += 1
        delay = backoff_delay(
            self._attempt, self.config.reconnect_min_s, self.config.reconnect_max_s, self._rng
        )
        client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]
        log.info("MQTT reconnect attempt %d in %.1f s", self._attempt, delay)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        try:
            was_connected = self.connected_since is not None
            self.connected_since = None
            if was_connected:
                log.warning("MQTT connection lost: %s", reason)
                self.inbox.put(LinkDown(str(reason)))
            self._schedule_retry(client)
        except Exception:
            log.exception("error in MQTT on_disconnect")

    def _on_connect_fail(self, client: mqtt.Client, _userdata: Any) -> None:
        try:
            log.warning(
                "cannot reach MQTT broker %s:%d", self.config.host, self.config.effective_port
            )
            self._schedule_retry(client)
        except Exception:
            log.exception("error in MQTT on_connect_fail")

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        _reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        try:
            self.inbox.put_nowait(Delivered(mid))  # the core's queue is unbounded: never blocks
        except Exception:
            log.exception("error in MQTT on_publish")

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Hand the message to the core; it is acknowledged (`ack`) once handled there.

        Never blocks and never drops a QoS 1 message: the broker's in-flight limit bounds
        how many can be waiting here (RECEIVE_MAXIMUM).
        """
        try:
            if msg.qos == 0 and self._qos0_in - self._qos0_done >= QOS0_BACKLOG:
                self.dropped_inbound += 1
                if self.dropped_inbound % QOS0_BACKLOG == 1:
                    log.warning("QoS 0 flood: dropped %d messages so far", self.dropped_inbound)
                return
            received = Received(
                msg.topic,
                bytes(msg.payload),
                bool(msg.retain),
                msg.mid,
                msg.qos,
                self._connection,
                bool(msg.dup),
            )
            self.inbox.put_nowait(received)
            if msg.qos == 0:
                self._qos0_in += 1  # handed over: `ack` counts it done
        except Exception:  # a raising callback would kill paho's thread
            log.exception("error in MQTT on_message; acknowledging the message unhandled")
            if msg.qos > 0:
                client.ack(msg.mid, msg.qos)  # else it would hold an in-flight slot for ever

    def ack(self, message: Received) -> None:
        """The core is through with `message`: the broker may forget it (and send the next).

        A message of an earlier connection is not acknowledged on this one: its packet id
        may name another message now, and the broker sends it again anyway.
        """
        if message.qos == 0:
            self._qos0_done += 1
            return
        if message.connection != self._connection:
            return
        rc = self.client.ack(message.mid, message.qos)
        if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("could not acknowledge a message on %s: %s", message.topic, rc)

    # --- use from the core --------------------------------------------------------------

    def health(self, tz: tzinfo, outbox: Outbox | None) -> MqttHealth:
        since = self.connected_since
        return MqttHealth(
            connected_since=since.astimezone(tz) if since else None,
            reconnects=self.reconnects,
            outbox=len(outbox) if outbox is not None else 0,
            outbox_dropped=outbox.dropped if outbox is not None else 0,
        )

    @property
    def connected(self) -> bool:
        return self.connected_since is not None

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> int | None:
        """Hand a QoS 1 message to the client; its id, or None when the client refused it.

        Without a connection the client still keeps a QoS 1 message and sends it after
        reconnecting (it is then handed over all the same); only a full queue refuses.
        """
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning(
                "MQTT client refused a message for %s: %s", topic, mqtt.error_string(info.rc)
            )
            return None
        return info.mid

    def stop(self, timeout: float = 1.5) -> None:
        """Clean stop: publish `offline` (the Will is not sent on a clean disconnect)."""
        self._stopping.set()
        if self.connected:
            offline = Status(state="offline", reason="shutdown")
            info = self.client.publish(
                self.topics.status, offline.model_dump_json(exclude_none=True), 1, True
            )
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("offline status not confirmed: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()
