"""Alerts end to end through a real Mosquitto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    COMMUNE_TOPIC,
    ROOT,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    write_config,
)

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")
CITY_ALERT = f"{ROOT}/alert/city/bao-so-3"
COMMUNE_ALERT = f"{ROOT}/alert/commune/ba-dinh/phuc-xa/ngap-lut"


def alert(alert_id: str, **changes: Any) -> bytes:
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "type": "alert",
        "id": alert_id,
        "msg_type": "alert",
        "status": "actual",
        "sender": "hanoi-civil-defense",
        "sent": now.isoformat(),
        "expires": (now + timedelta(hours=6)).isoformat(),
        "severity": "severe",
        "urgency": "immediate",
        "headline": "Bão số 3 đổ bộ: người dân ở trong nhà",
        "description": "Gió mạnh cấp 10, giật cấp 12, mưa rất to.",
    }
    data.update(changes)
    return json.dumps(data, ensure_ascii=False).encode()


def heartbeat_after(observer: Observer, mark: int) -> dict[str, Any]:
    beat = observer.wait_for(lambda m: m.topic == board_topic("heartbeat"), start=mark)
    return dict(beat.json())


def start(tmp_path: Path, broker: Broker, agents: list[AgentProcess]) -> AgentProcess:
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1)
    agent = AgentProcess(config, tmp_path / f"agent-{len(agents)}.log").start()
    agents.append(agent)
    return agent


def test_severe_preempts_minor_is_a_banner_and_cancel_restores(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start(tmp_path, broker, agents)
    wait_online(observer)
    observer.publish(
        COMMUNE_TOPIC,
        playlist(1, [text_item("tin", "Lịch tiêm chủng", duration_s=600)]),
        retain=True,
    )
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"))

    observer.publish(
        COMMUNE_ALERT,
        alert("ngap-lut", severity="minor", headline="Cảnh báo ngập lụt"),
        retain=True,
    )
    observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id="ngap-lut", layout="alert_banner")
    )
    mark = observer.mark()
    beat = heartbeat_after(observer, mark)
    assert beat["now_showing"]["item_id"] == "tin"  # a banner runs over the content
    assert beat["alerts_active"] == ["ngap-lut"]

    observer.publish(CITY_ALERT, alert("bao-so-3"), retain=True)
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="bao-so-3"))
    observer.wait_for(
        event_matcher(
            EVENTS, "playback.started", item_id="bao-so-3", layout="alert_full", channel="alert"
        )
    )
    mark = observer.mark()
    beat = heartbeat_after(observer, mark)
    assert (beat["now_showing"]["item_id"], beat["now_showing"]["channel"]) == ("bao-so-3", "alert")
    assert beat["alerts_active"] == ["bao-so-3", "ngap-lut"]

    mark = observer.mark()
    cancel = alert("bao-so-3", msg_type="cancel")
    observer.publish(CITY_ALERT, cancel, retain=True)
    ended = observer.wait_for(event_matcher(EVENTS, "alert.ended", alert_id="bao-so-3"), start=mark)
    assert ended.json()["reason"] == "cancel"
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"), start=mark)
    beat = heartbeat_after(observer, observer.mark())
    assert beat["now_showing"]["item_id"] == "tin"
    assert beat["now_showing"]["channel"] == "commune"

    mark = observer.mark()
    observer.publish(COMMUNE_ALERT, b"", retain=True)  # deleted
    deleted = observer.wait_for(
        event_matcher(EVENTS, "alert.ended", alert_id="ngap-lut"), start=mark
    )
    assert deleted.json()["reason"] == "deleted"
    observer.publish(CITY_ALERT, b"", retain=True)


def test_board_started_after_the_alert_was_published_shows_it(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    observer.publish(CITY_ALERT, alert("bao-so-3", severity="extreme"), retain=True)
    start(tmp_path, broker, agents)
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="bao-so-3"))
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="bao-so-3"))
    observer.publish(CITY_ALERT, b"", retain=True)


def test_expired_alert_at_boot_is_not_shown_and_expiry_restores_content(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    now = datetime.now(UTC)
    stale = alert(
        "cu",
        sent=(now - timedelta(hours=2)).isoformat(),
        expires=(now - timedelta(hours=1)).isoformat(),
    )
    observer.publish(f"{ROOT}/alert/city/cu", stale, retain=True)
    start(tmp_path, broker, agents)
    ignored = observer.wait_for(event_matcher(EVENTS, "alert.ignored", alert_id="cu"))
    assert "expired" in ignored.json()["reason"]
    observer.publish(COMMUNE_TOPIC, playlist(1, [text_item("tin", "Tin", duration_s=600)]))
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"))
    short = alert("ngan", expires=(datetime.now(UTC) + timedelta(seconds=2)).isoformat())
    mark = observer.mark()
    observer.publish(f"{ROOT}/alert/city/ngan", short)
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="ngan"), start=mark)
    ended = observer.wait_for(event_matcher(EVENTS, "alert.ended", alert_id="ngan"), start=mark)
    assert ended.json()["reason"] == "expired"
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"), start=mark)
    observer.publish(f"{ROOT}/alert/city/cu", b"", retain=True)
