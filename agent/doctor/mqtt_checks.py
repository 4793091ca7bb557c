"""The doctor's MQTT checks on an open session: log-in, the broker's limits,
subscriptions, and round trips that prove the ACL lets the board write its reports and
read its commands."""

from __future__ import annotations

import json
import secrets
import ssl
from datetime import UTC, datetime

from agent.config import AgentConfig
from agent.doctor.check import Check, ms, timed
from agent.doctor.mqtt_session import Reply, Session, open_session
from agent.mqtt_tls import read_board_certificate
from agent.mqtt_wire import ServerLimits, tls_alert
from agent.topics import Topics

ACL_EXAMPLE = "/opt/signage-agent/examples/mosquitto/signage.acl"
# A probe the broker accepted comes back within milliseconds on a LAN and well within a
# second or two on mobile data; waiting the whole connect deadline only slows doctor.
ECHO_WAIT_S = 3.0


class BrokerSession:
    """The doctor's MQTT checks, in order: log-in, limits, subscriptions, round trips."""

    def __init__(self, config: AgentConfig, timeout: float) -> None:
        assert config.mqtt is not None
        self.cfg = config.mqtt
        self.config = config
        self.timeout = timeout
        board = config.board
        self.topics = Topics(
            self.cfg.topic_root, board.district, board.commune, board.id, tuple(board.groups)
        )
        self.trust = config.trust is not None  # the keyring topic too, as the board subscribes
        self.client_id = f"{board.id}-doctor"
        self.session: Session | None = None

    @property
    def user(self) -> str:
        """Who the broker sees: the user name, else the certificate's common name (the
        user name of a broker with `use_identity_as_username`), else anonymous."""
        if self.cfg.username is not None:
            return self.cfg.username
        if self.cfg.cert_file is not None:
            try:
                name = read_board_certificate(self.cfg.cert_file).common_name
            except (OSError, ValueError):
                name = None  # the identity check says why
            return name or "the board certificate"
        return "anonymous"

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
        if reply.kind == "closed" and (alert := tls_alert(reply.read_error or "")) is not None:
            return Check.failed(f"MQTT log-in as {self.user}: {alert[0]}", alert[1])
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
        topics = self.topics.subscriptions(alerts=True, trust=self.trust)
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
