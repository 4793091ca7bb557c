"""Can this board reach its broker? Name, TCP, TLS, log-in and subscriptions, timed.

Each stage stops the checks after it when it fails: a broker that cannot be reached
cannot refuse a password, and saying so would only confuse.
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.config import AgentConfig, MqttConfig
from agent.doctor.check import Check, ms, timed
from agent.mqtt_wire import ProtocolName, ServerLimits
from agent.topics import Topics

ACL_EXAMPLE = "/opt/signage-agent/examples/mosquitto/signage.acl"
# A probe the broker accepted comes back within milliseconds on a LAN and well within a
# second or two on mobile data; waiting the whole connect deadline only slows doctor.
ECHO_WAIT_S = 3.0


def check_broker(config: AgentConfig, timeout: float | None = None) -> list[Check]:
    """`timeout`: the connect deadline; by default the board's own (connect_timeout_s)."""
    if config.mqtt is None:
        return [Check.skipped("no [mqtt] section: this board takes content from its inbox only")]
    probe = BrokerProbe(config, timeout or config.mqtt.connect_timeout_s)
    checks: list[Check] = []
    for stage in (probe.resolve, probe.connect_tcp, probe.handshake_tls, probe.log_in):
        found = stage()
        checks.extend(found)
        if not all(check.ok for check in found):
            break
    return checks


@dataclass
class BrokerProbe:
    config: AgentConfig
    timeout: float
    address: str = field(init=False)

    def __post_init__(self) -> None:
        self.address = f"{self.mqtt.host}:{self.mqtt.effective_port}"

    @property
    def mqtt(self) -> MqttConfig:
        assert self.config.mqtt is not None
        return self.config.mqtt

    def resolve(self) -> list[Check]:
        host, port = self.mqtt.host, self.mqtt.effective_port
        try:
            found, took = timed(lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            return [
                Check.failed(
                    f"broker name {host} does not resolve: {exc.strerror or exc}",
                    "check [mqtt] host for typos, then the board's network: "
                    "ping -c 3 1.1.1.1 (internet) and resolvectl status or /etc/resolv.conf "
                    "(DNS); on mobile data, the SIM's APN",
                )
            ]
        first = found[0][4][0]
        return [Check.passed(f"broker name {host} resolves to {first} ({ms(took)})")]

    def _open(self) -> socket.socket:
        return socket.create_connection(
            (self.mqtt.host, self.mqtt.effective_port), timeout=self.timeout
        )

    def connect_tcp(self) -> list[Check]:
        try:
            sock, took = timed(self._open)
        except ConnectionRefusedError:
            return [
                Check.failed(
                    f"broker {self.address} refuses TCP connections: nothing listens there",
                    "check [mqtt] port (8883 with TLS, 1883 without) and that the broker runs",
                )
            ]
        except TimeoutError:
            return [
                Check.failed(
                    f"broker {self.address} does not answer within {self.timeout:g} s",
                    f"a firewall or the mobile network drops port {self.mqtt.effective_port}: "
                    "ask the network team to open it; check [mqtt] host and port",
                )
            ]
        except OSError as exc:
            return [
                Check.failed(
                    f"broker {self.address} unreachable: {exc.strerror or exc}",
                    "check the board's network (ip route; ping -c 3 1.1.1.1) and [mqtt] host",
                )
            ]
        sock.close()
        return [Check.passed(f"TCP connection to {self.address} ({ms(took)})")]

    def handshake_tls(self) -> list[Check]:
        if not self.mqtt.tls:
            plain = "the password and content cross" if self.mqtt.username else "content crosses"
            return [Check.skipped(f"TLS off ([mqtt] tls = false): {plain} the network in clear")]
        try:
            context = tls_context(self.mqtt)
        except (OSError, ssl.SSLError) as exc:
            return [
                Check.failed(
                    f"TLS files cannot be used: {exc}",
                    "ca_file must be the city's CA certificate (PEM); cert_file and key_file "
                    "the board's own certificate and its key",
                )
            ]
        try:
            summary, took = timed(lambda: self._shake(context))
        except ssl.SSLCertVerificationError as exc:
            return [Check.failed(f"TLS: {exc.verify_message}", _certificate_fix(exc))]
        except (OSError, ssl.SSLError) as exc:
            return [Check.failed(f"TLS handshake with {self.address} failed: {exc}", _tls_fix(exc))]
        return [Check.passed(f"TLS: {summary} ({ms(took)})")]

    def _shake(self, context: ssl.SSLContext) -> str:
        with (
            self._open() as raw,
            context.wrap_socket(raw, server_hostname=self.mqtt.host) as tls,
        ):
            return describe_certificate(tls.getpeercert(), tls.version())

    def log_in(self) -> list[Check]:
        session = BrokerSession(self.config, self.timeout)
        try:
            return session.checks()
        finally:
            session.close()


def tls_context(cfg: MqttConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    if cfg.cert_file is not None and cfg.key_file is not None:
        context.load_cert_chain(str(cfg.cert_file), str(cfg.key_file))
    return context


def describe_certificate(cert: dict[str, Any] | None, version: str | None) -> str:
    if not cert:
        return f"{version}, no certificate details"
    subject = dict(pair[0] for pair in cert.get("subject", ()))
    until = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    days = (until - datetime.now(UTC)).days
    soon = "; renew it soon" if days < 30 else ""
    return (
        f"{version}, certificate of {subject.get('commonName', '?')} verified, "
        f"valid until {until:%Y-%m-%d} ({days} day{'' if days == 1 else 's'}{soon})"
    )


def _certificate_fix(exc: ssl.SSLCertVerificationError) -> str:
    message = exc.verify_message or ""
    if "expired" in message or "not yet valid" in message:
        return (
            "check the board's clock (the clock line below); if it is right, the broker's "
            "certificate must be renewed"
        )
    if "Hostname mismatch" in message or "IP address mismatch" in message:
        return "use the broker name written in its certificate as [mqtt] host"
    return (
        "[mqtt] ca_file must hold the CA that signed the broker's certificate "
        "(the city's ca.pem from the work order)"
    )


def _tls_fix(exc: Exception) -> str:
    # A plain MQTT broker answers a TLS hello with garbage (OpenSSL: wrong version number)
    # or, like Mosquitto, by closing the connection.
    plain_signs = ("WRONG_VERSION_NUMBER", "record layer", "packet length", "EOF occurred")
    if isinstance(exc, ConnectionResetError) or any(s in str(exc) for s in plain_signs):
        return "this port speaks plain MQTT, not TLS: use the TLS port (8883), or tls = false"
    return "check [mqtt] port and that the broker has TLS on that port"


@dataclass
class Reply:
    """What the broker answered to a CONNECT: a CONNACK, a close before it, or nothing."""

    kind: str  # "connack", "closed", "timeout", "error"
    reason: Any = None
    props: Any = None


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
        self.client.connect_timeout = timeout
        self._started = False

    def _put(self, key: str, value: Any) -> None:
        with self._lock:
            self._replies.setdefault(key, value)
            self._lock.notify_all()

    def _on_connect(self, *args: Any) -> None:
        self._put("connect", Reply("connack", args[3], args[4]))

    def _on_disconnect(self, *args: Any) -> None:
        self._put("connect", Reply("closed", args[3]))

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


class BrokerSession:
    """The doctor's MQTT checks, in order: log-in, limits, subscriptions, round trips."""

    def __init__(self, config: AgentConfig, timeout: float) -> None:
        assert config.mqtt is not None
        self.cfg = config.mqtt
        self.config = config
        self.timeout = timeout
        board = config.board
        self.topics = Topics(self.cfg.topic_root, board.district, board.commune, board.id)
        self.client_id = f"{board.id}-doctor"
        self.session: Session | None = None

    @property
    def user(self) -> str:
        return self.cfg.username or "anonymous"

    def checks(self) -> list[Check]:
        try:
            (session, reply, versions), took = timed(
                lambda: open_session(self.cfg, self.client_id, self.timeout)
            )
        except (OSError, ssl.SSLError) as exc:
            return [Check.failed(f"MQTT connection failed: {exc}", "run doctor again")]
        self.session = session
        login = self._log_in(reply, versions, took)
        if not login.ok:
            return [login]
        limits = ServerLimits.from_connack(session.protocol, reply.props)
        found = [login, *self._limits(limits)]
        subscribed = self._subscribe(session)
        found.append(subscribed)
        if subscribed.ok:
            found.extend(self._round_trips(session))
        return found

    def _log_in(self, reply: Reply, versions: str, took: float) -> Check:
        if reply.kind == "error":
            return Check.failed(f"MQTT connection failed: {reply.reason}", "run doctor again")
        if reply.kind == "timeout":
            return Check.failed(
                f"no MQTT answer within {self.timeout:g} s (no CONNACK; {versions})",
                "the port accepts TCP but does not speak MQTT, or the broker is frozen: "
                "check [mqtt] port and the broker (systemctl status mosquitto)",
            )
        if reply.kind == "closed":
            return Check.failed(
                f"the broker closed the connection before its CONNACK ({reply.reason}; {versions})",
                "read the broker's log for this board's client id: it names the reason "
                "(an unsupported protocol, a client id it refuses, an overloaded broker)",
            )
        reason = reply.reason
        if reason.is_failure:
            return Check.failed(f"broker refused {self.user}: {reason}", _refusal_fix(reason.value))
        return Check.passed(f"MQTT log-in as {self.user} accepted ({versions}; {ms(took)})")

    def _limits(self, limits: ServerLimits) -> list[Check]:
        found = [Check.passed(f"broker limits: {limits.describe()}")]
        if limits.retain_available is False:
            found.append(
                Check.failed(
                    "the broker does not keep retained messages: content, alerts and the "
                    "board's presence are retained, so a board that connects gets nothing",
                    "turn retained messages on at the broker (Mosquitto: retain_available "
                    "true; EMQX: the retainer)",
                )
            )
        if limits.maximum_qos == 0:
            found.append(
                Check.warning(
                    "the broker allows only QoS 0: reports may be lost on a bad link",
                    "allow QoS 1 at the broker (Mosquitto: max_qos 1 or more)",
                )
            )
        needed = _screenshot_bytes(self.config)
        limit = min(
            [size for size in (limits.max_packet_size, self.cfg.max_packet_size) if size] or [0]
        )
        if limit and limit < needed:
            found.append(
                Check.warning(
                    f"maximum packet size {limit} bytes is below a full screenshot "
                    f"(up to {needed} bytes for {_size_text(self.config)}): screenshots "
                    "will be scaled down or refused",
                    "raise the broker's limit (Mosquitto: max_packet_size) if full "
                    "screenshots are wanted",
                )
            )
        if limits.protocol == "3.1.1" and self.cfg.max_packet_size is None:
            found.append(
                Check.skipped(
                    "MQTT 3.1.1 brokers do not announce their maximum packet size: if the "
                    "broker has one, write it as [mqtt] max_packet_size"
                )
            )
        return found

    def _subscribe(self, session: Session) -> Check:
        topics = self.topics.subscriptions(alerts=True)
        reasons, took = timed(lambda: session.subscribe(topics))
        if reasons is None:
            return Check.failed(
                f"the broker did not confirm the subscriptions within {self.timeout:g} s",
                "run doctor again; if it repeats, the broker is overloaded",
            )
        refused = [f"{t} ({r})" for t, r in zip(topics, reasons, strict=False) if r.is_failure]
        if refused:
            return Check.failed(
                f"broker refuses subscriptions: {', '.join(refused)}",
                f"the broker's ACL must let {self.user} read these topics (like {ACL_EXAMPLE})",
            )
        return Check.passed(
            f"subscribed to the board's {len(topics)} topics (content, alerts, commands) "
            f"({ms(took)})"
        )

    def _round_trips(self, session: Session) -> list[Check]:
        return [self._write_events(session), self._read_commands(session)]

    def _write_events(self, session: Session) -> Check:
        """Publish a probe on the board's events topic; see it come back where the ACL lets
        this account read it (a second subscription), else trust the PUBACK (MQTT 5)."""
        topic = self.topics.events
        nonce = secrets.token_hex(6)
        probe = json.dumps(
            {"type": "event", "kind": "doctor.probe", "at": _now(), "probe": nonce}
        ).encode()
        echo = session.subscribe([topic])
        readable = echo is not None and not echo[0].is_failure
        reason = session.publish(topic, probe)
        if reason is None:
            return Check.failed(
                f"the broker did not acknowledge a publish to {topic} within {self.timeout:g} s",
                "run doctor again; if it repeats, the broker is overloaded",
            )
        if reason.is_failure:
            return Check.failed(
                f"broker denies {self.user} writing {topic}: {reason}: the board's "
                "heartbeats, events and results never reach the dashboard",
                f"the ACL must let {self.user} write signage/v1/board/{self.user}/status, "
                f"heartbeat, events, cmd/result and screenshot (like {ACL_EXAMPLE}: "
                "pattern write signage/v1/board/%u/…)",
            )
        if readable and session.delivered(topic, probe, ECHO_WAIT_S):
            return Check.passed(f"write permission proven: a probe on {topic} came back")
        if session.protocol == "5":
            return Check.passed(
                f"write permission: the broker accepted a probe on {topic} (PUBACK success)"
            )
        return Check.failed(
            f"write permission on {topic} not proven: the probe did not come back, and MQTT "
            "3.1.1 brokers acknowledge a refused publish like any other",
            f"check the ACL lets {self.user} write its board's topics (like {ACL_EXAMPLE}), "
            "or let it read its events topic so doctor can prove it",
        )

    def _read_commands(self, session: Session) -> Check:
        """A probe command (a ping) published to the board's cmd topic must be delivered
        to this account's subscription: Mosquitto grants a subscription its ACL denies
        reading, and then never delivers."""
        topic = self.topics.command
        nonce = secrets.token_hex(6)
        ping = json.dumps(
            {"type": "command", "id": f"doctor-{nonce}", "command": "ping", "args": {}}
        ).encode()
        reason = session.publish(topic, ping)
        if reason is not None and reason.is_failure:
            return Check.skipped(
                f"read permission on {topic} not testable: {self.user} may not publish "
                f"commands ({reason}), as intended; send a ping from the dashboard and "
                "watch for its result to prove it"
            )
        if session.delivered(topic, ping, ECHO_WAIT_S):
            return Check.passed(f"read permission proven: a probe command on {topic} arrived")
        if reason is None:
            return Check.failed(
                f"the broker did not acknowledge a probe command on {topic}",
                "run doctor again; if it repeats, the broker is overloaded",
            )
        return Check.failed(
            f"broker denies {self.user} reading {topic}: a probe command was accepted "
            "(PUBACK) but never delivered; the board never gets its commands",
            f"the ACL must let {self.user} read signage/v1/board/{self.user}/cmd "
            f"(like {ACL_EXAMPLE}: pattern read signage/v1/board/%u/cmd)",
        )

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _size_text(config: AgentConfig) -> str:
    display = config.display
    if display.width and display.height:
        return f"a {display.width}×{display.height} frame"
    return "a full-HD frame"


def _screenshot_bytes(config: AgentConfig) -> int:
    """A generous PNG size of a full frame (busy content barely compresses)."""
    display = config.display
    width, height = (display.width, display.height)
    if not (width and height):
        width, height = 1920, 1080
    return width * height * 3 // 4


def _refusal_fix(code: int) -> str:
    if code in (134, 135):  # bad user name or password; not authorised
        return (
            "check [mqtt] username (the board id) and the password in password_file "
            "(one line); the account must exist on the broker (mosquitto_passwd)"
        )
    if code == 133:
        return "the broker refuses this client id: [board] id must be a plain slug"
    if code in (136, 137, 159):  # server unavailable, busy, connection rate exceeded
        return "the broker is busy or restarting: wait a minute and run doctor again"
    return "read the broker's log for this board's user name"
