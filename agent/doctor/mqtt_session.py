"""The MQTT session doctor opens as the board does: log in (MQTT 5, 3.1.1, or both side
by side for `auto`), subscribe, publish and wait for each answer with a deadline."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.config import MqttConfig
from agent.mqtt_wire import READ_FAILED, ProtocolName


@dataclass
class Reply:
    """What the broker answered to a CONNECT: a CONNACK, a close before it, or nothing."""

    kind: str  # "connack", "closed", "timeout", "error"
    reason: Any = None
    props: Any = None
    read_error: str | None = None  # paho's failed read before the close (a TLS alert…)


class Session:
    """An MQTT session as the board opens one: log in, subscribe to its topics, then prove
    its permissions with real round trips on its own topics."""

    def __init__(
        self, cfg: MqttConfig, client_id: str, timeout: float, protocol: ProtocolName
    ) -> None:
        from agent.mqtt_client import new_client

        self.cfg = cfg
        self.timeout = timeout
        self.protocol = protocol
        self.user = cfg.username or "anonymous"
        self._lock = threading.Condition()
        self._replies: dict[str, Any] = {}
        self.received: list[tuple[str, bytes]] = []
        self.client = new_client(cfg, client_id, protocol)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_ack("suback")
        self.client.on_publish = self._on_ack("puback")
        self.client.on_message = self._on_message
        self.client.on_log = self._on_log
        self.client.connect_timeout = timeout
        self._read_error: str | None = None
        self._started = False

    def _put(self, key: str, value: Any) -> None:
        with self._lock:
            self._replies.setdefault(key, value)
            self._lock.notify_all()

    def _on_connect(self, *args: Any) -> None:
        self._put("connect", Reply("connack", args[3], args[4]))

    def _on_disconnect(self, *args: Any) -> None:
        with self._lock:
            read_error = self._read_error
        self._put("connect", Reply("closed", args[3], read_error=read_error))

    def _on_log(self, _client: Any, _userdata: Any, _level: int, message: str) -> None:
        # Under TLS 1.3 the broker's verdict on the board's certificate comes after the
        # handshake; paho says it only in this log line (as the link reads it too).
        if message.startswith(READ_FAILED):
            with self._lock:
                self._read_error = message.removeprefix(READ_FAILED)

    def _on_ack(self, kind: str) -> Callable[..., None]:
        # paho's VERSION2 callbacks: (client, userdata, mid, reason code(s), properties).
        def record(*args: Any) -> None:
            self._put(f"{kind}:{args[2]}", args[3])

        return record

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        with self._lock:
            self.received.append((msg.topic, bytes(msg.payload)))
            self._lock.notify_all()

    def wait(self, key: str, timeout: float | None = None) -> Any:
        with self._lock:
            self._lock.wait_for(lambda: key in self._replies, timeout or self.timeout)
            return self._replies.get(key)

    def connect(self) -> Reply:
        try:
            self.client.connect(self.cfg.host, self.cfg.effective_port, keepalive=15)
        except (OSError, ssl.SSLError) as exc:
            return Reply("error", exc)
        self.client.loop_start()
        self._started = True
        reply = self.wait("connect")
        return reply if reply is not None else Reply("timeout")

    def subscribe(self, topics: list[str]) -> list[Any] | None:
        _rc, mid = self.client.subscribe([(topic, 1) for topic in topics])
        found = self.wait(f"suback:{mid}")
        return list(found) if found is not None else None

    def publish(self, topic: str, payload: bytes) -> Any:
        """The PUBACK's reason code (or None without an answer)."""
        info = self.client.publish(topic, payload, qos=1)
        return self.wait(f"puback:{info.mid}")

    def delivered(self, topic: str, payload: bytes, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: (topic, payload) in self.received, timeout)

    def close(self) -> None:
        if self._started:
            self.client.disconnect()
            self.client.loop_stop()


def open_session(cfg: MqttConfig, client_id: str, timeout: float) -> tuple[Session, Reply, str]:
    """Log in as the board does. `auto` tries MQTT 5 and 3.1.1 side by side (one deadline
    for both) and keeps MQTT 5 when the broker speaks it. Returns the session kept, its
    reply, and a note on the versions."""
    from concurrent.futures import ThreadPoolExecutor

    if cfg.protocol != "auto":
        protocol: ProtocolName = "3.1.1" if cfg.protocol == "3.1.1" else "5"
        session = Session(cfg, client_id, timeout, protocol)
        return session, session.connect(), f"MQTT {protocol}, as configured"
    sessions = {p: Session(cfg, f"{client_id}-{p}", timeout, p) for p in ("5", "3.1.1")}
    with ThreadPoolExecutor(2) as pool:
        answers = pool.map(lambda session: session.connect(), sessions.values())
        replies = dict(zip(sessions, answers, strict=True))

    def accepted(p: ProtocolName) -> bool:
        reply = replies[p]
        return reply.kind == "connack" and not reply.reason.is_failure

    if accepted("5") or not accepted("3.1.1"):
        sessions["3.1.1"].close()
        return sessions["5"], replies["5"], "MQTT 5"
    sessions["5"].close()
    five = replies["5"]
    why = (
        str(five.reason)
        if five.kind == "connack"
        else ("it closed the connection" if five.kind == "closed" else "it did not answer")
    )
    return (
        sessions["3.1.1"],
        replies["3.1.1"],
        f"MQTT 3.1.1: the broker does not speak MQTT 5 ({why}); the board falls back too",
    )
