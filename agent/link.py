"""The MQTT connection: connect, subscribe on every connect, presence, jittered reconnect.

paho's network thread only moves bytes: inbound messages and connection changes are put
on the core's queue; validation and every state change happen in the core (one owner).

The connection side says why it fails: every failed attempt is logged once with its
cause (refused and why, closed before CONNACK, no CONNACK in time, TLS and what about it,
TCP), counted in `reconnects` and kept as `last_error` for the next heartbeat. A small
supervisor thread enforces what paho does not: a CONNACK deadline, and leaving a broker
that has gone silent (frozen, half-open TCP) within 1.5 × keepalive. The broker's
acknowledgements are checked: a refused publish or subscription is counted (`denied`)
and logged once per topic. The broker's announced limits are respected; a packet it
refuses for its size costs the connection at most once (its size is then known).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import socket
import ssl
import sys
import threading
from collections import deque
from collections.abc import Callable
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
from agent.command_probe import CommandReadProbe, Verdict
from agent.config import MqttConfig
from agent.messages import MqttHealth, Status
from agent.mqtt_wire import (
    PACKET_TOO_LARGE,
    PAHO_PROTOCOL,
    QOS_NOT_SUPPORTED,
    RETAIN_NOT_SUPPORTED,
    UNSUPPORTED_PROTOCOL,
    ProtocolName,
    ServerLimits,
    describe_connect_error,
    publish_packet_size,
)
from agent.outbox import Outbox
from agent.topics import Topics
from signage_base import backoff

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 3600  # commands sent during a short outage still arrive
SILENCE_FACTOR = 1.4  # leave a silent broker before 1.5 × keepalive (paho alone takes 2 ×)
SUPERVISE_S = 0.25
# Under MQTT 3.1.1 a broker drops an oversize packet by closing the connection at once,
# without a reason. A message is taken for the culprit only when the connection dropped
# within LEARN_WINDOW_S of handing it over, it is bigger than LEARN_FLOOR (heartbeats and
# small events never are) and than anything the broker acknowledged so far: a broker that
# merely restarts while a report is in flight teaches nothing.
LEARN_FLOOR = 2048
LEARN_WINDOW_S = 1.0
KEEPALIVE_TIMEOUT = 0x8D  # paho's reason code when it gives up waiting for the broker

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


@dataclass(frozen=True, slots=True)
class LinkTrouble:
    """Something the technician must hear about now (a denial): refresh `STATUS=`."""

    message: str


LinkMessage = Received | LinkUp | LinkDown | Delivered | LinkTrouble


backoff_delay = backoff.backoff_delay  # shared with the fetcher and the serial writer


def first_protocol(cfg: MqttConfig) -> ProtocolName:
    return "3.1.1" if cfg.protocol == "3.1.1" else "5"


def new_client(
    cfg: MqttConfig,
    client_id: str,
    protocol: ProtocolName | None = None,
    *,
    persistent: bool = False,
) -> mqtt.Client:
    """A client with the configured protocol, credentials and TLS (shared with `doctor`).

    `persistent`: under 3.1.1 the broker keeps the session (clean_session false), as the
    session expiry property does under MQTT 5.
    """
    version = protocol or first_protocol(cfg)
    if version == "5":
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=not persistent,
        )
    client.connect_timeout = cfg.connect_timeout_s  # TCP connect and TLS handshake
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


def switch_protocol(client: mqtt.Client, protocol: ProtocolName, *, persistent: bool) -> None:
    """Make the next connect attempt of `client` speak `protocol`.

    paho fixes the version in its constructor and has no setter; a new client would lose
    what the old one holds, so the (stable since 1.x) private fields are set instead.
    """
    client._protocol = PAHO_PROTOCOL[protocol]
    client._clean_session = not persistent


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
        self.reconnects = 0  # failed attempts and re-connections after a loss
        self.dropped_inbound = 0  # QoS 0 messages beyond QOS0_BACKLOG (never acknowledged)
        self._connection = 0  # grows at every successful connect (paho's thread writes it)
        self._acks = ArrivalOrder(self._send_ack)
        # QoS 0 messages handed to the core and handled: each counter has one writer thread.
        self._qos0_in = 0
        self._qos0_done = 0
        self._ever_connected = False
        self._stopping = threading.Event()
        self.last_activity = self.clock.monotonic()  # paho's thread did something (watchdog)
        # What the connection side knows and reports.
        self.protocol: ProtocolName = first_protocol(config)
        self.fell_back = False  # auto mode settled on 3.1.1 for this session
        # `auto` tries both versions in turn until a broker answers; the version of its
        # first CONNACK holds for the session (a frozen broker must not change it later).
        self._settled = config.protocol != "auto"
        self._refused_5 = False  # the broker said so: no more MQTT 5 attempts
        self.limits = ServerLimits(self.protocol)
        self._learned_max_packet: int | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self._last_logged_cause: str | None = None
        self.denied = 0
        self.denials: dict[str, str] = {}  # "write TOPIC" / "read TOPIC" → reason
        self.too_large = 0  # messages dropped because the broker cannot take their size
        self._oversize_logged: set[str] = set()
        # What the broker allows: the topic table's QoS and retain flags are capped to it.
        self._qos = 1
        self._retain = True
        self._retain_reported = False
        # Supervision state, shared with the supervisor thread.
        self._lock = threading.Lock()
        self._socket_opened_at: float | None = None
        self._last_received = self.clock.monotonic()
        self._keepalive = config.keepalive_s
        self._cut_reason: str | None = None
        self._unacked: dict[int, tuple[str, int, float]] = {}  # mid → (topic, size, handed at)
        self._largest_acked = 0
        self._pending_subscriptions: dict[int, list[str]] = {}
        self._synthetic_mid = 0
        self._supervisor: threading.Thread | None = None
        self.command_probe = CommandReadProbe(topics.command)
        self._probe_said: str | None = None  # the finding last logged
        self.client = self._make_client(board_id)

    # --- set-up -------------------------------------------------------------------------

    def _make_client(self, board_id: str) -> mqtt.Client:
        cfg = self.config
        client = new_client(cfg, board_id, self.protocol, persistent=True)
        client.max_queued_messages_set(cfg.max_queued_messages)
        client.max_inflight_messages_set(20)
        client.manual_ack_set(True)  # acknowledged by `ack` once the core has handled it
        client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)  # type: ignore[arg-type]
        self._set_will(client)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_log = self._on_log
        return client

    def _set_will(self, client: mqtt.Client) -> None:
        will = Status(state="offline", reason="connection-lost")
        qos, retain = self._flags(self.topics.status)
        client.will_set(self.topics.status, will.model_dump_json(exclude_none=True), qos, retain)

    def _flags(self, topic: str) -> tuple[int, bool]:
        """QoS and retain flag of an outbound topic: its row of the topic table, within
        what the broker supports."""
        row = self.topics.outbound(topic)
        if row is None:  # not a topic of the table: a programming error, said loudly
            raise ValueError(f"{topic} is not an outbound topic of the topic table")
        return min(row.qos, self._qos), row.retain and self._retain

    def start(self) -> None:
        props: Properties | None = None
        if self.protocol == "5":
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
        self._supervisor = threading.Thread(
            target=self._supervise, name="mqtt-supervisor", daemon=True
        )
        self._supervisor.start()

    # --- supervision: deadlines paho does not keep ---------------------------------------

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_S):
            try:
                self.check_deadlines(self.clock.monotonic())
            except Exception:  # the supervisor must outlive any surprise
                log.exception("error in the MQTT supervisor")

    def check_deadlines(self, now: float) -> None:
        """Cut a connection that waits too long for its CONNACK or whose broker went silent."""
        with self._lock:
            opened, heard, cut = self._socket_opened_at, self._last_received, self._cut_reason
        if cut is not None:
            return
        if self.connected_since is None and opened is not None:
            if now - opened > self.config.connect_timeout_s:
                self._cut(f"no CONNACK within {self.config.connect_timeout_s:g} s")
        elif self.connected_since is not None:
            keepalive = self._keepalive
            if now - heard > SILENCE_FACTOR * keepalive:
                self._cut(
                    f"broker silent for {now - heard:.1f} s (keepalive {keepalive} s): "
                    "left the connection (frozen broker or half-open TCP)"
                )
            else:
                verdict = self.command_probe.verdict(now)
                if verdict is not None:
                    self._probe_found(verdict)

    def _probe_found(self, verdict: Verdict) -> None:
        """The command probe's finding: a denial like a refused publish, else a line."""
        what = f"read {self.topics.command}"
        if verdict.finding == "denied":
            self._deny(what, verdict.reason)
            return
        if verdict.finding == "proven" and self.denials.pop(what, None) is not None:
            log.info("MQTT broker delivers commands again: %s", verdict.reason)
            with contextlib.suppress(queue.Full):
                self.inbox.put_nowait(LinkTrouble(f"allowed {what}"))
        if self._probe_said != verdict.finding:
            self._probe_said = verdict.finding
            if verdict.finding == "proven":
                log.info("MQTT read permission on commands proven: %s", verdict.reason)
            else:
                log.info("MQTT read permission on commands not testable: %s", verdict.reason)

    def _cut(self, reason: str) -> None:
        with self._lock:
            self._cut_reason = reason
        sock: Any = self.client.socket()
        if sock is None:
            return
        try:  # paho's thread then sees the end of the stream and reconnects
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("socket already closed")

    # --- callbacks (paho's thread: keep them tiny and never let them raise) --------------

    def _on_log(self, _client: mqtt.Client, _userdata: Any, _level: int, message: str) -> None:
        # paho logs every connection attempt, keepalive ping and packet: proof of life.
        # "Received …" is logged for every packet from the broker, PINGRESP included: the
        # only sign paho gives of the broker being alive when there is nothing else.
        now = self.clock.monotonic()
        self.last_activity = now
        if message.startswith("Received "):
            self._last_received = now

    def making_progress(self, allowed_s: float) -> bool:
        """paho's network thread runs and has done something lately (for the watchdog)."""
        thread = getattr(self.client, "_thread", None)
        if thread is None or not thread.is_alive():
            return False
        # A connected client pings every keepalive; a disconnected one retries within the
        # longest backoff: allow for whichever is longer.
        window = max(allowed_s, 2 * self.config.keepalive_s, self.config.reconnect_max_s + 10)
        return self.clock.monotonic() - self.last_activity < window

    def _on_socket_open(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        with self._lock:
            self._socket_opened_at = self.clock.monotonic()
            self._cut_reason = None
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
        props: Properties | None,
    ) -> None:
        try:
            with self._lock:
                self._socket_opened_at = None
                self._last_received = self.clock.monotonic()
            if reason.is_failure:
                self._refused(client, reason)
                return
            self._settle()
            self._connection += 1  # before any message of this connection can arrive
            self._acks.reset()
            self._apply_limits(ServerLimits.from_connack(self.protocol, props))
            # A broker may impose its own keepalive (MQTT 5 Server Keep Alive); paho obeys.
            server_keepalive = getattr(props, "ServerKeepAlive", None) if props else None
            self._keepalive = server_keepalive or self.config.keepalive_s
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            self._attempt = 0
            self._last_logged_cause = None
            client.reconnect_delay_set(self.config.reconnect_min_s, self.config.reconnect_max_s)  # type: ignore[arg-type]
            rows = self.topics.subscription_rows(alerts=self.subscribe_alerts)
            topics = [topic for topic, _row in rows]
            _rc, mid = client.subscribe([(topic, row.qos) for topic, row in rows])
            if mid is not None:
                self._pending_subscriptions = {mid: topics}
            since = self.clock.now()
            self.connected_since = since
            online = Status(state="online", since=since, agent_version=__version__)
            body = online.model_dump_json(exclude_none=True).encode()
            info = client.publish(self.topics.status, body, *self._flags(self.topics.status))
            self._track(info.mid, self.topics.status, body)
            self._send_probe(client)
            log.info(
                "MQTT %s session with %s:%d%s; broker limits: %s",
                self.protocol,
                self.config.host,
                self.config.effective_port,
                " (fell back from MQTT 5)" if self.fell_back else "",
                self.limits.describe(),
            )
            self.inbox.put(LinkUp(since))
        except Exception:  # a raising callback would kill paho's thread
            log.exception("error in MQTT on_connect")

    def _send_probe(self, client: mqtt.Client) -> None:
        """After the subscriptions (the broker handles them first): see command_probe."""
        qos = min(1, self._qos)
        info = client.publish(
            self.topics.command, self.command_probe.payload(), qos=qos, retain=False
        )
        verifiable = self.protocol == "5" and qos == 1
        self.command_probe.sent(info.mid, self.clock.monotonic(), verifiable=verifiable)

    def _refused(self, client: mqtt.Client, reason: ReasonCode) -> None:
        code = reason.value
        if code == UNSUPPORTED_PROTOCOL and not self._settled and self.protocol == "5":
            self._refused_5 = True
            self._try_other_protocol(client, f"broker refused MQTT 5 ({reason})")
            return
        if code == RETAIN_NOT_SUPPORTED and self._retain:
            self._retain = False
            self._set_will(client)
            self._failed(f"broker refused the connection: {reason}; retrying without retain")
            return
        if code == QOS_NOT_SUPPORTED and self._qos > 0:
            self._qos = 0
            self._set_will(client)
            self._failed(f"broker refused the connection: {reason}; retrying with QoS 0")
            return
        self._failed(f"broker refused the connection: {reason}")

    def _settle(self) -> None:
        if self._settled:
            return
        self._settled = True
        if self.protocol == "3.1.1":
            self.fell_back = True
            log.warning(
                "the broker does not speak MQTT 5: falling back to MQTT 3.1.1 for this "
                'session (set [mqtt] protocol = "3.1.1" to skip the MQTT 5 attempts)'
            )

    def _try_other_protocol(self, client: mqtt.Client, why: str) -> None:
        """Before any CONNACK in `auto` mode: the next attempt speaks the other version."""
        other: ProtocolName = "3.1.1" if self.protocol == "5" or self._refused_5 else "5"
        if other != self.protocol:
            self.protocol = other
            self.limits = ServerLimits(other)
            switch_protocol(client, other, persistent=True)
        self._failed(f"{why}; trying MQTT {other} next")

    def _apply_limits(self, limits: ServerLimits) -> None:
        self.limits = limits
        if limits.retain_available is False and not self._retain_reported:
            self._retain = False
            self._retain_reported = True
            log.error(
                "the broker does not keep retained messages: presence (status) is sent "
                "unretained, and content and alerts reach this board only while it is "
                "connected. Turn retain on at the broker (Mosquitto: retain_available true)"
            )
            self._note_error("broker does not support retained messages")
        if limits.maximum_qos == 0 and self._qos > 0:
            self._qos = 0
            log.error("the broker allows only QoS 0: reports are sent at most once")
            self._note_error("broker allows only QoS 0")

    def _note_error(self, cause: str) -> None:
        self.last_error = cause
        self.last_error_at = self.clock.now()

    def _failed(self, cause: str) -> None:
        """One failed connection attempt: counted, kept for the heartbeat, logged once."""
        self._note_error(cause)
        self.reconnects += 1
        next_in = self._schedule_retry(self.client)
        retry = f"; next attempt in {next_in:.1f} s" if next_in is not None else ""
        level = logging.WARNING if cause != self._last_logged_cause else logging.INFO
        self._last_logged_cause = cause
        log.log(
            level,
            "MQTT connection to %s:%d failed (attempt %d): %s%s",
            self.config.host,
            self.config.effective_port,
            self._attempt,
            cause,
            retry,
        )

    def _schedule_retry(self, client: mqtt.Client) -> float | None:
        if self._stopping.is_set():
            return None
        self._attempt += 1
        delay = backoff_delay(
            self._attempt, self.config.reconnect_min_s, self.config.reconnect_max_s, self._rng
        )
        client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]
        return delay

    def _on_disconnect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        try:
            with self._lock:
                opened, cut = self._socket_opened_at, self._cut_reason
                self._socket_opened_at = None
                self._cut_reason = None
            was_connected = self.connected_since is not None
            self.connected_since = None
            if self._stopping.is_set():
                log.info("MQTT disconnected (clean stop)")
                return
            from_broker = flags.is_disconnect_packet_from_server
            oversize = self._forget_oversize(reason, from_broker=from_broker, cut=cut is not None)
            if was_connected:
                cause = cut or oversize or f"connection lost: {reason}"
                log.warning("MQTT %s", cause)
                self._note_error(cause)
                self.inbox.put(LinkDown(str(reason)))
                self._schedule_retry(client)
                return
            if opened is None and cut is None:
                return  # after a refusal, already reported and retried
            if cut is not None:
                why = cut
            elif reason.value == KEEPALIVE_TIMEOUT:  # paho's own deadline while connecting
                why = f"no CONNACK within {self.config.keepalive_s} s (keepalive)"
            else:
                why = f"connection closed before CONNACK ({reason})"
            if not self._settled:
                self._try_other_protocol(client, why)
                return
            hint = "; the broker may not speak MQTT 5" if self.protocol == "5" else ""
            self._failed(why + hint)
        except Exception:
            log.exception("error in MQTT on_disconnect")

    def _on_connect_fail(self, client: mqtt.Client, _userdata: Any) -> None:
        try:
            with self._lock:
                self._socket_opened_at = None
            # paho calls this inside its `except OSError:` block: the exception is current.
            exc = sys.exc_info()[1]
            cfg = self.config
            self._failed(
                describe_connect_error(
                    exc, cfg.host, cfg.effective_port, cfg.connect_timeout_s, tls=cfg.tls
                )
            )
        except Exception:
            log.exception("error in MQTT on_connect_fail")

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        _props: Properties | None,
    ) -> None:
        try:
            topics = self._pending_subscriptions.pop(mid, [])
            for topic, reason in zip(topics, reasons, strict=False):
                # MQTT 3.1.1 SUBACK 0x80 arrives as a failing reason code as well.
                if reason.is_failure:
                    self._deny(f"read {topic}", str(reason))
        except Exception:
            log.exception("error in MQTT on_subscribe")

    def _acknowledged(self, mid: int, reason: ReasonCode) -> None:
        """A PUBACK: a failing reason code (MQTT 5) is a denial, counted and reported."""
        with self._lock:
            sent = self._unacked.pop(mid, None)
            if sent is not None and not reason.is_failure:
                self._largest_acked = max(self._largest_acked, sent[1])
        if reason.is_failure and sent is not None:
            self._deny(f"write {sent[0]}", str(reason))

    def _deny(self, what: str, reason: str) -> None:
        self.denied += 1
        if self.denials.get(what) == reason:
            return
        self.denials[what] = reason
        log.warning("MQTT broker denies %s: %s (check the broker's ACL)", what, reason)
        self._note_error(f"broker denies {what}: {reason}")
        # When the queue is full, STATUS= is refreshed with the next heartbeat anyway.
        with contextlib.suppress(queue.Full):
            self.inbox.put_nowait(LinkTrouble(f"denied {what}"))

    def _forget_oversize(self, reason: ReasonCode, *, from_broker: bool, cut: bool) -> str | None:
        """After a broker dropped us for a packet's size: learn the size, drop the packet.

        paho would resend it after reconnecting and lose the connection again, forever.
        Returns the cause, for the log line of the lost connection.
        """
        if cut or self._stopping.is_set():
            return None
        too_large = from_broker and reason.value == PACKET_TOO_LARGE
        unexplained = self.protocol == "3.1.1" and not from_broker
        if not (too_large or unexplained):
            return None
        with self._lock:
            if not self._unacked:
                return None
            mid, (topic, size, handed) = max(self._unacked.items(), key=lambda e: e[1][1])
            recent = self.clock.monotonic() - handed < LEARN_WINDOW_S
            if not too_large and (size <= max(LEARN_FLOOR, self._largest_acked) or not recent):
                return None
            del self._unacked[mid]
            # 0x95 says only "smaller than this"; so does a 3.1.1 close. What the broker
            # took is certain: nothing bigger than that is sent again (no second loss).
            # Reports up to LEARN_FLOOR always go (a broker taking less is not usable).
            limit = min(max(self._largest_acked, LEARN_FLOOR), size - 1)
        self._learned_max_packet = min(limit, self._learned_max_packet or limit)
        out = getattr(self.client, "_out_messages", None)  # paho's resend queue
        lock = getattr(self.client, "_out_message_mutex", None)
        if out is not None and lock is not None:
            with lock:
                out.pop(mid, None)
        self.too_large += 1
        cause = (
            f"broker dropped the connection for a {size}-byte packet on {topic}: "
            f"dropped it; packets above {self.max_packet_size} bytes are not sent from now on"
        )
        self.inbox.put(Delivered(mid))  # the outbox lets it go (it cannot ever be sent)
        return cause

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        _reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if self.command_probe.acknowledged(mid, not _reason.is_failure, str(_reason)):
            return  # the probe's own PUBACK: not a report, and its refusal no denial
        self._acknowledged(mid, _reason)  # connection side: reason codes (never raises)
        try:
            self.inbox.put_nowait(Delivered(mid))  # the core's queue is unbounded: never blocks
        except Exception:
            log.exception("error in MQTT on_publish")

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Hand the message to the core; it is acknowledged (`ack`) once handled there.

        Never blocks and never drops a QoS 1 message: the broker's in-flight limit bounds
        how many can be waiting here (RECEIVE_MAXIMUM).
        """
        if msg.qos > 0:
            self._acks.arrived(msg.mid, msg.qos)  # before the core can handle it
        try:
            if self.command_probe.is_probe(msg.topic, msg.payload):
                if msg.qos > 0:
                    self._acks.handled(msg.mid)  # the link's own: never a command
                return
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
                self._acks.handled(msg.mid)  # else it would hold an in-flight slot for ever

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
        self._acks.handled(message.mid)  # sent once those that arrived before it are

    def _send_ack(self, mid: int, qos: int) -> None:
        rc = self.client.ack(mid, qos)
        if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("could not acknowledge message %d: %s", mid, rc)

    # --- use from the core --------------------------------------------------------------

    def health(self, tz: tzinfo, outbox: Outbox | None) -> MqttHealth:
        since = self.connected_since
        return MqttHealth(
            connected_since=since.astimezone(tz) if since else None,
            reconnects=self.reconnects,
            outbox=len(outbox) if outbox is not None else 0,
            outbox_dropped=outbox.dropped if outbox is not None else 0,
            protocol=self.protocol,
            last_error=self.last_error,
            last_error_at=self.last_error_at.astimezone(tz) if self.last_error_at else None,
            denied=self.denied,
            too_large=self.too_large,
            dropped_inbound=self.dropped_inbound,
        )

    def problems(self) -> str | None:
        """A short line for systemd's STATUS=: denials, or why the link is down."""
        parts = []
        if self.denials:
            parts.append("broker denies " + ", ".join(sorted(self.denials)))
        if not self.connected and self.last_error:
            parts.append(f"last error: {self.last_error}")
        return "; ".join(parts) or None

    @property
    def connected(self) -> bool:
        return self.connected_since is not None

    @property
    def max_packet_size(self) -> int | None:
        """The largest packet the broker takes, as far as known: its CONNACK, the config,
        or what a refusal taught (for the outbox: drop what can never be sent)."""
        known = [
            size
            for size in (
                self.limits.max_packet_size,
                self.config.max_packet_size,
                self._learned_max_packet,
            )
            if size is not None
        ]
        return min(known) if known else None

    def packet_size(self, topic: str, payload: bytes) -> int:
        return publish_packet_size(topic, payload, self.protocol)

    def fits(self, topic: str, payload: bytes) -> bool:
        """Whether the broker can take this message (always true when no limit is known)."""
        limit = self.max_packet_size
        return limit is None or self.packet_size(topic, payload) <= limit

    def publish(self, topic: str, payload: bytes | str) -> int | None:
        """Hand a message to the client with its topic's QoS and retain flag (the topic
        table); its id, or None when the client refused it.

        Without a connection the client still keeps a QoS 1 message and sends it after
        reconnecting (it is then handed over all the same); only a full queue refuses.
        A message the broker cannot take (bigger than its maximum packet size) is not
        sent: it is counted (`too_large`), logged once per topic, and reported delivered
        under a negative id so that the outbox lets it go instead of retrying forever.
        """
        data = payload.encode() if isinstance(payload, str) else payload
        size = self.packet_size(topic, data)
        limit = self.max_packet_size
        if limit is not None and size > limit:
            return self._drop_oversize(topic, size, limit)
        qos, retain = self._flags(topic)
        info = self.client.publish(topic, data, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning(
                "MQTT client refused a message for %s: %s", topic, mqtt.error_string(info.rc)
            )
            return None
        self._track(info.mid, topic, data, size)
        return info.mid

    def _track(self, mid: int, topic: str, data: bytes, size: int | None = None) -> None:
        """Remember what a message id was, for its PUBACK's reason code."""
        if self._flags(topic)[0] == 0:  # no PUBACK will come
            return
        size = size if size is not None else self.packet_size(topic, data)
        with self._lock:
            self._unacked[mid] = (topic, size, self.clock.monotonic())

    def _drop_oversize(self, topic: str, size: int, limit: int) -> int:
        self.too_large += 1
        cause = f"a {size}-byte message for {topic} exceeds the broker's {limit}-byte limit"
        self._note_error(cause)
        if topic not in self._oversize_logged:
            self._oversize_logged.add(topic)
            log.error("MQTT not sent: %s (dropped)", cause)
        self._synthetic_mid -= 1
        mid = self._synthetic_mid
        try:
            self.inbox.put_nowait(Delivered(mid))
        except queue.Full:  # the core is the reader: never block it on its own queue
            threading.Thread(target=self.inbox.put, args=(Delivered(mid),), daemon=True).start()
        return mid

    def stop(self, timeout: float = 1.5) -> None:
        """Clean stop: publish `offline` (the Will is not sent on a clean disconnect)."""
        self._stopping.set()
        if self.connected:
            offline = Status(state="offline", since=self.clock.now(), reason="shutdown")
            info = self.client.publish(
                self.topics.status,
                offline.model_dump_json(exclude_none=True),
                *self._flags(self.topics.status),
            )
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("offline status not confirmed: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()
        if self._supervisor is not None:
            self._supervisor.join(timeout=1)
