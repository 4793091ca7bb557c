"""Real parts for tests: a Mosquitto broker, an agent process, an MQTT observer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike  # defined for type checkers only

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise RuntimeError("mosquitto is not installed (./scripts/test installs it)")
    return found


class BrokerProcess:
    """A broker as a subprocess on a free loopback port: started, waited for until it
    accepts TCP, killed (and started again on the same port to simulate an outage)."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None

    def _start(self, command: list[str], name: str, timeout: float) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        wait_until(lambda: self._accepts(name), timeout, f"{name} on port {self.port}")

    def _accepts(self, name: str) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{name} exited: {self.log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    stop = kill


class Broker(BrokerProcess):
    """A Mosquitto on a free loopback port; kill and start again to simulate an outage."""

    def __init__(self, directory: Path, listener_options: str = "allow_anonymous true\n") -> None:
        self.port = free_port()
        self.conf = directory / "mosquitto.conf"
        # As root, Mosquitto drops to the `mosquitto` user, which cannot read files in
        # pytest's private temp dirs (certificates, password file): stay root there.
        stay = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"{stay}persistence false\nset_tcp_nodelay true\nlistener {self.port} 127.0.0.1\n"
            + listener_options
        )
        self.log = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._start([mosquitto_binary(), "-c", str(self.conf)], "mosquitto", 10)


class AmqttBroker(BrokerProcess):
    """amqtt (PyPI), an independent MQTT 3.1.1-only broker, as a subprocess on a free
    loopback port: the second broker implementation the end-to-end core cases run against.

    Same face as `Broker` (port, start, kill); no ACLs (anonymous, every topic allowed).
    """

    def __init__(self, directory: Path, plugins: str = "") -> None:
        """`plugins`: more YAML lines under `plugins:` (indented by two spaces)."""
        self.port = free_port()
        self.conf = directory / "amqtt.yaml"
        self.conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n" + plugins
        )
        self.log = directory / "amqtt.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = Path(sys.executable).with_name("amqtt")
        if not binary.exists():
            raise RuntimeError("amqtt is not installed (pip install -e '.[test]')")
        self._start([str(binary), "-c", str(self.conf)], "amqtt", 30)


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Observer:
    """A dashboard stand-in: records everything on the subscribed topics."""

    port: int
    topics: list[str]
    messages: list[Message] = field(default_factory=list)
    protocol: MQTTProtocolVersion = mqtt.MQTTv311  # amqtt speaks only 3.1.1

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._subscribed = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"observer-{free_port()}", protocol=self.protocol
        )
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_args: self._subscribed.set()
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        self.client = client

    def _on_socket_open(self, _c: mqtt.Client, _u: Any, sock: SocketLike) -> None:
        # paho hands over a plain TCP socket here (no TLS, no websockets): no Nagle delay.
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_connect(self, client: mqtt.Client, *_args: Any) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(
                Message(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic())
            )
            self._lock.notify_all()

    def connect(self) -> Observer:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise AssertionError("observer could not subscribe")
        return self

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def find(self, match: Callable[[Message], bool], start: int = 0) -> list[Message]:
        with self._lock:
            return [m for m in self.messages[start:] if match(m)]

    def wait_for(
        self, match: Callable[[Message], bool], timeout: float = 10, start: int = 0
    ) -> Message:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for m in self.messages[start:]:
                    if match(m):
                        return m
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(m.topic, m.payload[:200]) for m in self.messages[start:]][-10:]
                    raise AssertionError(f"no matching message within {timeout} s; last: {seen}")
                self._lock.wait(remaining)

    def mark(self) -> int:
        with self._lock:
            return len(self.messages)


def event_matcher(events_topic: str, kind: str, **details: Any) -> Callable[[Message], bool]:
    def match(m: Message) -> bool:
        if m.topic != events_topic:
            return False
        body = m.json()
        return body.get("kind") == kind and all(body.get(k) == v for k, v in details.items())

    return match


BOARD = {"id": "hn-badinh-phucxa-01", "district": "ba-dinh", "commune": "phuc-xa"}
ROOT = "signage/v1"


def board_topic(leaf: str) -> str:
    return f"{ROOT}/board/{BOARD['id']}/{leaf}"


def is_online(message: Message) -> bool:
    """The board's retained presence says `online` (published after every connect)."""
    return message.topic == board_topic("status") and message.json()["state"] == "online"


def wait_online(observer: Observer, start: int = 0, timeout: float = 10) -> None:
    observer.wait_for(is_online, timeout=timeout, start=start)


COMMUNE_TOPIC = f"{ROOT}/content/commune/{BOARD['district']}/{BOARD['commune']}"


def write_config(
    directory: Path,
    *,
    port: int | None,
    heartbeat_s: float = 30,
    size: tuple[int, int] = (640, 360),
    extra: str = "",
    mqtt_extra: str = "",
    reconnect_s: tuple[float, float] = (0.2, 1.0),
    district: str | None = BOARD["district"],
    board_extra: str = "",
    keepalive_s: int = 5,  # tests: a frozen broker is seen in seconds (production: 30)
) -> Path:
    mqtt_section = (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nkeepalive_s = {keepalive_s}\n'
        f"reconnect_min_s = {reconnect_s[0]}\nreconnect_max_s = {reconnect_s[1]}\n{mqtt_extra}"
        if port is not None
        else ""
    )
    config = directory / "agent.toml"
    config.write_text(
        f"""[board]
id = "{BOARD["id"]}"
{f'district = "{district}"' if district else ""}
commune = "{BOARD["commune"]}"
name = "Bảng tin phường Phúc Xá"
{board_extra}

{mqtt_section}
[display]
output = "headless"
width = {size[0]}
height = {size[1]}

[health]
heartbeat_interval_s = {heartbeat_s}

[storage]
state_dir = "{directory / "state"}"
{extra}
""",
        encoding="utf-8",
    )
    return config


TRACEBACK = "Traceback (most recent call last)"


class AgentProcess:
    """`signage-agent run` as a real process; its log is kept for assertions."""

    def __init__(
        self,
        config: Path,
        log: Path,
        env: dict[str, str] | None = None,
        wrapper: list[str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.config = config
        self.log_path = log
        self.extra_env = env or {}
        self.wrapper = wrapper or []  # e.g. setpriv: the agent without some capabilities
        self.args = args or []  # more `run` options, e.g. --verbose
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> AgentProcess:
        env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYTHONUNBUFFERED="1", **self.extra_env)
        self.log_path.write_bytes(b"")
        with self.log_path.open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                [
                    *self.wrapper,
                    sys.executable,
                    "-m",
                    "agent",
                    "run",
                    "--config",
                    str(self.config),
                    *self.args,
                ],
                stdout=log,
                stderr=log,
                env=env,
                cwd=REPO,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, needle: str, timeout: float = 10) -> str:
        def found() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"agent exited ({self.process.returncode}):\n{self.log()}")
            return needle in self.log()

        wait_until(found, timeout, f"{needle!r} in the agent log")
        return self.log()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 5) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.check_no_traceback()

    # Set by tests/conftest.py from the `allow_traceback` marker; per agent, `allow_traceback`.
    tracebacks_allowed = False
    allow_traceback: bool | None = None

    def check_no_traceback(self) -> None:
        """Fail when the agent logged a traceback: no traceback may reach a user (the
        `fail_on_log_exception` habit, for agent processes; see tests/conftest.py)."""
        allowed = self.allow_traceback
        if allowed is None:
            allowed = AgentProcess.tracebacks_allowed
        if allowed or self.process is None or not self.log_path.exists():
            return
        log = self.log()
        at = log.find(TRACEBACK)
        if at >= 0:
            excerpt = log[max(0, at - 600) : at + 2400]
            raise AssertionError(f"the agent logged a traceback ({self.log_path}):\n{excerpt}")


def playlist(version: int, items: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "type": "playlist",
            "version": version,
            "issued_at": "2026-11-27T07:30:00+07:00",
            "items": items,
        },
        ensure_ascii=False,
    ).encode()


def text_item(item_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": item_id, "layout": "fullscreen_text", "fields": {"text": text}, **extra}
