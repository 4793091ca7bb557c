"""An alert's picture (CAP `<resource>`, CONTRACT §6): inline (`derefUri`) or downloaded
(`uri` and its SHA-1 `<digest>`), beside the description in `alert_full` — the alert on
screen at once, its picture when it is ready, and a picture that cannot be shown
reported once while the alert shows without it. Through the core in-process, its real
fetcher, cache and renderer, and a real local HTTPS server."""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import queue
import ssl
import struct
import time
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pygame
import pytest

from agent import on_air
from agent.alert_desk import AlertDesk
from agent.alerts import AlertRotation
from agent.assets import AssetFailure, AssetReady
from agent.caches import AlertStore
from agent.core import Agent
from agent.link_messages import Received
from agent.messages import Alert, ImageRef, Sha1ImageRef
from agent.output import HeadlessOutput
from agent.validation import InvalidInput, decode
from display_layouts import samples, theme
from display_layouts.render import Renderer, Scene
from tests.cap_documents import cap_alert
from tests.feed_server import Route, feed_server, make_tls
from tests.support import ROOT
from tests.test_core import TZ, FakeClock, events, make_config

SIZE = (320, 180)
RED = (255, 0, 0)  # the test picture: not a colour alert_full itself uses
TOPIC = f"{ROOT}/alert/city/bao-so-3"
# alert_full's picture zone, [64, 40, 36, 26] percent of the screen grown over the
# instruction's room (these alerts have none) to [64, 40, 36, 48], before its padding.
PICTURE_BOX = pygame.Rect(204, 72, 116, 87)


def red_png(size: tuple[int, int] = (32, 18)) -> bytes:
    surface = pygame.Surface(size)
    surface.fill(RED)
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "png")
    return buffer.getvalue()


PICTURE_URI = "data:image/png;base64," + base64.b64encode(red_png()).decode()


def claiming(png: bytes, width: int, height: int) -> bytes:
    """A real PNG whose header claims another size (checksum fixed: only the size lies)."""
    ihdr = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


def inline(data: bytes, mime: str = "image/png") -> str:
    encoded = base64.b64encode(data).decode()
    return (
        f"<resourceDesc>Bản đồ</resourceDesc><mimeType>{mime}</mimeType>"
        f"<derefUri>{encoded}</derefUri>"
    )


def linked(url: str, digest: str) -> str:
    return (
        "<resourceDesc>Bản đồ đường đi của bão</resourceDesc><mimeType>image/png</mimeType>"
        f"<uri>{url}</uri><digest>{digest}</digest>"
    )


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Agent]:
    made = Agent(make_config(tmp_path), clock=FakeClock(), output=HeadlessOutput(SIZE))
    made.link = None
    yield made
    made.fetcher.stop()
    made.seq.close()


def publish(board: Agent, resource: str, identifier: str = "HN-PCTT-1") -> bytes:
    now = board.clock.now().astimezone(TZ)
    payload = cap_alert(identifier, now, expires=now + timedelta(hours=1), resource=resource)
    board.handle(Received(TOPIC, payload, retained=False))
    board.tick()
    return payload


def red_pixels(board: Agent) -> pygame.Rect | None:
    """Where the test picture is on the output (its bounding box), or None."""
    output = board.output
    assert isinstance(output, HeadlessOutput)
    mask = pygame.mask.from_threshold(output.canvas, RED, (1, 1, 1, 255))
    if mask.count() == 0:
        return None
    return mask.get_bounding_rects()[0].unionall(mask.get_bounding_rects())


def assert_picture_beside_the_text(board: Agent) -> None:
    found = red_pixels(board)
    assert found is not None, "no picture on screen"
    assert PICTURE_BOX.contains(found), found
    assert found.width * found.height > 1000, found


def test_an_inline_picture_shows_in_the_picture_zone_with_the_alert(
    board: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    publish(board, inline(red_png()))
    assert [e["alert_id"] for e in events(caplog, "alert.started")] == ["HN-PCTT-1"]
    assert_picture_beside_the_text(board)
    assert events(caplog, "content.warning") == []


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("garbage", b"this is not a picture at all", "image/png"),
        ("oversize", claiming(red_png(), 20_000, 20_000), "image/png"),
        ("truncated", red_png()[:40], "image/png"),
        ("a format the board does not show", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_an_unusable_inline_picture_costs_the_picture_only_and_is_said_once(
    board: Agent, caplog: pytest.LogCaptureFixture, name: str, data: bytes, mime: str
) -> None:
    caplog.set_level("INFO")
    payload = publish(board, inline(data, mime))
    assert len(events(caplog, "alert.started")) == 1, name
    assert board.alert_desk.active_ids() == ["HN-PCTT-1"]
    assert red_pixels(board) is None
    (warning,) = events(caplog, "content.warning")
    assert warning["channel"] == "alert"
    assert warning["warnings"][0]["path"] == "image"
    assert "HN-PCTT-1" in warning["warnings"][0]["message"]
    # The same bytes again (a retained replay): nothing new is said, nothing decoded.
    board.handle(Received(TOPIC, payload, retained=True))
    board.tick()
    assert len(events(caplog, "content.warning")) == 1
    assert len(events(caplog, "alert.started")) == 1


def test_an_image_resource_without_a_digest_is_not_fetched_and_is_said(
    board: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    resource = (
        "<resourceDesc>Bản đồ</resourceDesc><mimeType>image/png</mimeType>"
        "<uri>https://canhbao.example.vn/ban-do.png</uri>"
    )
    publish(board, resource)
    assert len(events(caplog, "alert.started")) == 1
    (warning,) = events(caplog, "content.warning")
    assert warning["warnings"][0]["path"] == "alert/info/resource[0]/digest"
    assert board.fetcher.pending == 0


@pytest.fixture
def https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local HTTPS server whose private CA the downloader trusts."""
    (tmp_path / "tls").mkdir()
    certificates = make_tls(tmp_path / "tls")
    download = importlib.import_module("agent.assets.download")
    trusting: ssl.SSLContext = certificates.client
    monkeypatch.setattr(download, "_tls_context", lambda: trusting)
    with feed_server(certificates.server) as server:
        yield server


def next_asset_report(board: Agent) -> Any:
    inbox: queue.Queue[Any] = board.fetcher.report
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        message = inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(message, AssetReady | AssetFailure):
            return message
    raise AssertionError("no report from the fetcher")


def test_a_downloaded_picture_appears_when_ready_the_alert_at_once(
    board: Agent, https: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    picture = red_png()
    https.routes["/ban-do.png"] = Route(picture, content_type="image/png")
    sha1 = hashlib.sha1(picture).hexdigest()
    publish(board, linked(https.url("/ban-do.png"), sha1.upper()))  # CAP allows either case
    assert len(events(caplog, "alert.started")) == 1
    assert red_pixels(board) is None  # the alert first, its text on screen at once
    report = next_asset_report(board)
    assert report == AssetReady(f"sha1-{sha1}")
    board.handle(report)
    board.tick()
    assert_picture_beside_the_text(board)
    assert events(caplog, "asset.failed") == []
    # The cancel ends the alert; the picture is no longer kept.
    now = board.clock.now().astimezone(TZ)
    cancel = cap_alert(
        "HN-PCTT-2", now, msg_type="Cancel", references=(("HN-PCTT-1", now),), resource=""
    )
    board.handle(Received(TOPIC, cancel, retained=False))
    board.tick()
    assert red_pixels(board) is None
    assert board.assets.get(Sha1ImageRef(url=https.url("/ban-do.png"), sha1=sha1)) is None


def test_a_picture_with_the_wrong_digest_is_never_shown_and_said_once(
    board: Agent, https: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    https.routes["/ban-do.png"] = Route(red_png(), content_type="image/png")
    board.fetcher.retry_min_s = board.fetcher.retry_max_s = 0.05  # retries come quickly
    publish(board, linked(https.url("/ban-do.png"), "0" * 40))
    report = next_asset_report(board)
    assert isinstance(report, AssetFailure)
    assert report.item_ids == ("HN-PCTT-1",)
    assert "SHA-1 mismatch" in report.message
    board.handle(report)
    https.wait_for(3)  # retried, quietly
    time.sleep(0.2)
    later = [m for m in list(board.fetcher.report.queue) if isinstance(m, AssetFailure)]
    assert later == []
    (failed,) = events(caplog, "asset.failed")
    assert failed["item_id"] == "HN-PCTT-1"
    board.tick()
    assert red_pixels(board) is None
    assert board.alert_desk.active_ids() == ["HN-PCTT-1"]  # the alert shows all the same


def test_an_unreachable_picture_is_said_once_and_the_alert_shows(
    board: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    publish(board, linked("https://127.0.0.1:9/ban-do.png", "1" * 40))
    report = next_asset_report(board)
    assert isinstance(report, AssetFailure)
    assert "unreachable" in report.message
    assert board.alert_desk.active_ids() == ["HN-PCTT-1"]


# --- the layout ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (800, 480), (320, 180)], ids=str)
def test_the_headline_stays_the_largest_text_beside_a_picture(size: tuple[int, int]) -> None:
    fields = dict(samples.text_notice("alert_full"))
    fields["image"] = PICTURE_URI
    scene = Scene("alert_full", fields, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    sizes = Renderer(size).fitted_sizes(scene)
    headline = sizes.pop("headline")
    assert all(headline > other for other in sizes.values()), (headline, sizes)


def _drawn(size: tuple[int, int], fields: dict[str, str]) -> pygame.Surface:
    surface = pygame.Surface(size)
    scene = Scene("alert_full", fields, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    Renderer(size).draw(surface, scene)
    return surface


def _count(surface: pygame.Surface, colour: tuple[int, int, int], box: pygame.Rect) -> int:
    return pygame.mask.from_threshold(surface.subsurface(box), colour, (40, 40, 40, 255)).count()


def test_the_description_takes_the_pictures_room_when_there_is_none() -> None:
    fields = dict(samples.text_notice("alert_full"), description=samples.BODY)
    beside = pygame.Rect(1300, 440, 600, 270)  # inside the picture zone at 1920×1080
    without = _drawn((1920, 1080), fields)
    assert _count(without, theme.TEXT, beside) > 500  # the description runs across
    fields["image"] = PICTURE_URI
    shown = _drawn((1920, 1080), fields)
    assert _count(shown, theme.TEXT, beside) == 0
    assert _count(shown, RED, beside) > 10_000


def test_the_banner_and_led_panels_show_no_picture() -> None:
    rotation = AlertRotation()
    rotation.update(samples.NOW, [json_alert(image=PICTURE_URI, severity="moderate")])
    frame = on_air.frame(samples.NOW, "b", rotation, None, set(), picture_ready=lambda _ref: True)
    assert frame.banner is not None
    assert "image" not in frame.banner.fields
    led = (128, 32)
    fields = dict(samples.text_notice("alert_full"), image=PICTURE_URI)
    assert _count(_drawn(led, fields), RED, pygame.Rect((0, 0), led)) == 0


# --- the JSON alert ----------------------------------------------------------------------


def json_alert(**fields: Any) -> Alert:
    now = samples.NOW
    data = {
        "type": "alert",
        "id": "bao-so-3",
        "msg_type": "alert",
        "status": "actual",
        "sender": "pctt-hanoi",
        "sent": now.isoformat(),
        "expires": (now + timedelta(hours=1)).isoformat(),
        "severity": "severe",
        "urgency": "immediate",
        "headline": "Bão số 3",
        "description": "Gió mạnh cấp 10.",
    } | fields
    return decode(json.dumps(data).encode(), Alert)


def test_a_json_alert_carries_a_picture_by_sha256_or_sha1() -> None:
    by_sha256 = json_alert(image={"url": "https://x.vn/a.png", "sha256": "a" * 64})
    assert isinstance(by_sha256.image, ImageRef)
    by_sha1 = json_alert(image={"url": "https://x.vn/a.png", "sha1": "b" * 40})
    assert isinstance(by_sha1.image, Sha1ImageRef)
    assert by_sha1.image.asset_name == "sha1-" + "b" * 40


@pytest.mark.parametrize(
    "image",
    [42, "https://x.vn/a.png", {"url": "https://x.vn/a.png", "sha1": "B" * 40}, {"url": "x"}],
)
def test_a_json_alert_with_a_malformed_picture_is_rejected_naming_it(image: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        json_alert(image=image)
    assert caught.value.errors[0].path.startswith("image")


def test_a_restarted_board_fetches_the_picture_of_a_cached_alert(tmp_path: Path) -> None:
    now = samples.NOW
    url, sha1 = "https://canhbao.example.vn/ban-do.png", "c" * 40
    payload = cap_alert("HN-1", now, expires=now + timedelta(hours=1), resource=linked(url, sha1))
    before = AlertDesk(AlertStore(tmp_path), lambda _message: None)
    before.on_payload("bao-so-3", payload, now)
    assert before.pictures_changed
    wanted = {f"sha1-{sha1}": (Sha1ImageRef(url=url, sha1=sha1), {"HN-1"})}
    assert before.remote_pictures() == wanted
    assert not before.pictures_changed  # asked once
    after = AlertDesk(AlertStore(tmp_path), lambda _message: None)
    after.load(now)
    assert after.remote_pictures() == wanted
    # An update without the picture: it is no longer wanted.
    update = cap_alert(
        "HN-2",
        now,
        msg_type="Update",
        references=(("HN-1", now),),
        expires=now + timedelta(hours=1),
    )
    after.on_payload("bao-so-3", update, now)
    assert after.pictures_changed
    assert after.remote_pictures() == {}
