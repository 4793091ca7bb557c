"""The MQTT link: the core's handle on the broker, and the parts it is made of.

paho's network thread only moves bytes: inbound messages and connection changes are put
on the core's queue (`link_messages`); validation and every state change happen in the
core (one owner). The parts, each owning its facts:

- `link_session`: connect, presence, protocol fallback, the broker's limits, why an
  attempt failed;
- `link_subscriptions`: the topics subscribed on every connect, and changed on the live
  connection after an assignment;
- `link_attempts`: a failed attempt counted, logged once, and retried after a jittered
  backoff;
- `link_supervisor`: a thread for the deadlines paho does not keep (CONNACK, a broker
  gone silent) and paho's proof of life for the watchdog;
- `link_inbound`: inbound messages to the core, acknowledged once handled, in order;
- `link_acks`: the broker's PUBACK/SUBACK reason codes (denials), and the size a broker
  dropped the connection for;
- `link_health`: the counters and last error for the heartbeat and STATUS=.

Here: building them and binding paho's callbacks to them, and what the core calls —
publish within the broker's limits and the topic table's flags, acknowledge what it has
handled, read the link's figures.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import tzinfo
from typing import Any

import paho.mqtt.client as mqtt

from agent.clock import Clock
from agent.command_probe import CommandReadProbe, Finding
from agent.config import MqttConfig
from agent.link_acks import BrokerAcks
from agent.link_health import LinkHealth
from agent.link_inbound import InboundFlow
from agent.link_messages import Delivered, Received
from agent.link_session import MqttSession
from agent.messages import MqttHealth
from agent.mqtt_client import first_protocol, new_client
from agent.mqtt_wire import ProtocolName, ServerLimits, publish_packet_size
from agent.outbox import Outbox
from agent.topics import Topics

log = logging.getLogger(__name__)

INFLIGHT_MAXIMUM = 20  # our QoS 1 messages paho has in flight at once (the outbox's window)


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
        subscribe_keyring: bool = False,
    ) -> None:
        self._inbox = inbox
        self.client = self._make_client(config, board_id)
        self._health = LinkHealth(clock)
        probe = CommandReadProbe(topics.command)
        self._inbound = InboundFlow(self.client, inbox, probe)
        self._acks = BrokerAcks(self.client, clock, inbox, self._health, probe)
        self._session = MqttSession(
            config,
            board_id,
            topics,
            inbox,
            clock,
            client=self.client,
            subscribe_alerts=subscribe_alerts,
            subscribe_keyring=subscribe_keyring,
            health=self._health,
            acks=self._acks,
            inbound=self._inbound,
        )
        self._bind(self.client)
        self._oversize_logged: set[str] = set()
        self._synthetic_mid = 0

    # --- set-up -------------------------------------------------------------------------

    @staticmethod
    def _make_client(cfg: MqttConfig, board_id: str) -> mqtt.Client:
        client = new_client(cfg, board_id, first_protocol(cfg), persistent=True)
        client.max_queued_messages_set(cfg.max_queued_messages)
        client.max_inflight_messages_set(INFLIGHT_MAXIMUM)
        client.manual_ack_set(True)  # acknowledged by `ack` once the core has handled it
        client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)  # type: ignore[arg-type]
        return client

    def _bind(self, client: mqtt.Client) -> None:
        """paho's callbacks, each to the part that owns what it reports."""
        session = self._session
        client.on_connect = session.on_connect
        client.on_disconnect = session.on_disconnect
        client.on_connect_fail = session.on_connect_fail
        client.on_socket_open = session.on_socket_open
        client.on_message = self._inbound.on_message
        client.on_publish = self._acks.on_publish
        client.on_subscribe = self._acks.on_subscribe
        client.on_log = session.supervisor.on_log

    def start(self) -> None:
        self._session.start()

    def resubscribe(self) -> tuple[list[str], list[str]]:
        """After the board's topics changed: (subscribed, unsubscribed) on the live link."""
        return self._session.resubscribe()

    def stop(self, timeout: float = 1.5) -> None:
        """Clean stop: publish `offline` (the Will is not sent on a clean disconnect)."""
        self._session.stop(timeout)

    # --- the link's figures --------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._session.connected_since is not None

    @property
    def protocol(self) -> ProtocolName:
        return self._session.protocol

    @property
    def fell_back(self) -> bool:
        """`auto` mode settled on MQTT 3.1.1 for this session."""
        return self._session.fell_back

    @property
    def limits(self) -> ServerLimits:
        return self._session.limits

    @property
    def reconnects(self) -> int:
        return self._health.reconnects

    @property
    def last_error(self) -> str | None:
        return self._health.last_error

    @property
    def denials(self) -> dict[str, str]:
        return self._health.denials

    @property
    def command_reads(self) -> Finding | None:
        """What the command probe found on the last connection that settled it."""
        return self._acks.probe.last_finding

    @property
    def dropped_inbound(self) -> int:
        return self._inbound.dropped

    def health(self, tz: tzinfo, outbox: Outbox | None) -> MqttHealth:
        return self._health.report(
            tz,
            outbox,
            connected_since=self._session.connected_since,
            protocol=self.protocol,
            dropped_inbound=self.dropped_inbound,
        )

    def problems(self) -> str | None:
        """A short line for systemd's STATUS=: denials, or why the link is down."""
        return self._health.problems(connected=self.connected)

    def making_progress(self, allowed_s: float) -> bool:
        """paho's network thread runs and has done something lately (for the watchdog)."""
        return self._session.supervisor.making_progress(allowed_s)

    # --- inbound ------------------------------------------------------------------------

    def ack(self, message: Received) -> None:
        """The core is through with `message`: the broker may forget it (and send the next)."""
        self._inbound.ack(message)

    # --- outbound -----------------------------------------------------------------------

    @property
    def max_packet_size(self) -> int | None:
        """The largest packet the broker takes, as far as known (see `MqttSession`)."""
        return self._session.max_packet_size

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
        qos, retain = self._session.flags(topic)
        info = self.client.publish(topic, data, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning(
                "MQTT client refused a message for %s: %s", topic, mqtt.error_string(info.rc)
            )
            return None
        self._acks.track(info.mid, topic, size, qos)
        return info.mid

    def _drop_oversize(self, topic: str, size: int, limit: int) -> int:
        self._health.too_large += 1
        cause = f"a {size}-byte message for {topic} exceeds the broker's {limit}-byte limit"
        self._health.note_error(cause)
        if topic not in self._oversize_logged:
            self._oversize_logged.add(topic)
            log.error("MQTT not sent: %s (dropped)", cause)
        self._synthetic_mid -= 1
        mid = self._synthetic_mid
        try:
            self._inbox.put_nowait(Delivered(mid))
        except queue.Full:  # the core is the reader: never block it on its own queue
            threading.Thread(target=self._inbox.put, args=(Delivered(mid),), daemon=True).start()
        return mid
