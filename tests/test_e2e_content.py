"""End to end through a real Mosquitto: content in, frames and proof of play out."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pygame
import pytest

from agent.messages import PlaylistItem
from display_layouts.render import Renderer, Scene
from tests.support import (
    COMMUNE_TOPIC,
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
VIETNAMESE = "Thông báo khẩn cấp: Ủy ban nhân dân phường Phúc Xá. Bão số 3, Đường Nguyễn Trãi."


def start_agent(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess], **kw: object
) -> AgentProcess:
    config = write_config(tmp_path, port=broker.port, **kw)  # type: ignore[arg-type]
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    return agent


def test_vietnamese_playlist_reaches_the_board_and_screenshot_shows_it(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start_agent(tmp_path, broker, agents)
    wait_online(observer)
    item = text_item("khan-cap", VIETNAMESE, duration_s=60) | {
        "fields": {"title": "Thông báo", "text": VIETNAMESE}
    }
    observer.publish(COMMUNE_TOPIC, playlist(17, [item]), retain=True)
    accepted = observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="commune"))
    assert accepted.json()["version"] == 17
    started = observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="khan-cap"))
    assert started.json()["channel"] == "commune"
    assert started.json()["layout"] == "fullscreen_text"

    mark = observer.mark()
    observer.publish(
        board_topic("cmd"),
        json.dumps({"type": "command", "id": "shot-1", "command": "screenshot", "args": {}}),
    )
    shot = observer.wait_for(lambda m: m.topic == board_topic("screenshot"), start=mark)
    result = observer.wait_for(lambda m: m.topic == board_topic("cmd/result"), start=mark)
    assert result.json() == {
        "type": "command_result",
        "id": "shot-1",
        "ok": True,
        "data": {"width": 640, "height": 360, "bytes": len(shot.payload)},
    }
    assert shot.payload.startswith(b"\x89PNG")

    # The PNG is exactly what our renderer draws for this item: every diacritic included
    # (the renderer's own tests check that the glyphs carry their marks).
    image = pygame.image.load(io.BytesIO(shot.payload), "shot.png")
    expected = pygame.Surface((640, 360))
    fields = PlaylistItem.model_validate(item).fields
    renderer = Renderer((640, 360))
    renderer.draw(
        expected, Scene("fullscreen_text", fields, "Bảng tin phường Phúc Xá", _any_time())
    )
    assert image.get_size() == (640, 360)
    assert pygame.image.tobytes(image, "RGB") == pygame.image.tobytes(expected, "RGB")
    assert renderer.missing_glyphs == 0


def _any_time() -> datetime:
    return datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def test_commands_ping_unknown_malformed_and_once_only(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start_agent(tmp_path, broker, agents)
    wait_online(observer)
    results = board_topic("cmd/result")
    cmd = board_topic("cmd")
    observer.publish(cmd, json.dumps({"type": "command", "id": "p1", "command": "ping"}))
    ping = observer.wait_for(lambda m: m.topic == results and m.json()["id"] == "p1")
    assert ping.json()["ok"] is True
    observer.publish(cmd, json.dumps({"type": "command", "id": "x1", "command": "self_destruct"}))
    unknown = observer.wait_for(lambda m: m.topic == results and m.json()["id"] == "x1")
    assert unknown.json()["ok"] is False
    assert "unknown command" in unknown.json()["error"]
    observer.publish(cmd, json.dumps({"type": "command", "id": "m1", "command": "ping", "argz": 1}))
    bad = observer.wait_for(lambda m: m.topic == results and m.json()["id"] == "m1")
    assert bad.json()["ok"] is False
    assert "argz" in bad.json()["error"]
    observer.wait_for(event_matcher(EVENTS, "content.rejected", topic=cmd))
    # The same id again is not run again; a new id is.
    observer.publish(cmd, json.dumps({"type": "command", "id": "p1", "command": "ping"}))
    observer.publish(cmd, json.dumps({"type": "command", "id": "p2", "command": "ping"}))
    observer.wait_for(lambda m: m.topic == results and m.json()["id"] == "p2")
    assert len(observer.find(lambda m: m.topic == results and m.json()["id"] == "p1")) == 1


def test_heartbeats_carry_contract_fields_and_seq_grows_across_restart(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    agent = start_agent(tmp_path, broker, agents, heartbeat_s=1)
    topic = board_topic("heartbeat")
    observer.publish(
        COMMUNE_TOPIC, playlist(3, [text_item("a", "Mất điện", duration_s=60)]), retain=True
    )
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="a"))
    mark = observer.mark()
    message = observer.wait_for(lambda m: m.topic == topic, start=mark)
    beat = message.json()
    assert beat["board_id"] == "hn-badinh-phucxa-01"
    assert beat["now_showing"]["item_id"] == "a"
    assert beat["now_showing"]["channel"] == "commune"
    assert beat["content"]["commune"] == {"version": 3, "items": 1}
    assert beat["content"]["city"] is None
    assert beat["display"]["output"] == "headless"
    assert beat["display"]["width"] == 640
    assert beat["mqtt"]["connected_since"] is not None
    assert set(beat["system"]) == {
        "cpu_percent",
        "cpu_temp_c",
        "mem_percent",
        "disk_free_mb",
        "load1",
        "clock_synced",
    }
    # The bytes a cellular link pays for 2880 times a day, measured on the wire: under
    # 1 KiB until issue 12 added the alert sources (CONTRACT §6) and the woken display,
    # 1200 bytes until issue 17 added the display's frames dropped and video decoder
    # (≈ 40 bytes; always there, so a dashboard's columns do not come and go); the
    # budget is now 1250 bytes (bench/bandwidth.py records the real sizes).
    assert len(message.payload) < 1250
    assert agent.terminate() == 0
    offline = observer.wait_for(
        lambda m: m.topic == board_topic("status") and m.json()["state"] == "offline"
    )
    assert offline.json()["reason"] == "shutdown"
    seqs = [m.json()["seq"] for m in observer.find(lambda m: m.topic == topic)]
    restarted = start_agent(tmp_path, broker, agents, heartbeat_s=1)
    mark = observer.mark()
    after = observer.wait_for(lambda m: m.topic == topic, start=mark).json()["seq"]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert after == seqs[-1] + 1  # clean restart: no gap, no repeat
    restarted.terminate()


def test_version_rule_and_channel_clearing(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start_agent(tmp_path, broker, agents)
    wait_online(observer)
    observer.publish(COMMUNE_TOPIC, playlist(5, [text_item("v5", "Phiên bản 5", duration_s=60)]))
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="v5"))
    observer.publish(COMMUNE_TOPIC, playlist(4, [text_item("v4", "Phiên bản 4")]))
    ignored = observer.wait_for(event_matcher(EVENTS, "content.ignored", version=4))
    assert ignored.json()["channel"] == "commune"
    assert "older" in ignored.json()["reason"]
    observer.publish(COMMUNE_TOPIC, playlist(5, [text_item("v5", "Phiên bản 5")]))
    observer.wait_for(event_matcher(EVENTS, "content.ignored", version=5))
    assert not observer.find(event_matcher(EVENTS, "playback.started", item_id="v4"))
    observer.publish(COMMUNE_TOPIC, b"", retain=True)
    observer.wait_for(event_matcher(EVENTS, "content.cleared", channel="commune"))
