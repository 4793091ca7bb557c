"""The core in-process, with an injected clock: no broker, no sleeps."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pygame
import pytest

from agent.assets import AssetReady
from agent.config import AgentConfig
from agent.core import Agent, Reload, Wake
from agent.inbox import InboxFile
from agent.link_messages import Received
from agent.messages import Alert
from agent.output import HeadlessOutput
from tests.http_server import image_server
from tests.support import COMMUNE_TOPIC, free_port, playlist, text_item
from tests.test_assets import png

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class FakeClock:
    def __init__(self) -> None:
        self.wall = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def make_config(tmp_path: Path, **sections: Any) -> AgentConfig:
    data: dict[str, Any] = {
        "board": {"id": "hn-01", "district": "ba-dinh", "commune": "phuc-xa", "name": "Phúc Xá"},
        "display": {"output": "headless", "width": 320, "height": 180},
        "health": {"heartbeat_interval_s": 30},
        "storage": {"state_dir": str(tmp_path / "state")},
        "mqtt": {"host": "127.0.0.1", "port": 1},  # topics only: the link is never started
    }
    data.update(sections)
    return AgentConfig.model_validate(data)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def agent(tmp_path: Path, clock: FakeClock) -> Iterator[Agent]:
    made = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None  # in-process: events go to the log only
    yield made
    made.fetcher.stop()
    made.seq.close()


def events(caplog: pytest.LogCaptureFixture, kind: str) -> list[dict[str, Any]]:
    found = []
    for record in caplog.records:
        message = record.getMessage()
        if message.startswith("event "):
            body = json.loads(message.removeprefix("event "))
            if body["kind"] == kind:
                found.append(body)
    return found


def publish(agent: Agent, body: bytes, topic: str = COMMUNE_TOPIC) -> None:
    agent.handle(Received(topic, body, retained=False))
    agent.tick()


def shown(agent: Agent) -> str | None:
    showing = agent.playback.showing
    return showing.entry.item.id if showing and showing.entry else None


def test_idle_frame_at_start_then_content_replaces_it(agent: Agent) -> None:
    agent.tick()
    assert agent.screen.frames == 1
    assert shown(agent) is None  # idle, never black
    publish(agent, playlist(1, [text_item("a", "Thông báo")]))
    assert shown(agent) == "a"
    assert agent.screen.frames == 2


def test_rotation_follows_the_clock_and_static_screen_is_not_redrawn(
    agent: Agent, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, playlist(1, [text_item("a", "A", duration_s=10), text_item("b", "B")]))
    frames = agent.screen.frames
    for _ in range(50):  # many turns of the loop, nothing due: no new frame
        clock.advance(0.1)
        agent.tick()
    assert agent.screen.frames == frames
    assert shown(agent) == "a"
    clock.advance(5)
    agent.tick()
    assert shown(agent) == "b"
    assert agent.screen.frames == frames + 1
    assert [e["item_id"] for e in events(caplog, "playback.started")] == ["a", "b"]


def test_one_item_replays_each_slot_without_redrawing(
    agent: Agent, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, playlist(1, [text_item("a", "A", duration_s=10)]))
    frames = agent.screen.frames
    clock.advance(10)
    agent.tick()
    assert len(events(caplog, "playback.started")) == 2  # proof of play per slot
    assert agent.screen.frames == frames


def test_cached_content_is_shown_at_start(tmp_path: Path, clock: FakeClock) -> None:
    first = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    first.link = None
    publish(first, playlist(4, [text_item("luu", "Đã lưu")]))
    # no clean stop: the next process finds the content on disk
    again = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    again.link = None
    again.playlists = again.store.load_all()
    again.tick()
    assert shown(again) == "luu"


def test_failing_storage_still_shows_new_content_and_reports_it(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    directory = agent.store.directory
    for child in directory.iterdir():
        child.unlink()
    directory.rmdir()
    directory.write_text("not a directory")  # every save now fails
    publish(agent, playlist(1, [text_item("a", "Mất điện")]))
    assert shown(agent) == "a"
    assert events(caplog, "storage.error")
    assert events(caplog, "content.accepted")


def test_inbox_file_errors_go_to_a_sidecar_and_go_away_when_fixed(
    agent: Agent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "notice.json"
    path.write_text('{"type": "playlist", "version": "1"}', encoding="utf-8")
    agent.handle(InboxFile(path))
    sidecar = tmp_path / "notice.json.error.txt"
    assert "version: Input should be a valid integer" in sidecar.read_text(encoding="utf-8")
    assert events(caplog, "content.rejected")[0]["channel"] == "local"
    path.write_bytes(playlist(1, [text_item("usb", "Từ USB")]))
    agent.handle(InboxFile(path))
    agent.tick()
    assert not sidecar.exists()
    assert shown(agent) == "usb"


def test_item_waits_for_its_image_then_shows(agent: Agent) -> None:
    with image_server() as server:
        data = png()
        server.files["/anh.png"] = data
        image = {"url": server.url("/anh.png"), "sha256": hashlib.sha256(data).hexdigest()}
        item = {"id": "anh", "layout": "image_caption", "fields": {"image": image}}
        publish(agent, playlist(1, [item]))
        assert shown(agent) is None  # idle while the image downloads: never a hole
        ready = agent.queue.get(timeout=10)
        assert isinstance(ready, AssetReady)
        agent.handle(ready)
        agent.tick()
        assert shown(agent) == "anh"
        # The downloaded picture is on the frame (a flat colour, fitted in the middle).
        centre = agent.output.canvas.get_at((160, 90))[:3]
        assert tuple(centre) == (200, 30, 30)
    publish(agent, playlist(2, [text_item("chu", "Chữ")]))
    assert not list(agent.assets.directory.glob("*/*"))  # no longer used: collected


def test_failed_image_download_is_reported_per_item(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    image = {"url": f"http://127.0.0.1:{free_port()}/a.png", "sha256": "0" * 64}
    item = {"id": "anh", "layout": "image_caption", "fields": {"image": image}}
    publish(agent, playlist(1, [item, text_item("chu", "Chữ")]))
    assert shown(agent) == "chu"
    agent.handle(agent.queue.get(timeout=10))
    failed = events(caplog, "asset.failed")
    assert failed[0]["item_id"] == "anh"
    assert failed[0]["url"] == image["url"]
    assert "unreachable" in failed[0]["message"]


def test_heartbeat_fields_and_seq(agent: Agent, clock: FakeClock) -> None:
    publish(agent, playlist(2, [text_item("a", "A")]))
    beat = agent.heartbeat()
    assert beat.now_showing is not None
    assert beat.now_showing.item_id == "a"
    assert beat.content["commune"] is not None
    assert beat.content["commune"].version == 2
    assert beat.content["city"] is None
    assert beat.display.frames == agent.screen.frames
    second = agent.heartbeat()
    assert second.seq == beat.seq + 1


def test_screen_output_draws_through_the_display(tmp_path: Path, clock: FakeClock) -> None:
    # SDL's dummy video driver stands in for the HDMI screen: same code path as a board.
    config = make_config(
        tmp_path, display={"output": "screen", "width": 320, "height": 180, "fullscreen": False}
    )
    screen_agent = Agent(config, clock=clock)
    screen_agent.link = None
    try:
        publish(screen_agent, playlist(1, [text_item("a", "Đường Nguyễn Trãi")]))
        assert screen_agent.output.kind == "screen"
        assert screen_agent.heartbeat().display.output == "screen"
        surface = pygame.display.get_surface()
        assert surface is not None
        assert surface.get_size() == (320, 180)
        colours = {surface.get_at((x, y))[:3] for x in range(0, 320, 4) for y in range(0, 180, 4)}
        assert len(colours) > 2  # background and text, not a blank frame
    finally:
        screen_agent.output.close()
        screen_agent.seq.close()


# --- alerts ---------------------------------------------------------------------------

ALERT_TOPIC = "signage/v1/alert/city/bao-so-3"


def alert_payload(**changes: Any) -> bytes:
    data: dict[str, Any] = {
        "type": "alert",
        "id": "bao-so-3",
        "msg_type": "alert",
        "status": "actual",
        "sender": "hanoi-civil-defense",
        "sent": "2026-11-27T08:55:00+07:00",
        "expires": "2026-11-27T10:00:00+07:00",
        "severity": "severe",
        "urgency": "immediate",
        "headline": "Bão số 3 đổ bộ",
        "description": "Gió mạnh cấp 10, giật cấp 12.",
    }
    data.update(changes)
    return json.dumps(data, ensure_ascii=False).encode()


def now_showing(agent: Agent) -> tuple[str, str] | None:
    showing = agent.heartbeat().now_showing
    return (showing.item_id, showing.channel) if showing else None


def test_severe_alert_takes_the_screen_and_cancel_gives_it_back(
    agent: Agent, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, playlist(1, [text_item("a", "Lịch tiêm chủng", duration_s=600)]))
    publish(agent, alert_payload(), topic=ALERT_TOPIC)
    assert now_showing(agent) == ("bao-so-3", "alert")
    assert agent.heartbeat().alerts_active == ["bao-so-3"]
    assert events(caplog, "alert.started")[0]["severity"] == "severe"
    plays = [(e["item_id"], e["channel"], e["layout"]) for e in events(caplog, "playback.started")]
    assert plays == [("a", "commune", "fullscreen_text"), ("bao-so-3", "alert", "alert_full")]
    clock.advance(60)  # content does not rotate or prove play under the alert
    agent.tick()
    assert len(events(caplog, "playback.started")) == 2
    cancel = alert_payload(msg_type="cancel", sent="2026-11-27T09:00:30+07:00")
    publish(agent, cancel, topic=ALERT_TOPIC)
    assert events(caplog, "alert.ended")[0]["reason"] == "cancel"
    assert now_showing(agent) == ("a", "commune")  # the resumed content, not the alert
    assert events(caplog, "playback.started")[-1]["item_id"] == "a"
    assert agent.heartbeat().alerts_active == []


def test_alert_expiry_restores_content(
    agent: Agent, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, playlist(1, [text_item("a", "A", duration_s=600)]))
    publish(agent, alert_payload(expires="2026-11-27T09:05:00+07:00"), topic=ALERT_TOPIC)
    assert now_showing(agent) == ("bao-so-3", "alert")
    clock.advance(5 * 60)
    agent.tick()
    assert events(caplog, "alert.ended")[0]["reason"] == "expired"
    assert now_showing(agent) == ("a", "commune")


def test_minor_alert_is_a_banner_over_running_content(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, playlist(1, [text_item("a", "Nước sinh hoạt", duration_s=600)]))
    before = pygame.image.tobytes(agent.output.canvas, "RGB")
    publish(agent, alert_payload(severity="minor"), topic=ALERT_TOPIC)
    assert now_showing(agent) == ("a", "commune")  # the banner does not fill the screen
    assert events(caplog, "playback.started")[-1]["layout"] == "alert_banner"
    after = pygame.image.tobytes(agent.output.canvas, "RGB")
    assert after != before
    publish(agent, b"", topic=ALERT_TOPIC)  # deleted
    assert events(caplog, "alert.ended")[0]["reason"] == "deleted"
    assert pygame.image.tobytes(agent.output.canvas, "RGB") == before


@pytest.mark.parametrize(
    ("payload", "topic", "expected"),
    [
        (alert_payload(id="khac"), ALERT_TOPIC, ("content.rejected", "id")),
        (alert_payload(severity="catastrophic"), ALERT_TOPIC, ("content.rejected", "severity")),
        (
            alert_payload(expires="2026-11-27T08:00:00+07:00"),
            ALERT_TOPIC,
            ("content.rejected", "expires"),
        ),
        (alert_payload(msg_type="cancel"), ALERT_TOPIC, ("alert.ignored", None)),
        (alert_payload(status="test"), ALERT_TOPIC, ("alert.test", None)),
    ],
    ids=["id-mismatch", "unknown-severity", "expires-before-sent", "cancel-unknown", "test"],
)
def test_bad_or_inert_alerts_change_nothing(
    agent: Agent,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    topic: str,
    expected: tuple[str, str | None],
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, playlist(1, [text_item("a", "A", duration_s=600)]))
    frame = pygame.image.tobytes(agent.output.canvas, "RGB")
    publish(agent, payload, topic=topic)
    kind, path = expected
    found = events(caplog, kind)
    assert len(found) == 1
    if path is not None:
        assert path in [e["path"] for e in found[0]["errors"]]
    assert now_showing(agent) == ("a", "commune")
    assert pygame.image.tobytes(agent.output.canvas, "RGB") == frame


def test_out_of_order_update_is_ignored(agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, alert_payload(sent="2026-11-27T08:58:00+07:00"), topic=ALERT_TOPIC)
    publish(agent, alert_payload(msg_type="update", headline="Cũ hơn"), topic=ALERT_TOPIC)
    assert "older" in events(caplog, "alert.ignored")[0]["reason"]
    assert agent.alert_desk.book.active()[0].headline == "Bão số 3 đổ bộ"


def test_active_alert_survives_a_restart_without_broker(tmp_path: Path, clock: FakeClock) -> None:
    first = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    first.link = None
    publish(first, alert_payload(), topic=ALERT_TOPIC)
    again = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    again.link = None
    again.start()
    assert now_showing(again) == ("bao-so-3", "alert")
    clock.advance(3600)  # past its expiry while the board was off: not shown again
    third = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    third.link = None
    third.start()
    assert now_showing(third) is None


def test_exercise_is_marked_as_such() -> None:
    from agent.alert_slots import alert_fields
    from agent.validation import decode

    exercise = decode(alert_payload(status="exercise"), Alert)
    assert alert_fields(exercise)["label"] == "DIỄN TẬP"
    assert alert_fields(decode(alert_payload(), Alert))["label"] == "CẢNH BÁO"


def test_alert_file_in_the_inbox_is_a_local_alert_until_deleted(
    agent: Agent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "bao.json"
    path.write_bytes(alert_payload())
    agent.handle(InboxFile(path))
    agent.tick()
    assert now_showing(agent) == ("bao-so-3", "alert")
    agent.handle(InboxFile(path, deleted=True))
    agent.tick()
    assert events(caplog, "alert.ended")[0]["reason"] == "deleted"
    broken = tmp_path / "hong.json"
    broken.write_bytes(alert_payload(severity="rat-nang"))
    agent.handle(InboxFile(broken))
    assert "severity" in (tmp_path / "hong.json.error.txt").read_text(encoding="utf-8")


def test_characters_the_fonts_lack_are_reported_not_drawn_as_boxes(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, playlist(1, [text_item("mua", "Mưa to 🌧 chiều nay")]))
    warning = events(caplog, "content.warning")[0]
    assert warning["channel"] == "commune"
    assert warning["warnings"][0]["path"] == "items.0.fields.text"
    assert "🌧" in warning["warnings"][0]["message"]
    assert agent.heartbeat().display.missing_glyphs >= 1
    publish(agent, alert_payload(headline="Bão 🌀 số 3"), topic=ALERT_TOPIC)
    assert events(caplog, "content.warning")[1]["warnings"][0]["path"] == "headline"
    publish(agent, playlist(2, [text_item("ok", "Thông báo khẩn cấp: Ủy ban nhân dân")]))
    assert len(events(caplog, "content.warning")) == 2  # Vietnamese is fully covered


@pytest.mark.allow_traceback  # the failure is injected on purpose; its traceback is logged once
def test_a_failing_turn_is_counted_logged_once_and_never_stops_the_board(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("a bug in a turn's work")

    before = agent.errors_total
    assert not agent.guarded(broken)
    assert not agent.guarded(broken)
    assert agent.guarded(agent.tick)  # the next turn works again
    assert agent.errors_total == before + 2
    logged = [r for r in caplog.records if "error in" in r.getMessage() and r.exc_info]
    assert len(logged) == 1


def test_signals_reach_the_loop_through_its_queue(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP reloads the layouts in the loop's turn; SIGTERM stops the loop (exit 0).
    Each handler hands its message to a thread: it never puts on the queue itself."""
    watched = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    before = {signum: signal.getsignal(signum) for signum in watched}
    agent.install_signal_handlers()
    try:
        caplog.set_level(logging.INFO)
        os.kill(os.getpid(), signal.SIGHUP)
        reload = agent.queue.get(timeout=5)
        assert isinstance(reload, Reload)
        agent.handle(reload)
        assert "SIGHUP: reloading layouts" in caplog.text
        os.kill(os.getpid(), signal.SIGTERM)
        assert isinstance(agent.queue.get(timeout=5), Wake)
        assert "received SIGTERM: stopping" in caplog.text
        assert agent.exit_code == 0
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
