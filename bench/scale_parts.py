"""The parts of bench/fleet_scale.py: a city broker with regional brokers bridged to it,
real agents on the regional brokers, an observer at the city, and the fleet service.

The bridges are Mosquitto's own (`connection` blocks on each regional broker): what a
city pulls down (alerts, content, layouts, keyrings, commands, assignments) goes `in`,
what boards publish goes `out` — leaf by leaf, so one region's heartbeats are not sent
down to the other region's broker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support import REPO, AgentProcess, Broker, free_port, wait_until

ROOT = "signage/v1"
INBOUND = ["alert/#", "content/#", "layout/#", "trust", "board/+/cmd", "board/+/assignment"]
OUTBOUND = [f"board/+/{leaf}" for leaf in ("status", "heartbeat", "events", "cmd/result")] + [
    "board/+/screenshot"
]
# A city broker queues QoS 1 messages for a subscriber that is slow or away (the fleet
# service restarting): Mosquitto's default of 1000 per client is a few seconds at city size.
CITY_OPTIONS = "allow_anonymous true\nmax_queued_messages 200000\n"


def bridge(name: str, city_port: int) -> str:
    lines = [
        f"connection {name}",
        f"address 127.0.0.1:{city_port}",
        f"remote_clientid bridge-{name}",
        "cleansession false",  # the city keeps what it queued for a region across a restart
        "bridge_attempt_unsubscribe false",
        "start_type automatic",
        "restart_timeout 1 10",
        *(f"topic {ROOT}/{topic} in 1" for topic in INBOUND),
        *(f"topic {ROOT}/{topic} out 1" for topic in OUTBOUND),
    ]
    return "\n".join(lines) + "\n"


def start_brokers(directory: Path, regions: list[str]) -> tuple[Broker, dict[str, Broker]]:
    city_dir = directory / "city"
    city_dir.mkdir()
    city = Broker(city_dir, CITY_OPTIONS)
    city.start()
    regional: dict[str, Broker] = {}
    for region in regions:
        region_dir = directory / region
        region_dir.mkdir()
        broker = Broker(region_dir, "allow_anonymous true\nmax_queued_messages 10000\n")
        broker.conf.write_text(broker.conf.read_text() + bridge(region, city.port))
        broker.start()
        regional[region] = broker
    return city, regional


def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{free_port()}")
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def wait_bridged(city: Broker, regional: dict[str, Broker], timeout: float = 30) -> None:
    """Until a message published at the city reaches every regional broker (its bridge is
    up and subscribed)."""
    for region, broker in regional.items():
        _probe(city.port, broker.port, region, timeout)


def _probe(city_port: int, region_port: int, region: str, timeout: float) -> None:
    got = threading.Event()
    listener = client(region_port, f"probe-{region}")
    topic = f"{ROOT}/content/board/bench-probe-{region}"
    listener.on_message = lambda *_a: got.set()
    listener.subscribe(topic, 1)
    sender = client(city_port, "probe-city")
    try:
        wait_until(
            lambda: sender.publish(topic, b"{}", qos=1) and got.wait(0.5),
            timeout,
            f"the bridge of {region}",
        )
    finally:
        for c in (listener, sender):
            c.disconnect()
            c.loop_stop()


def agent_config(directory: Path, board_id: str, district: str, port: int) -> Path:
    """A headless 128×64 board (the tests' working config, with its own id and place)."""
    directory.mkdir(parents=True)
    config = directory / "agent.toml"
    config.write_text(
        f"""[board]
id = "{board_id}"
district = "{district}"
commune = "phuong-0"
name = "Bảng tin {board_id}"

[mqtt]
host = "127.0.0.1"
port = {port}
keepalive_s = 30

[display]
output = "headless"
width = 128
height = 64
fps = 10

[health]
heartbeat_interval_s = 30

[storage]
state_dir = "{directory / "state"}"
""",
        encoding="utf-8",
    )
    return config


def start_agents(directory: Path, count: int, ports: list[int]) -> list[AgentProcess]:
    agents = []
    for n in range(count):
        board_id = f"agent-{n:02d}"
        place = directory / board_id
        config = agent_config(place, board_id, f"quan-{n % 10}", ports[n % len(ports)])
        agents.append(AgentProcess(config, place / "agent.log").start())
    return agents


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class Receipt:
    board_id: str
    received_at: datetime
    seen_at: datetime  # when the observer at the city got the alert.started


@dataclass
class CityObserver:
    """The bench's eyes at the city broker: presence, heartbeat counts, alert receipts."""

    port: int
    online: set[str] = field(default_factory=set)
    heartbeats: int = 0
    events: int = 0
    receipts: dict[str, dict[str, Receipt]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-city-{free_port()}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, *_a: c.subscribe(
            [(f"{ROOT}/board/+/{leaf}", 1) for leaf in ("status", "heartbeat", "events")]
        )
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def _message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        seen = datetime.now(UTC)
        board_id = msg.topic.split("/")[3]
        payload = bytes(msg.payload)
        with self._lock:
            if msg.topic.endswith("/heartbeat"):
                self.heartbeats += 1
            elif msg.topic.endswith("/events"):
                self.events += 1
                if b'"alert.started"' in payload:
                    body = json.loads(payload)
                    receipt = Receipt(board_id, parse_time(body["received_at"]), seen)
                    self.receipts.setdefault(body["alert_id"], {})[board_id] = receipt
                    self._lock.notify_all()
            elif msg.topic.endswith("/status") and payload:
                state = json.loads(payload).get("state")
                (self.online.add if state == "online" else self.online.discard)(board_id)
                self._lock.notify_all()

    def wait(self, done: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fleet_available() -> str | None:
    """None when `signage-fleet serve` is built here; else why the fleet part is skipped."""
    if not (REPO / "fleet" / "ingest.py").exists():
        return "signage-fleet serve is not merged into this checkout (no fleet/ingest.py)"
    return None


class FleetService:
    """`signage-fleet serve` on the city broker, SQLite by default."""

    def __init__(self, directory: Path, broker_port: int, db_url: str | None = None) -> None:
        self.directory = directory
        self.db_path = directory / "fleet.db"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        self.broker_port = broker_port
        self.http_port = free_port()
        self.log = directory / "fleet.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.user: tuple[str, str] | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "fleet.cli", *args]
        return subprocess.run(command, cwd=REPO, capture_output=True, timeout=120, check=False)

    def add_user(self) -> str | None:
        """Create the bench's viewer; None, or why the API cannot be timed."""
        password = self.directory / "password"
        password.write_text("bench-password-0123456789\n")
        done = self.cli(
            "users", "add", "bench", "--password-file", str(password), "--db", self.db_url
        )
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
            return f"signage-fleet users add failed: {lines[-1][:200]}"
        self.user = ("bench", "bench-password-0123456789")
        return None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "fleet.cli", "serve", "--broker", f"127.0.0.1:{self.broker_port}",
            "--db", self.db_url, "--listen", f"127.0.0.1:{self.http_port}",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                stdout=log,
                stderr=log,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
        wait_until(self._listening, 60, "the fleet service's web port")

    def _listening(self) -> bool:
        import socket

        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"signage-fleet serve exited: {self.log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
