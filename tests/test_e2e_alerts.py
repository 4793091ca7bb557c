"""Alerts end to end through a real Mosquitto."""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pygame
import pytest

from agent.alert_desk import AlertDesk
from agent.alert_slots import alert_fields
from agent.caches import AlertStore
from display_layouts.render import Renderer, Scene
from tests.cap_documents import cap_alert
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


# --- CAP 1.2 (CONTRACT §6) -------------------------------------------------------------

ICT = timezone(timedelta(hours=7))
CAP_FIRST, CAP_UPDATE, CAP_CANCEL = "HN-E2E-001", "HN-E2E-002", "HN-E2E-003"


def screenshot(observer: Observer, command_id: str) -> bytes:
    mark = observer.mark()
    command = {"type": "command", "id": command_id, "command": "screenshot", "args": {}}
    observer.publish(board_topic("cmd"), json.dumps(command))
    shot = observer.wait_for(lambda m: m.topic == board_topic("screenshot"), start=mark)
    image = pygame.image.load(io.BytesIO(shot.payload), "shot.png")
    return bytes(pygame.image.tobytes(image, "RGB"))


def drawn_as_alert(payload: bytes, when: datetime) -> bytes:
    """What the board's renderer draws for this CAP payload's full-screen alert."""
    with tempfile.TemporaryDirectory() as state:
        desk = AlertDesk(AlertStore(Path(state)), lambda _m: None)
        (event,) = desk.on_payload("e2e", payload, when)
        alert = desk.book.get(event.alert_id)  # type: ignore[attr-defined]
    assert alert is not None
    surface = pygame.Surface((640, 360))
    scene = Scene("alert_full", alert_fields(alert), "Bảng tin phường Phúc Xá", when)
    Renderer((640, 360)).draw(surface, scene)
    return bytes(pygame.image.tobytes(surface, "RGB"))


def test_cap_alert_update_cancel_and_system(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start(tmp_path, broker, agents)
    wait_online(observer)
    observer.publish(
        COMMUNE_TOPIC, playlist(1, [text_item("tin", "Lịch tiêm chủng", duration_s=600)])
    )
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"))
    content = screenshot(observer, "shot-content")

    sent = datetime.now(ICT).replace(microsecond=0)
    first = cap_alert(CAP_FIRST, sent, expires=sent + timedelta(hours=6))
    mark = observer.mark()
    observer.publish(f"{ROOT}/alert/city/bao-so-3", first, retain=True)
    started = observer.wait_for(
        event_matcher(EVENTS, "alert.started", alert_id=CAP_FIRST), start=mark
    ).json()
    assert started["message_id"] == CAP_FIRST
    assert started["severity"] == "severe"
    assert {"sent", "received_at", "latency_ms"} <= set(started)
    observer.wait_for(
        event_matcher(
            EVENTS, "playback.started", item_id=CAP_FIRST, layout="alert_full", channel="alert"
        ),
        start=mark,
    )
    shown = screenshot(observer, "shot-alert")
    assert shown != content
    assert shown == drawn_as_alert(first, sent)

    # An Update with a new identifier, on another topic: the same incident, its new text.
    later = sent + timedelta(seconds=1)
    update = cap_alert(
        CAP_UPDATE,
        later,
        msg_type="Update",
        references=((CAP_FIRST, sent),),
        expires=later + timedelta(hours=6),
        headline="Bão số 3 mạnh lên: gió cấp 12",
    )
    mark = observer.mark()
    observer.publish(f"{ROOT}/alert/city/bao-so-3-cap-nhat", update, retain=True)
    updated = observer.wait_for(
        event_matcher(EVENTS, "alert.updated", alert_id=CAP_FIRST), start=mark
    ).json()
    assert updated["message_id"] == CAP_UPDATE
    observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id=CAP_FIRST, layout="alert_full"),
        start=mark,
    )
    after = screenshot(observer, "shot-update")
    assert after != shown
    assert after == drawn_as_alert(update, later)
    beat = heartbeat_after(observer, observer.mark())
    assert beat["alerts_active"] == [CAP_FIRST]
    assert beat["alerts"]["untargeted"] is True  # the test board has no codes or location

    # A System message (a feed's heartbeat) is never shown.
    mark = observer.mark()
    system = cap_alert("HN-E2E-SYS", later, status="System", expires=later + timedelta(hours=1))
    observer.publish(f"{ROOT}/alert/city/he-thong", system)
    ignored = observer.wait_for(
        event_matcher(EVENTS, "alert.ignored", alert_id="HN-E2E-SYS"), start=mark
    ).json()
    assert "System" in ignored["reason"]

    # The Cancel, on a third topic: the content is back.
    end = later + timedelta(seconds=1)
    cancel = cap_alert(
        CAP_CANCEL,
        end,
        msg_type="Cancel",
        references=((CAP_FIRST, sent), (CAP_UPDATE, later)),
        infos=0,
    )
    mark = observer.mark()
    observer.publish(f"{ROOT}/alert/city/ket-thuc", cancel)
    ended = observer.wait_for(
        event_matcher(EVENTS, "alert.ended", alert_id=CAP_FIRST), start=mark
    ).json()
    assert (ended["reason"], ended["message_id"]) == ("cancel", CAP_CANCEL)
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"), start=mark)
    assert screenshot(observer, "shot-back") == content
    never_shown = event_matcher(EVENTS, "playback.started", item_id="HN-E2E-SYS")
    assert observer.find(never_shown) == []
    for topic in ("bao-so-3", "bao-so-3-cap-nhat"):
        observer.publish(f"{ROOT}/alert/city/{topic}", b"", retain=True)


def test_a_cap_cancel_in_the_same_second_as_its_alert_ends_it(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start(tmp_path, broker, agents)
    wait_online(observer)
    sent = datetime.now(ICT).replace(microsecond=0)
    mark = observer.mark()
    observer.publish(
        f"{ROOT}/alert/city/mot-giay",
        cap_alert("HN-E2E-SS1", sent, expires=sent + timedelta(hours=1)),
    )
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="HN-E2E-SS1"), start=mark)
    cancel = cap_alert(
        "HN-E2E-SS2", sent, msg_type="Cancel", references=(("HN-E2E-SS1", sent),), infos=0
    )
    observer.publish(f"{ROOT}/alert/city/mot-giay-huy", cancel)
    ended = observer.wait_for(
        event_matcher(EVENTS, "alert.ended", alert_id="HN-E2E-SS1"), start=mark
    ).json()
    assert (ended["reason"], ended["message_id"]) == ("cancel", "HN-E2E-SS2")
    beat = heartbeat_after(observer, observer.mark())
    assert beat["alerts_active"] == []
