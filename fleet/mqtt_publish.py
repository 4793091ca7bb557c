"""The fleet's MQTT publisher: one MQTT 5 connection (paho-mqtt 2.x) that publishes at
QoS 1 and returns only when the broker's PUBACK says it took the message.

    session = MqttSession("broker.city", 1883)
    session.open()                      # CONNACK within the timeout, else BrokerUnreachable
    session.publish(topic, payload, retain=True)   # PUBACK 0x00, else PublishRefused
    session.close()

`signage-fleet publish` opens one for a single message; `MqttCommandSender` keeps one open
for the web page (`serve`): paho's network thread reconnects it after a loss, and any
thread may send a command through it.

MQTT 5, because only MQTT 5's PUBACK carries a reason code: a broker whose ACL denies the
topic answers 0x87 (not authorized), which we report, where MQTT 3.1.1 would take the
message silently and drop it.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.mqtt_wire import ServerLimits, describe_connect_error, publish_packet_size
from agent.topic_table import row_for
from fleet.commands import PublishFailed

if TYPE_CHECKING:
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final = 10.0
ACK_TIMEOUT_S: Final = 10.0
KEEPALIVE_S: Final = 30
# A retained message is delivered right after the SUBACK: on a city network within a
# round trip. No MQTT packet says "no retained message here", so its absence is decided
# by this window (see docs/fleet-publish.md, --bump).
RETAINED_WINDOW_S: Final = 1.5


class BrokerUnreachable(PublishFailed):
    """No connection: nothing listens, the name does not resolve, no CONNACK in time."""


class PublishRefused(PublishFailed):
    """The broker answered, and said no (CONNACK, SUBACK or PUBACK reason code)."""


class NoAcknowledgement(BrokerUnreachable):
    """Handed to paho, but no PUBACK/SUBACK in time: paho would send it again after a
    reconnect (it keeps unacknowledged QoS 1 messages), unless its client is dropped."""


class TooLarge(PublishFailed):
    """The message is bigger than the broker's announced maximum packet size."""


OnMessage = Callable[[str, bytes, bool], None]  # topic, payload, retained


class MqttSession:
    """One MQTT 5 connection. Thread-safe: `publish` may be called from any thread (paho's
    `publish` is; the acknowledgements are matched here by message id under a lock)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        client_id = client_id or f"signage-fleet-{uuid.uuid4().hex[:12]}"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self.client_id = client_id
        self._client.connect_timeout = connect_timeout
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._state = threading.Condition()
        self._connected = False
        self._refusal: str | None = None  # the last CONNACK's refusal, in words
        self.limits = ServerLimits("5")
        # mid → reason code of its PUBACK/SUBACK; an entry waits until its sender reads it.
        self._acks: dict[int, list[int]] = {}
        self._abandoned: set[int] = set()  # mids whose sender stopped waiting
        self._handlers: dict[str, OnMessage] = {}  # subscription filter → handler
        self._subscriptions: dict[str, int] = {}  # filter → QoS, again after a reconnect

    # --- paho's network thread ---------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._state:
            if reason.is_failure:
                self._refusal = f"{self.host}:{self.port} refused the connection: {reason}"
                self._connected = False
            else:
                self._refusal = None
                self._connected = True
                self.limits = ServerLimits.from_connack("5", properties)
                for topic, qos in self._subscriptions.items():
                    client.subscribe(topic, qos)
            self._state.notify_all()

    def _on_disconnect(self, *_args: Any) -> None:
        with self._state:
            self._connected = False
            self._state.notify_all()

    def _acknowledged(self, mid: int, codes: list[int]) -> None:
        with self._state:
            if mid in self._abandoned:
                self._abandoned.discard(mid)
                return
            self._acks[mid] = codes
            self._state.notify_all()

    def _on_publish(
        self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Properties
    ) -> None:
        self._acknowledged(mid, [reason.value])

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, mid: int, reasons: list[ReasonCode], _p: Properties
    ) -> None:
        self._acknowledged(mid, [reason.value for reason in reasons])

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        for pattern, handler in list(self._handlers.items()):
            if mqtt.topic_matches_sub(pattern, message.topic):
                handler(message.topic, bytes(message.payload), bool(message.retain))

    # --- the caller's side ---------------------------------------------------------------

    def open(self, *, wait: bool = True) -> None:
        """Connect. With `wait`, return once connected or raise (a one-shot publish);
        without, keep trying in the background (paho's thread reconnects with back-off)."""
        if not wait:
            self._client.connect_async(self.host, self.port, KEEPALIVE_S)
            self._client.loop_start()
            return
        try:
            self._client.connect(self.host, self.port, KEEPALIVE_S)
        except (OSError, ValueError) as exc:
            why = describe_connect_error(exc, self.host, self.port, self.connect_timeout)
            raise BrokerUnreachable(why) from None
        self._client.loop_start()
        if not self.wait_connected(self.connect_timeout):
            self.close()
            raise self._not_connected()

    def wait_connected(self, timeout: float) -> bool:
        with self._state:
            return (
                self._state.wait_for(lambda: self._connected or self._refusal is not None, timeout)
                and self._connected
            )

    def _not_connected(self) -> PublishFailed:
        if self._refusal is not None:
            return PublishRefused(self._refusal)
        return BrokerUnreachable(
            f"no MQTT connection to {self.host}:{self.port} within {self.connect_timeout:g} s"
        )

    def _await_ack(self, mid: int, timeout: float, what: str) -> list[int]:
        with self._state:
            if not self._state.wait_for(lambda: mid in self._acks, timeout):
                self._abandoned.add(mid)
                raise NoAcknowledgement(f"no acknowledgement of {what} within {timeout:g} s")
            return self._acks.pop(mid)

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool,
        qos: int = 1,
        timeout: float = ACK_TIMEOUT_S,
    ) -> None:
        """Publish and wait for the broker's PUBACK; raise TooLarge, PublishRefused (with
        the reason code in words) or BrokerUnreachable."""
        limit = self.limits.max_packet_size
        size = publish_packet_size(topic, payload, "5")
        if limit is not None and size > limit:
            raise TooLarge(f"{size} bytes on the wire; the broker takes at most {limit} per packet")
        if not self.wait_connected(timeout):
            raise self._not_connected()
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerUnreachable(f"cannot publish to {topic}: {mqtt.error_string(info.rc)}")
        if qos == 0:
            return
        (code,) = self._await_ack(info.mid, timeout, f"the message to {topic}")
        if code >= 0x80:
            raise PublishRefused(f"the broker refused the message to {topic}: {_words(code)}")

    def subscribe(
        self, topic: str, on_message: OnMessage, *, qos: int = 1, timeout: float = ACK_TIMEOUT_S
    ) -> None:
        """Subscribe (again after every reconnect) and wait for the SUBACK."""
        self._handlers[topic] = on_message
        self._subscriptions[topic] = qos
        result, mid = self._client.subscribe(topic, qos)
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise BrokerUnreachable(f"cannot subscribe to {topic}: {mqtt.error_string(result)}")
        (code,) = self._await_ack(mid, timeout, f"the subscription to {topic}")
        if code >= 0x80:
            raise PublishRefused(f"the broker refused the subscription to {topic}: {_words(code)}")

    def unsubscribe(self, topic: str) -> None:
        self._handlers.pop(topic, None)
        self._subscriptions.pop(topic, None)
        self._client.unsubscribe(topic)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _words(code: int) -> str:
    """`not authorized (0x87)`: paho's name of an MQTT 5 reason code, and its number."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    try:
        name = str(ReasonCode(PacketTypes.PUBACK, identifier=code)).lower()
    except Exception:  # an unknown code: its number says it
        name = "refused"
    return f"{name} (0x{code:02X})"


def read_retained(
    session: MqttSession, topic: str, *, sync_topic: str | None = None
) -> dict[str, bytes]:
    """The retained messages the broker holds under `topic` (a filter).

    No MQTT packet says "nothing retained here", so the end is marked: after the SUBACK we
    publish an empty message to `sync_topic` (ours alone, subscribed too) and stop when it
    comes back. The broker queues a subscription's retained messages before anything
    published after it, in order, for one client (Mosquitto does), so a retained message —
    even a large one on a slow link — arrives before the marker. Without a sync topic, or
    when the broker refuses it (an ACL), `RETAINED_WINDOW_S` after the SUBACK decides."""
    found: dict[str, bytes] = {}
    arrived, synced = threading.Event(), threading.Event()

    def keep(name: str, payload: bytes, retained: bool) -> None:
        if retained and payload:
            found[name] = payload
            arrived.set()

    session.subscribe(topic, keep)
    try:
        if sync_topic is not None and _marked(session, sync_topic, synced):
            synced.wait(ACK_TIMEOUT_S)
        elif "+" in topic or "#" in topic:
            threading.Event().wait(RETAINED_WINDOW_S)
        else:
            arrived.wait(RETAINED_WINDOW_S)
    finally:
        session.unsubscribe(topic)
    return dict(found)


def _marked(session: MqttSession, sync_topic: str, synced: threading.Event) -> bool:
    """Whether the end-of-retained marker went out (subscribed to and published)."""
    try:
        session.subscribe(sync_topic, lambda _t, _p, _r: synced.set())
        session.publish(sync_topic, b"", retain=False)
    except PublishRefused as exc:
        log.debug("no end-of-retained marker (%s): a %.1f s window instead", exc, RETAINED_WINDOW_S)
        session.unsubscribe(sync_topic)
        return False
    return True


class MqttCommandSender:
    """`fleet.commands.CommandSender` over one long-lived MQTT 5 connection (the web
    page's): opened in the background at construction, reconnected by paho after a
    loss; `send_command` may be called from any thread and returns once the broker took
    the command (PUBACK), else raises PublishFailed. A command sent while the link is
    down waits up to `timeout` for it, then fails: the page says so, and nothing is left
    queued to go out later (see `_replace_session`)."""

    def __init__(
        self,
        host: str,
        port: int,
        root: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = ACK_TIMEOUT_S,
    ) -> None:
        self.root = root
        self.timeout = timeout
        self._address = (host, port, username, password)
        self._lock = threading.Lock()  # guards which session is in use
        self._session = self._connect()
        self._session.open(wait=False)

    def _connect(self) -> MqttSession:
        host, port, username, password = self._address
        return MqttSession(host, port, username=username, password=password)

    def _replace_session(self, stale: MqttSession) -> None:
        """A new client in place of one that holds an unacknowledged command: paho would
        send that command again after reconnecting, minutes later, to a board whose
        operator was told it failed. Dropping the client drops it."""
        with self._lock:
            if self._session is not stale:
                return  # another thread replaced it already
            self._session = self._connect()
            self._session.open(wait=False)
        stale.close()

    def send_command(
        self, board_id: str, command_id: str, command: str, args: dict[str, Any]
    ) -> None:
        from agent.messages import Command
        from agent.validation import InvalidInput, decode

        message = {
            "type": "command",
            "id": command_id,
            "command": command,
            "args": args,
            "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        payload = json.dumps(message, ensure_ascii=False).encode("utf-8")
        try:
            decode(payload, Command)  # what the board would refuse is not sent
        except InvalidInput as exc:
            raise PublishFailed(f"not a valid command: {exc.errors[0]}") from None
        if not _is_slug(board_id):
            raise PublishFailed(f"'{board_id[:80]}' is not a board id")
        row = row_for("command")
        topic = row.template.format(root=self.root, board=board_id)
        with self._lock:
            session = self._session
        try:
            session.publish(topic, payload, retain=row.retain, qos=row.qos, timeout=self.timeout)
        except NoAcknowledgement:
            self._replace_session(session)
            raise

    def close(self) -> None:
        with self._lock:
            session = self._session
        session.close()


def _is_slug(value: str) -> bool:
    import re

    from agent.messages.base import SLUG_PATTERN

    return len(value) <= 64 and re.fullmatch(SLUG_PATTERN, value) is not None
