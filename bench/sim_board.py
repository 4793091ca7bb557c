"""One simulated board of bench/board_sim.py: what it publishes and how it answers an
alert, built with the agent's own message models so every payload is valid."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import paho.mqtt.client as mqtt

from agent import __version__ as AGENT_VERSION
from agent.messages import (
    AlertEnded,
    AlertsHealth,
    AlertStarted,
    ChannelContent,
    DisplayHealth,
    Heartbeat,
    MqttAlertSource,
    MqttHealth,
    NowShowing,
    PlaybackStarted,
    SystemHealth,
    board_time,
)

ROOT = "signage/v1"
ITEMS = ("tin-1", "tin-2", "tin-3")  # the city playlist every simulated board rotates


@dataclass(frozen=True)
class Place:
    board_id: str
    district: str
    commune: str


def places(prefix: str, count: int, districts: int = 10, communes: int = 10) -> list[Place]:
    """`count` boards spread evenly over districts and their communes."""
    return [
        Place(f"{prefix}-{n:05d}", f"quan-{n % districts}", f"phuong-{(n // districts) % communes}")
        for n in range(count)
    ]


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Counters:
    published: int = 0
    heartbeats: int = 0
    events: int = 0
    alerts_started: int = 0
    connects: int = 0
    disconnects: int = 0


@dataclass
class SimBoard:
    """One simulated board: its paho client, its heartbeat's moving parts, its alerts."""

    place: Place
    client: mqtt.Client
    counters: Counters
    started: datetime = field(default_factory=now)
    seq: int = 0
    frames: int = 0
    item: int = 0
    connected_since: datetime | None = None
    active: dict[str, str] = field(default_factory=dict)  # alert id → severity
    topics: dict[str, str] = field(default_factory=dict)  # alert topic → alert id

    def topic(self, leaf: str) -> str:
        return f"{ROOT}/board/{self.place.board_id}/{leaf}"

    def subscriptions(self) -> list[tuple[str, int]]:
        d, c, b = self.place.district, self.place.commune, self.place.board_id
        alerts = ["city/+", f"district/{d}/+", f"commune/{d}/{c}/+", f"board/{b}/+"]
        content = ["city", f"district/{d}", f"commune/{d}/{c}", f"board/{b}"]
        return [(f"{ROOT}/alert/{a}", 1) for a in alerts] + [
            (f"{ROOT}/content/{t}", 1) for t in content
        ]

    def publish(self, leaf: str, payload: str, *, retain: bool = False) -> None:
        self.client.publish(self.topic(leaf), payload, qos=1, retain=retain)
        self.counters.published += 1

    def on_connect(self) -> None:
        self.connected_since = now()
        self.counters.connects += 1
        status = {"state": "online", "since": board_time(self.connected_since)}
        self.publish("status", json.dumps({**status, "agent_version": AGENT_VERSION}), retain=True)
        self.client.subscribe(self.subscriptions())

    def heartbeat(self, interval_s: float) -> None:
        self.seq += 1
        self.frames += max(1, int(interval_s))
        showing = next(iter(self.active), None)
        beat = Heartbeat(
            board_id=self.place.board_id,
            seq=self.seq,
            sent_at=now(),
            agent_version=AGENT_VERSION,
            uptime_s=int((now() - self.started).total_seconds()),
            now_showing=NowShowing(
                item_id=showing or ITEMS[self.item % len(ITEMS)],
                channel="alert" if showing else "city",
                since=now(),
            ),
            alerts_active=list(self.active),
            alerts_active_count=len(self.active),
            content={
                "city": ChannelContent(version=1, items=len(ITEMS)),
                "district": None,
                "commune": None,
                "board": None,
                "local": None,
            },
            display=DisplayHealth(
                output="headless",
                width=128,
                height=64,
                fps=30.0,
                frames=self.frames,
                brightness=None,
                power="on",
            ),
            serial=None,
            system=SystemHealth(
                cpu_percent=3.0,
                cpu_temp_c=48.5,
                mem_percent=21.0,
                disk_free_mb=5120,
                load1=0.1,
                clock_synced=True,
            ),
            mqtt=MqttHealth(
                connected_since=self.connected_since,
                reconnects=self.counters.connects - 1,
                outbox=0,
                protocol="5",
            ),
            errors_total=0,
            alerts=AlertsHealth(sources=[MqttAlertSource(last_message_at=None)]),
        )
        self.publish("heartbeat", beat.model_dump_json())
        self.counters.heartbeats += 1

    def play(self) -> None:
        if self.active:
            return  # an alert fills the screen: no content item starts
        self.item += 1
        item = ITEMS[self.item % len(ITEMS)]
        event = PlaybackStarted(at=now(), item_id=item, channel="city", layout="fullscreen_text")
        self.publish("events", event.model_dump_json())
        self.counters.events += 1

    def on_alert(self, topic: str, payload: bytes, received: datetime) -> None:
        if not payload:  # an emptied retained topic deletes its alert
            gone = self.topics.pop(topic, None)
            if gone is not None and gone in self.active:
                self._ended(gone, "deleted")
            return
        try:
            body = json.loads(payload)
            alert_id, severity, sent = body["id"], body["severity"], body["sent"]
            msg_type = body.get("msg_type", "alert")
            sent_at = datetime.fromisoformat(sent)
        except (ValueError, KeyError, TypeError):
            return  # not an alert this simulator understands (a real board would reject it)
        if msg_type == "cancel":
            if alert_id in self.active:
                self._ended(alert_id, "cancel")
            return
        if alert_id in self.active:
            return
        self.active[alert_id] = severity
        self.topics[topic] = alert_id
        latency = int((received - sent_at).total_seconds() * 1000)
        started = AlertStarted(
            at=now(), alert_id=alert_id, severity=severity, sent=sent_at,
            received_at=received, latency_ms=latency,
        )  # fmt: skip
        self.publish("events", started.model_dump_json())
        self.counters.events += 1
        self.counters.alerts_started += 1
        shown = PlaybackStarted(at=now(), item_id=alert_id, channel="alert", layout="alert_full")
        self.publish("events", shown.model_dump_json())

    def _ended(self, alert_id: str, reason: Literal["cancel", "deleted"]) -> None:
        severity = self.active.pop(alert_id)
        ended = AlertEnded(at=now(), alert_id=alert_id, severity=severity, reason=reason)
        self.publish("events", ended.model_dump_json())
        self.counters.events += 1
