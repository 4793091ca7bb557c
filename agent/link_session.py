"""The MQTT session: connect, subscribe on every connect (what to, and the changes to
it after an assignment: agent/link_subscriptions.py), presence, jittered reconnect.

The connection side says why it fails: every failed attempt has its cause (refused and
why, closed before CONNACK, no CONNACK in time, TLS and what about it, TCP), which
agent/link_attempts.py logs once, counts in `reconnects`, keeps as `last_error` for the
next heartbeat and follows with a jittered retry. The broker's announced limits are
respected; a packet it refuses for its size costs the connection at most once (its size
is then known). The session callbacks run on paho's thread: they stay small and never
raise (a raising callback would kill that thread).
"""

from __future__ import annotations

import logging
import queue
import socket
import sys
import threading
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent import __version__
from agent.clock import Clock
from agent.config import MqttConfig
from agent.link_acks import BrokerAcks
from agent.link_attempts import Attempts
from agent.link_health import LinkHealth
from agent.link_inbound import RECEIVE_MAXIMUM, InboundFlow
from agent.link_messages import LinkDown, LinkUp
from agent.link_subscriptions import Subscriptions
from agent.link_supervisor import LinkSupervisor
from agent.messages import Status
from agent.mqtt_client import first_protocol, switch_protocol
from agent.mqtt_wire import (
    QOS_NOT_SUPPORTED,
    RETAIN_NOT_SUPPORTED,
    UNSUPPORTED_PROTOCOL,
    ProtocolName,
    ServerLimits,
    describe_connect_error,
    describe_tls_alert,
    publish_packet_size,
)
from agent.topics import Topics

# The link's lines keep the one logger name operators and tests filter on.
log = logging.getLogger("agent.link")

SESSION_EXPIRY_S = 3600  # commands sent during a short outage still arrive
KEEPALIVE_TIMEOUT = 0x8D  # paho's reason code when it gives up waiting for the broker


class MqttSession:
    """One broker session across connections: what this broker speaks and allows (the
    protocol version, its limits, the QoS and retain it supports), and the attempts."""

    def __init__(
        self,
        config: MqttConfig,
        board_id: str,
        topics: Topics,
        inbox: queue.Queue[Any],
        clock: Clock,
        *,
        client: mqtt.Client,
        subscribe_alerts: bool,
        subscribe_keyring: bool = False,
        health: LinkHealth,
        acks: BrokerAcks,
        inbound: InboundFlow,
    ) -> None:
        self._config = config
        self._topics = topics
        self._inbox = inbox
        self._clock = clock
        self._client = client
        # What this connection subscribed: set on connect, changed after an assignment.
        self._subscriptions = Subscriptions(
            topics, acks, alerts=subscribe_alerts, keyring=subscribe_keyring
        )
        self._health = health
        self._acks = acks
        self._inbound = inbound
        self.connected_since: datetime | None = None
        self._ever_connected = False
        self._stopping = threading.Event()
        self._attempts = Attempts(config, board_id, client, health, self._stopping)
        self.protocol: ProtocolName = first_protocol(config)
        self.fell_back = False  # auto mode settled on 3.1.1 for this session
        # `auto` tries both versions in turn until a broker answers; the version of its
        # first CONNACK holds for the session (a frozen broker must not change it later).
        self._settled = config.protocol != "auto"
        self._refused_5 = False  # the broker said so: no more MQTT 5 attempts
        self.limits = ServerLimits(self.protocol)
        # What the broker allows: the topic table's QoS and retain flags are capped to it.
        self._qos = 1
        self._retain = True
        self._retain_reported = False
        self.supervisor = LinkSupervisor(
            client,
            config,
            clock,
            self._stopping,
            lambda: self.connected_since is not None,
            while_connected=acks.judge_probe,
        )
        self._set_will(client)

    # --- set-up -------------------------------------------------------------------------

    def _set_will(self, client: mqtt.Client) -> None:
        will = Status(state="offline", reason="connection-lost")
        qos, retain = self.flags(self._topics.status)
        client.will_set(self._topics.status, will.model_dump_json(exclude_none=True), qos, retain)

    def flags(self, topic: str) -> tuple[int, bool]:
        """QoS and retain flag of an outbound topic: its row of the topic table, within
        what the broker supports."""
        row = self._topics.outbound(topic)
        if row is None:  # not a topic of the table: a programming error, said loudly
            raise ValueError(f"{topic} is not an outbound topic of the topic table")
        return min(row.qos, self._qos), row.retain and self._retain

    @property
    def max_packet_size(self) -> int | None:
        """The largest packet the broker takes, as far as known: its CONNACK, the config,
        or what a refusal taught (for the outbox: drop what can never be sent)."""
        known = [
            size
            for size in (
                self.limits.max_packet_size,
                self._config.max_packet_size,
                self._acks.learned_max_packet,
            )
            if size is not None
        ]
        return min(known) if known else None

    def start(self) -> None:
        props: Properties | None = None
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            props.ReceiveMaximum = RECEIVE_MAXIMUM  # back-pressure: see link_inbound
        self._client.connect_async(
            self._config.host,
            self._config.effective_port,
            keepalive=self._config.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()
        self.supervisor.start()

    def stop(self, timeout: float) -> None:
        """Clean stop: publish `offline` (the Will is not sent on a clean disconnect)."""
        self._stopping.set()
        if self.connected_since is not None:
            offline = Status(state="offline", since=self._clock.now(), reason="shutdown")
            info = self._client.publish(
                self._topics.status,
                offline.model_dump_json(exclude_none=True),
                *self.flags(self._topics.status),
            )
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("offline status not confirmed: %s", exc)
        self._client.disconnect()
        self._client.loop_stop()
        self.supervisor.join()

    # --- callbacks (paho's thread: keep them tiny and never let them raise) --------------

    def on_socket_open(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        self.supervisor.socket_opened()
        # Small MQTT packets and Nagle's algorithm meet the peer's delayed ACK: without
        # this an event waits ~40 ms per hop. An alert must not.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            log.debug("could not set TCP_NODELAY on the MQTT socket")

    def on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        try:
            self.supervisor.answered()
            if reason.is_failure:
                self._refused(client, reason)
                return
            self._settle()
            self._inbound.connected()  # before any message of this connection can arrive
            self._apply_limits(ServerLimits.from_connack(self.protocol, props))
            # A broker may impose its own keepalive (MQTT 5 Server Keep Alive); paho obeys.
            server_keepalive = getattr(props, "ServerKeepAlive", None) if props else None
            self.supervisor.keepalive = server_keepalive or self._config.keepalive_s
            if self._ever_connected:
                self._health.reconnects += 1
            self._ever_connected = True
            self._attempts.connected()
            self._subscriptions.on_connect(client)
            since = self._clock.now()
            self.connected_since = since
            self.supervisor.session_up()  # its silence deadline runs from now
            self._announce_online(client, since)
            qos = min(1, self._qos)
            self._acks.send_probe(client, qos=qos, verifiable=self.protocol == "5" and qos == 1)
            log.info(
                "MQTT %s session with %s:%d%s; broker limits: %s",
                self.protocol,
                self._config.host,
                self._config.effective_port,
                " (fell back from MQTT 5)" if self.fell_back else "",
                self.limits.describe(),
            )
            self._inbox.put(LinkUp(since))
        except Exception:  # a raising callback would kill paho's thread
            log.exception("error in MQTT on_connect")

    def resubscribe(self) -> tuple[list[str], list[str]]:
        """The board's topics changed (a remote assignment, CONTRACT §8): changed on the
        live connection (agent/link_subscriptions.py). Returns (subscribed, unsubscribed)."""
        return self._subscriptions.change(self._client)

    def _announce_online(self, client: mqtt.Client, since: datetime) -> None:
        status = self._topics.status
        online = Status(state="online", since=since, agent_version=__version__)
        body = online.model_dump_json(exclude_none=True).encode()
        qos, retain = self.flags(status)
        info = client.publish(status, body, qos, retain)
        self._acks.track(info.mid, status, publish_packet_size(status, body, self.protocol), qos)

    def _refused(self, client: mqtt.Client, reason: ReasonCode) -> None:
        code = reason.value
        if code == UNSUPPORTED_PROTOCOL and not self._settled and self.protocol == "5":
            self._refused_5 = True
            self._try_other_protocol(client, f"broker refused MQTT 5 ({reason})")
            return
        if code == RETAIN_NOT_SUPPORTED and self._retain:
            self._retain = False
            self._set_will(client)
            self._attempts.failed(
                f"broker refused the connection: {reason}; retrying without retain"
            )
            return
        if code == QOS_NOT_SUPPORTED and self._qos > 0:
            self._qos = 0
            self._set_will(client)
            self._attempts.failed(f"broker refused the connection: {reason}; retrying with QoS 0")
            return
        self._attempts.failed(f"broker refused the connection: {reason}")

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
        self._attempts.failed(f"{why}; trying MQTT {other} next")

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
            self._health.note_error("broker does not support retained messages")
        if limits.maximum_qos == 0 and self._qos > 0:
            self._qos = 0
            log.error("the broker allows only QoS 0: reports are sent at most once")
            self._health.note_error("broker allows only QoS 0")

    def on_disconnect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        try:
            opened, cut = self.supervisor.closed()
            was_connected = self.connected_since is not None
            self.connected_since = None
            self._subscriptions.dropped()  # the next connect subscribes the set in force then
            if self._stopping.is_set():
                log.info("MQTT disconnected (clean stop)")
                return
            from_broker = flags.is_disconnect_packet_from_server
            oversize = None if cut is not None else self._forget_oversize(reason, from_broker)
            if was_connected:
                cause = cut or oversize or f"connection lost: {reason}"
                log.warning("MQTT %s", cause)
                self._health.note_error(cause)
                self._inbox.put(LinkDown(str(reason)))
                self._attempts.schedule_retry()
                return
            if opened is None and cut is None:
                return  # after a refusal, already reported and retried
            refusal = describe_tls_alert(self.supervisor.read_error() or "")
            if refusal is not None and cut is None:
                self._attempts.failed(refusal)  # the board's certificate, not the protocol version
                return
            if cut is not None:
                why = cut
            elif reason.value == KEEPALIVE_TIMEOUT:  # paho's own deadline while connecting
                why = f"no CONNACK within {self._config.keepalive_s} s (keepalive)"
            else:
                why = f"connection closed before CONNACK ({reason})"
            if not self._settled:
                self._try_other_protocol(client, why)
                return
            hint = "; the broker may not speak MQTT 5" if self.protocol == "5" else ""
            self._attempts.failed(why + hint)
        except Exception:
            log.exception("error in MQTT on_disconnect")

    def on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        try:
            self.supervisor.attempt_failed()
            # paho calls this inside its `except OSError:` block: the exception is current.
            exc = sys.exc_info()[1]
            cfg = self._config
            self._attempts.failed(
                describe_connect_error(
                    exc, cfg.host, cfg.effective_port, cfg.connect_timeout_s, tls=cfg.tls
                )
            )
        except Exception:
            log.exception("error in MQTT on_connect_fail")

    def _forget_oversize(self, reason: ReasonCode, from_broker: bool) -> str | None:
        """The cause, for the log line of the lost connection, when a packet's size was."""
        if self._stopping.is_set():
            return None
        protocol = self.protocol
        culprit = self._acks.forget_oversize(reason, from_broker=from_broker, protocol=protocol)
        if culprit is None:
            return None
        return (
            f"broker dropped the connection for a {culprit.size}-byte packet on "
            f"{culprit.topic}: dropped it; packets above {self.max_packet_size} bytes are "
            "not sent from now on"
        )
