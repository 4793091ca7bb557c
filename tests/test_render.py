"""The renderer (display_layouts.render): every layout, every board size, headless."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import base64
import dataclasses
import io
import struct
import unicodedata
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pygame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.messages import ImageRef
from display_layouts import theme
from display_layouts.catalog import BUILTIN_LAYOUTS, load_library
from display_layouts.image_check import image_size
from display_layouts.image_formats import decode_data_uri
from display_layouts.images import MAX_PIXELS, ImageCache, load
from display_layouts.render import Renderer, Scene
from display_layouts.sample_video import SAMPLE_CLIP, SAMPLE_VIDEOS, SampleClip
from display_layouts.zones.clock import format_time

SENTINEL = (255, 0, 255)
SIZES = [(1920, 1080), (1080, 1920), (1366, 768), (128, 32)]
HANOI = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 27, 14, 5, 33, 120_000, tzinfo=HANOI)  # a Friday
PHOTO_COLOR = (40, 160, 90)


def _png_uri(size: tuple[int, int] = (160, 90), color: tuple[int, int, int] = PHOTO_COLOR) -> str:
    image = pygame.Surface(size)
    image.fill(color)
    buffer = io.BytesIO()
    pygame.image.save(image, buffer, "image.png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


PHOTO = _png_uri()
BODY = (
    "Ủy ban nhân dân phường thông báo: do ảnh hưởng của bão số 3, từ 22 giờ đêm nay sẽ "
    "tạm ngừng cấp điện khu vực đường Nguyễn Trãi. Người dân chuẩn bị nước sinh hoạt."
)
FIELDS: dict[str, dict[str, str | SampleClip]] = {
    "fullscreen_text": {"title": "Thông báo khẩn cấp", "text": BODY},
    "headline": {
        "title": "Lịch tiêm chủng",
        "body": BODY,
        "image": PHOTO,
        "ticker": "Cảnh báo ngập lụt • Mất điện khu phố 3",
    },
    "image_caption": {"image": PHOTO, "caption": "Đường Nguyễn Trãi sau cải tạo"},
    "led_text": {"text": "Bão số 3"},
    "video": {"video": SAMPLE_CLIP, "caption": "Hướng dẫn phòng chống bão"},
    "alert_full": {
        "headline": "Cảnh báo ngập lụt",
        "description": "Nước dâng cao tại đường Nguyễn Trãi.",
        "instruction": "Không đi vào vùng ngập.",
    },
    "alert_banner": {"headline": "Mất điện từ 22:00", "description": "Bảo trì đường dây."},
    "idle": {},
}
# The colour the main text of each layout is drawn in.
TEXT_COLOR = dict.fromkeys(FIELDS, theme.TEXT) | {"led_text": theme.ACCENT}


def _scene(
    layout: str, fields: Mapping[str, str | ImageRef | SampleClip], now: datetime = NOW
) -> Scene:
    return Scene(layout=layout, fields=fields, board_name="Bảng tin phường Bến Nghé", now=now)


def _draw(
    scene: Scene, size: tuple[int, int] = (640, 360), renderer: Renderer | None = None
) -> pygame.Surface:
    surface = pygame.Surface(size)
    surface.fill(SENTINEL)
    (renderer or Renderer(size, videos=SAMPLE_VIDEOS)).draw(surface, scene)
    return surface


def _count(surface: pygame.Surface, color: tuple[int, int, int]) -> int:
    return int(pygame.mask.from_threshold(surface, color, (1, 1, 1, 255)).count())


def _pixels(surface: pygame.Surface) -> bytes:
    return pygame.image.tobytes(surface, "RGB")


@pytest.fixture(autouse=True)
def _no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    """The renderer must work without a display: any use of one fails the test."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the renderer touched pygame.display")

    for name in ("init", "set_mode", "get_surface", "flip", "update"):
        monkeypatch.setattr(pygame.display, name, refuse)


# --- every layout, every size -----------------------------------------------------------


def test_samples_cover_every_builtin_layout() -> None:
    assert set(FIELDS) == set(BUILTIN_LAYOUTS)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("layout", sorted(FIELDS))
def test_layout_paints_the_whole_frame_and_shows_text(layout: str, size: tuple[int, int]) -> None:
    frame = _draw(_scene(layout, FIELDS[layout]), size)
    assert _count(frame, SENTINEL) == 0, "some pixels were left unpainted"
    corners = [(0, 0), (size[0] - 1, 0), (0, size[1] - 1), (size[0] - 1, size[1] - 1)]
    if layout == "video":  # a clip is letterboxed in black, as films are: look inside it
        corners = [(size[0] // 2, size[1] // 3)]
    assert all(frame.get_at(corner)[:3] != (0, 0, 0) for corner in corners), "black frame"
    if layout == "video" and min(size) < theme.LED_UNIT:
        return  # LED panels show the clip alone (its caption would leave neither readable)
    assert _count(frame, TEXT_COLOR[layout]) > 0, "no text visible"


def test_background_is_the_theme_background() -> None:
    frame = _draw(_scene("fullscreen_text", {"text": "Bão số 3"}))
    assert frame.get_at((0, 0))[:3] == theme.BACKGROUND
    assert theme.BACKGROUND != (0, 0, 0)


def test_alert_full_is_red() -> None:
    frame = _draw(_scene("alert_full", FIELDS["alert_full"]), (1920, 1080))
    assert _count(frame, theme.ALERT_BACKGROUND) > 1920 * 1080 // 5


def test_image_caption_shows_the_picture() -> None:
    frame = _draw(_scene("image_caption", FIELDS["image_caption"]), (1920, 1080))
    assert frame.get_at((960, 400))[:3] == PHOTO_COLOR


def test_headline_shows_the_picture() -> None:
    frame = _draw(_scene("headline", FIELDS["headline"]), (1920, 1080))
    assert _count(frame, PHOTO_COLOR) > 10_000


# --- missing and broken content ---------------------------------------------------------

BROKEN_IMAGES = [
    "data:image/png;base64,AAAA",
    "data:image/png;base64,!!!not base64!!!",
    "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0garbage").decode(),
    "data:text/plain;base64,SGVsbG8=",
    "data:image/png,raw",
]


@pytest.mark.parametrize("uri", BROKEN_IMAGES)
@pytest.mark.parametrize("layout", ["image_caption", "headline"])
def test_broken_image_is_skipped(layout: str, uri: str) -> None:
    renderer = Renderer((640, 360))
    fields = {"image": uri, "caption": "Chú thích", "title": "Tiêu đề", "body": "Nội dung"}
    frame = _draw(_scene(layout, fields), renderer=renderer)
    assert _count(frame, SENTINEL) == 0
    assert _count(frame, theme.TEXT) > 0


def test_remote_image_not_in_cache_is_drawn_without() -> None:
    ref = ImageRef(url="https://example.org/a.png", sha256="0" * 64)
    frame = _draw(_scene("image_caption", {"image": ref, "caption": "Công viên"}))
    assert _count(frame, SENTINEL) == 0
    assert _count(frame, theme.TEXT) > 0


def test_image_caption_without_caption_shows_only_the_picture() -> None:
    frame = _draw(_scene("image_caption", {"image": PHOTO}))
    assert _count(frame, SENTINEL) == 0
    assert frame.get_at((320, 180))[:3] == PHOTO_COLOR


@pytest.mark.parametrize("layout", sorted(FIELDS))
def test_layout_with_no_fields_still_draws_something(layout: str) -> None:
    frame = _draw(_scene(layout, {}))
    assert _count(frame, SENTINEL) == 0
    assert _count(frame, theme.TEXT) + _count(frame, theme.ON_ACCENT) > 0


def test_scene_without_content_falls_back_to_idle() -> None:
    renderer = Renderer((640, 360))
    empty = _scene("image_caption", {"image": BROKEN_IMAGES[0]})
    assert _pixels(_draw(empty, renderer=renderer)) == _pixels(_draw(_scene("idle", {})))
    assert renderer.refresh_at(empty) is not None  # idle shows a clock


def test_unknown_layout_shows_its_text_fields() -> None:
    scene = _scene("no_such_layout", {"headline": "Nước sinh hoạt", "note": "Tạm ngừng cấp"})
    expected = _scene("fullscreen_text", {"title": "Nước sinh hoạt", "text": "Tạm ngừng cấp"})
    assert _pixels(_draw(scene)) == _pixels(_draw(expected))


def test_unknown_layout_without_text_shows_idle() -> None:
    scene = _scene("no_such_layout", {"image": PHOTO})
    assert _pixels(_draw(scene)) == _pixels(_draw(_scene("idle", {})))


def test_draws_onto_a_surface_of_another_size_than_announced() -> None:
    surface = pygame.Surface((320, 200))
    surface.fill(SENTINEL)
    Renderer((1920, 1080)).draw(surface, _scene("fullscreen_text", {"text": "Bão số 3"}))
    assert _count(surface, SENTINEL) == 0


# --- Vietnamese, fonts and missing glyphs -----------------------------------------------


def test_decomposed_text_renders_like_composed() -> None:
    composed = _scene("fullscreen_text", {"text": "Thông báo khẩn cấp"})
    decomposed = _scene(
        "fullscreen_text", {"text": unicodedata.normalize("NFD", "Thông báo khẩn cấp")}
    )
    assert _pixels(_draw(composed)) == _pixels(_draw(decomposed))


def test_missing_glyphs_stays_zero_for_vietnamese() -> None:
    renderer = Renderer((1920, 1080))
    for layout, fields in FIELDS.items():
        _draw(_scene(layout, fields), (1920, 1080), renderer)
    assert renderer.missing_glyphs == 0


def test_emoji_is_counted_and_not_drawn() -> None:
    renderer = Renderer((640, 360))
    with_emoji = _draw(_scene("fullscreen_text", {"text": "Bão số 3 🌀🌀"}), renderer=renderer)
    assert renderer.missing_glyphs == 2
    without = _draw(_scene("fullscreen_text", {"text": "Bão số 3 "}), renderer=renderer)
    assert renderer.missing_glyphs == 2
    assert _pixels(with_emoji) == _pixels(without)


def test_idle_shows_the_vietnamese_date() -> None:
    assert format_time(NOW, "%A, %d/%m/%Y") == "Thứ Sáu, 27/11/2026"
    assert format_time(NOW + timedelta(days=2), "%A, %d/%m/%Y") == "Chủ Nhật, 29/11/2026"


# --- refresh_at -------------------------------------------------------------------------


WITHOUT_TICKER = {"idle": {}, "headline": {"title": "Lịch tiêm chủng", "body": BODY}}


@pytest.mark.parametrize("layout", sorted(WITHOUT_TICKER))
def test_clock_layouts_refresh_at_the_next_minute(layout: str) -> None:
    renderer = Renderer((640, 360))
    fields = WITHOUT_TICKER[layout]
    expected = datetime(2026, 11, 27, 14, 6, tzinfo=HANOI)
    assert renderer.refresh_at(_scene(layout, fields)) == expected
    on_the_minute = _scene(layout, fields, now=datetime(2026, 11, 27, 14, 6, tzinfo=HANOI))
    assert renderer.refresh_at(on_the_minute) == datetime(2026, 11, 27, 14, 7, tzinfo=HANOI)


def test_a_running_ticker_refreshes_at_the_frame_rate() -> None:
    renderer = Renderer((640, 360), fps=25)
    refresh = renderer.refresh_at(_scene("headline", FIELDS["headline"]))
    assert refresh == NOW + timedelta(seconds=1 / 25)


def test_refresh_keeps_the_time_zone() -> None:
    now = datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    refresh = Renderer((640, 360)).refresh_at(_scene("idle", {}, now=now))
    assert refresh == datetime(2027, 1, 1, 0, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert refresh is not None
    assert refresh.tzinfo == now.tzinfo


@pytest.mark.parametrize("layout", ["fullscreen_text", "image_caption", "led_text"])
def test_static_layouts_never_refresh(layout: str) -> None:
    assert Renderer((640, 360)).refresh_at(_scene(layout, FIELDS[layout])) is None


def test_clock_changes_the_frame() -> None:
    renderer = Renderer((640, 360))
    now = _draw(_scene("idle", {}), renderer=renderer)
    later = _draw(_scene("idle", {}, now=NOW + timedelta(minutes=1)), renderer=renderer)
    assert _pixels(now) != _pixels(later)


# --- images -----------------------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def test_image_size_reads_png_headers_without_decoding() -> None:
    assert image_size(_png_header(100_000, 100_000)) == (100_000, 100_000)
    assert image_size(b"GIF89a") is None


def test_oversized_image_is_refused_before_decoding() -> None:
    assert MAX_PIXELS < 100_000 * 100_000
    assert load(_png_header(100_000, 100_000)) is None


def test_jpeg_images_decode() -> None:
    if not pygame.image.get_extended():
        pytest.skip("pygame built without JPEG support")
    image = pygame.Surface((64, 48))
    image.fill(PHOTO_COLOR)
    buffer = io.BytesIO()
    pygame.image.save(image, buffer, "image.jpg")
    assert image_size(buffer.getvalue()) == (64, 48)
    decoded = load(buffer.getvalue())
    assert decoded is not None
    assert decoded.get_size() == (64, 48)


def test_data_uri_decoding() -> None:
    assert decode_data_uri(PHOTO) is not None
    assert decode_data_uri("https://example.org/a.png") is None
    assert decode_data_uri("data:image/png;base64") is None


def test_image_cache_is_bounded_and_remembers_failures() -> None:
    cache = ImageCache(capacity=2)
    box = pygame.Rect(0, 0, 100, 100)
    uris = [_png_uri((10 + n, 10)) for n in range(4)]
    for uri in uris:
        assert cache.fitted(uri, box) is not None
    assert len(cache._decoded) == 2
    assert len(cache._scaled) == 2
    assert not cache.usable(BROKEN_IMAGES[0])
    assert not cache.usable(BROKEN_IMAGES[0])  # second time from the cache


def test_image_is_contained_and_centred() -> None:
    fitted = ImageCache().fitted(_png_uri((200, 100)), pygame.Rect(10, 10, 100, 100))
    assert fitted is not None
    image, target = fitted
    assert image.get_size() == (100, 50) == target.size
    assert target.center == (60, 60)


# --- properties -------------------------------------------------------------------------

field_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["Thông báo khẩn cấp", "😀" * 5, "W" * 500, "\t\n\n", "مرحبا", "a\u0301"]),
    st.builds(
        lambda s, n: (s * n)[:100_000], st.text(min_size=1, max_size=20), st.integers(1, 10_000)
    ),
)
field_value = st.one_of(field_text, st.sampled_from([PHOTO, *BROKEN_IMAGES]))
SLOT_NAMES = sorted(
    {slot.name for spec in BUILTIN_LAYOUTS.values() for slot in spec.slots}
    | {"headline", "description", "instruction", "label", "other"}
)


@settings(max_examples=50, deadline=None)
@given(
    layout=st.sampled_from([*FIELDS, "unknown"]),
    fields=st.dictionaries(st.sampled_from(SLOT_NAMES), field_value, max_size=6),
    board_name=st.text(max_size=80),
    size=st.sampled_from([*SIZES, (64, 32), (256, 64), (1, 1), (300, 40)]),
)
def test_any_scene_draws_a_full_frame_without_raising(
    layout: str, fields: dict[str, str], board_name: str, size: tuple[int, int]
) -> None:
    scene = Scene(layout=layout, fields=fields, board_name=board_name, now=NOW)
    renderer = Renderer(size)
    frame = _draw(scene, size, renderer)
    assert _count(frame, SENTINEL) == 0
    assert renderer.zone_errors == 0


# --- the layout engine behind it ----------------------------------------------------------


@pytest.mark.allow_traceback  # injects a painting fault on purpose
def test_a_failing_zone_costs_that_zone_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from display_layouts.zones.clock import ClockZone

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ClockZone, "paint", broken)
    renderer = Renderer((640, 360))
    frame = _draw(_scene("headline", FIELDS["headline"]), renderer=renderer)
    assert renderer.zone_errors == 1
    assert _count(frame, SENTINEL) == 0
    assert _count(frame, theme.TEXT) > 0


def test_the_panel_kind_can_be_told_instead_of_guessed() -> None:
    scene = _scene("led_text", {"text": "Bão số 3"})
    guessed = _draw(scene, (320, 180))
    told = _draw(scene, (320, 180), Renderer((320, 180), panel="led"))
    colours = set(zip(*[iter(_pixels(told))] * 3, strict=True))
    assert colours == {theme.BACKGROUND, theme.ACCENT}  # LED: no antialiased greys
    assert _pixels(guessed) != _pixels(told)


def test_extra_layouts_render_by_name(tmp_path: Path) -> None:
    (tmp_path / "banner_only.yaml").write_text(
        "name: banner_only\npurpose: test\nzones:\n"
        '  - {name: t, type: text, box: [0, 0, 100, 100], text: "{t}", color: accent}\n',
        encoding="utf-8",
    )
    renderer = Renderer((640, 360), library=load_library(tmp_path))
    frame = _draw(_scene("banner_only", {"t": "Bão số 3"}), renderer=renderer)
    assert _count(frame, theme.ACCENT) > 0


def test_a_scene_marked_builtin_is_drawn_with_the_shipped_layout(tmp_path: Path) -> None:
    """The fallback when a board's replacement of a reserved layout fails to draw."""
    (tmp_path / "idle.yaml").write_text(
        "name: idle\npurpose: test\nreserved: true\noverride: true\nbackground: accent\n"
        "zones:\n  - {name: t, type: text, box: [0, 0, 100, 100], text: '{board_name}'}\n",
        encoding="utf-8",
    )
    renderer = Renderer((640, 360), library=load_library(tmp_path))
    replaced = _draw(_scene("idle", {}), renderer=renderer)
    shipped = _draw(Scene("idle", {}, "Bảng tin", NOW, builtin=True), renderer=renderer)
    assert _count(replaced, theme.ACCENT) > 320 * 180
    assert _count(shipped, theme.BACKGROUND) > 320 * 180


@pytest.mark.allow_traceback  # injects a fault on purpose
def test_a_failing_zone_is_counted_at_every_frame_but_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from display_layouts.zones.ticker import TickerZone

    def broken(self: TickerZone, paint: object, rect: object) -> None:
        raise RuntimeError("ticker bug")

    monkeypatch.setattr(TickerZone, "paint", broken)
    renderer = Renderer((640, 360))
    surface = pygame.Surface((640, 360))
    scene = _scene("headline", FIELDS["headline"])
    renderer.draw(surface, scene)
    for step in range(1, 10):
        renderer.animate(surface, dataclasses.replace(scene, now=NOW + timedelta(seconds=step)))
    assert renderer.zone_errors == 10
    assert renderer.last_error == "zone 'ticker' (ticker): RuntimeError: ticker bug"
    assert len([r for r in caplog.records if r.exc_info]) == 1
