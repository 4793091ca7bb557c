"""Zone types as drawn by the renderer: text, ticker, clock, image, qr, rect; animation
and the static layer; nothing ever drawn outside its zone."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import base64
import hashlib
import io
import textwrap
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pygame
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.messages import ImageRef
from display_layouts import theme
from display_layouts.image_formats import RemoteImage
from display_layouts.layout import place
from display_layouts.library import LayoutLibrary, builtin_library
from display_layouts.loader import parse_layout
from display_layouts.render import Renderer, Scene
from display_layouts.samples import NOW
from display_layouts.zones.clock import format_time

SIZE = (640, 360)
NAVY = theme.BACKGROUND
GREEN = (40, 160, 90)


def library(zones: str, **top: Any) -> LayoutLibrary:
    head = {"name": "t", "purpose": "test", **top}
    text = "".join(f"{key}: {value}\n" for key, value in head.items())
    text += "zones:\n" + textwrap.indent(textwrap.dedent(zones), "  ")
    return builtin_library().with_layout(parse_layout(text, "t.yaml"))


def scene(fields: Mapping[str, Any], now: datetime = NOW, started: datetime | None = NOW) -> Scene:
    return Scene("t", fields, "Bảng tin", now, started=started)


def draw(renderer: Renderer, shown: Scene, size: tuple[int, int] = SIZE) -> pygame.Surface:
    surface = pygame.Surface(size)
    surface.fill((255, 0, 255))
    renderer.draw(surface, shown)
    assert renderer.zone_errors == 0
    return surface


def pixels(surface: pygame.Surface, rect: pygame.Rect | None = None) -> bytes:
    area = surface if rect is None else surface.subsurface(rect)
    return pygame.image.tobytes(area, "RGB")


def count(surface: pygame.Surface, color: tuple[int, int, int]) -> int:
    return int(pygame.mask.from_threshold(surface, color, (1, 1, 1, 255)).count())


def untouched_outside(surface: pygame.Surface, rect: pygame.Rect) -> bool:
    probe = surface.copy()
    probe.fill(NAVY, rect)
    blank = pygame.Surface(surface.get_size())
    blank.fill(NAVY)
    return pixels(probe) == pixels(blank)


def png_uri(size: tuple[int, int], color: tuple[int, int, int] = GREEN) -> str:
    image = pygame.Surface(size)
    image.fill(color)
    buffer = io.BytesIO()
    pygame.image.save(image, buffer, "x.png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


TEXT_ZONE = '- {name: body, type: text, box: [10, 10, 80, 80], text: "{body}", size: [5, 30]}\n'
TICKER = """\
- {name: band, type: rect, box: [0, 80, 100, 20], color: accent}
- {name: run, type: ticker, box: [0, 80, 100, 20], text: "{news}", color: ink, speed: 100}
"""


# --- text -------------------------------------------------------------------------------


def test_text_zone_shows_its_slot_and_default() -> None:
    renderer = Renderer(SIZE, library=library(TEXT_ZONE.replace("}\n", ", default: Xin chào}\n")))
    with_text = draw(renderer, scene({"body": "Mất điện"}))
    with_default = draw(renderer, scene({"body": " "}))
    assert count(with_text, theme.TEXT) > 0
    assert count(with_default, theme.TEXT) > 0
    assert pixels(with_text) != pixels(with_default)


def test_board_name_is_a_variable_not_a_slot() -> None:
    lib = library(
        '- {name: n, type: text, box: [0, 0, 100, 50], text: "{board_name}"}\n'
        '- {name: b, type: text, box: [0, 50, 100, 50], text: "{body}"}\n'
    )
    layout = lib.get("t")
    assert layout is not None
    assert [s.name for s in layout.spec.slots] == ["body"]
    assert count(draw(Renderer(SIZE, library=lib), scene({"body": "x"})), theme.TEXT) > 0


def test_long_text_scrolls_when_the_zone_says_so() -> None:
    zone = '- {name: t, type: text, box: [0, 0, 100, 100], text: "{body}", overflow: scroll}\n'
    renderer = Renderer((128, 32), library=library(zone))
    assert renderer.refresh_at(scene({"body": "Bão số 3"})) is None
    long = scene({"body": "Ủy ban nhân dân phường thông báo lịch tiêm chủng " * 3})
    assert renderer.refresh_at(long) == NOW + timedelta(seconds=1 / 30)
    first = draw(renderer, long, (128, 32))
    later = draw(renderer, scene(long.fields, now=NOW + timedelta(seconds=2)), (128, 32))
    assert pixels(first) != pixels(later)


def test_a_missing_zone_gives_its_room_to_its_neighbour() -> None:
    zones = """\
    - {name: body, type: text, box: [0, 0, 50, 100], text: "{body}", takes_room_of: [pic],
       size: [5, 40], align: center}
    - {name: pic, type: image, box: [50, 0, 50, 100], image: "{image}", optional: true}
    """
    renderer = Renderer(SIZE, library=library(zones))
    text = "Nước sinh hoạt"
    alone = draw(renderer, scene({"body": text}))
    beside = draw(renderer, scene({"body": text, "image": png_uri((50, 50))}))
    assert count(beside, GREEN) > 0
    right_half = pygame.Rect(320, 0, 320, 360)
    assert count(alone.subsurface(right_half), theme.TEXT) > 0  # the text spread over it
    assert count(beside.subsurface(right_half), theme.TEXT) == 0


def test_when_filled_hides_a_decoration() -> None:
    zones = """\
    - {name: band, type: rect, box: [0, 0, 100, 20], color: accent, when_filled: [title]}
    - {name: title, type: text, box: [0, 0, 100, 20], text: "{title}", optional: true}
    - {name: body, type: text, box: [0, 20, 100, 80], text: "{body}"}
    """
    renderer = Renderer(SIZE, library=library(zones))
    assert count(draw(renderer, scene({"body": "x"})), theme.ACCENT) == 0
    assert count(draw(renderer, scene({"body": "x", "title": "Tiêu đề"})), theme.ACCENT) > 0


# --- ticker, animation and the static layer ----------------------------------------------


def test_ticker_moves_at_its_speed_whatever_the_frame_rate() -> None:
    lib = library(TICKER)
    news = {"news": "Cảnh báo ngập lụt • Mất điện khu phố 3 • Lịch tiêm chủng"}
    at_rest = draw(Renderer(SIZE, library=lib, fps=30), scene(news))
    one_second = scene(news, now=NOW + timedelta(seconds=1))
    slow = draw(Renderer(SIZE, library=lib, fps=10), one_second)
    fast = draw(Renderer(SIZE, library=lib, fps=60), one_second)
    assert pixels(slow) == pixels(fast)
    band = pygame.Rect(place((0, 80, 100, 20), SIZE))
    # 100 pixels per second: after one second the band shows what was 100 pixels right.
    moved = slow.subsurface(band.x, band.y, band.width - 100, band.height)
    before = at_rest.subsurface(band.x + 100, band.y, band.width - 100, band.height)
    assert pixels(moved) == pixels(before)


def test_started_none_means_the_ticker_starts_now() -> None:
    renderer = Renderer(SIZE, library=library(TICKER))
    news = {"news": "Cảnh báo ngập lụt"}
    assert pixels(draw(renderer, scene(news, started=None))) == pixels(draw(renderer, scene(news)))


def test_animate_repaints_only_the_ticker_and_matches_a_full_draw() -> None:
    renderer = Renderer(SIZE, library=library(TEXT_ZONE.replace("80, 80", "80, 60") + TICKER))
    fields = {"body": "Thông báo", "news": "Cảnh báo ngập lụt • Mất điện khu phố 3"}
    surface = draw(renderer, scene(fields))
    static = surface.copy()
    later = scene(fields, now=NOW + timedelta(milliseconds=500))
    dirty = renderer.animate(surface, later)
    band = pygame.Rect(place((0, 80, 100, 20), SIZE))
    assert dirty == [band]
    assert pixels(surface) != pixels(static)
    outside = pygame.Rect(0, 0, SIZE[0], band.y)
    assert pixels(surface, outside) == pixels(static, outside)
    assert pixels(surface) == pixels(draw(Renderer(SIZE, library=renderer.library), later))


def test_a_static_frame_never_needs_repainting() -> None:
    renderer = Renderer(SIZE, library=library(TEXT_ZONE))
    shown = scene({"body": "Bão số 3"})
    surface = draw(renderer, shown)
    assert renderer.refresh_at(shown) is None
    assert renderer.animate(surface, scene(shown.fields, now=NOW + timedelta(hours=1))) == []


def test_animate_draws_a_new_scene_whole() -> None:
    renderer = Renderer(SIZE, library=library(TEXT_ZONE))
    surface = draw(renderer, scene({"body": "Bão số 3"}))
    assert renderer.animate(surface, scene({"body": "Mất điện"})) == [surface.get_rect()]
    other = pygame.Surface(SIZE)
    assert renderer.animate(other, scene({"body": "Mất điện"})) == [other.get_rect()]


def test_a_finished_download_redraws_the_picture() -> None:
    path: list[Path] = []
    lib = library('- {name: p, type: image, box: [0, 0, 100, 100], image: "{image}"}\n')
    renderer = Renderer(SIZE, library=lib, images=lambda ref: path[0] if path else None)
    ref = ImageRef(url="https://example.org/a.png", sha256="0" * 64)
    surface = draw(renderer, scene({"image": ref}))
    assert count(surface, GREEN) == 0  # not downloaded yet: the board shows idle
    path.append(_file(png_uri((64, 36))))
    assert renderer.animate(surface, scene({"image": ref})) == [surface.get_rect()]
    assert count(surface, GREEN) > 0


def _file(uri: str) -> Path:
    data = base64.b64decode(uri.partition(",")[2])
    target = Path(os.environ.get("TMPDIR", "/tmp")) / f"img-{hashlib.sha256(data).hexdigest()}"
    target.write_bytes(data)
    return target


# --- clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("%H:%M", datetime(2026, 11, 27, 14, 6, tzinfo=NOW.tzinfo)),
        ("%H:%M:%S", datetime(2026, 11, 27, 14, 5, 34, tzinfo=NOW.tzinfo)),
        ("%A %d/%m/%Y", datetime(2026, 11, 28, tzinfo=NOW.tzinfo)),
        ("Hà Nội", None),
    ],
)
def test_clock_refreshes_when_its_text_changes(fmt: str, expected: datetime | None) -> None:
    lib = library(
        f'- {{name: c, type: clock, box: [0, 0, 100, 50], format: "{fmt}"}}\n'
        '- {name: b, type: text, box: [0, 50, 100, 50], text: "{body}"}\n'
    )
    assert Renderer(SIZE, library=lib).refresh_at(scene({"body": "x"})) == expected


def test_clock_formats_in_vietnamese_and_other_time_zones() -> None:
    assert format_time(NOW, "%a %H:%M %p") == "T6 14:05 CH"
    assert format_time(NOW, "100%% %S") == "100% 33"
    lib = library(
        "- {name: c, type: clock, box: [0, 0, 100, 50], timezone: Europe/Paris}\n"
        '- {name: b, type: text, box: [0, 50, 100, 50], text: "{body}"}\n'
    )
    hanoi = library(
        "- {name: c, type: clock, box: [0, 0, 100, 50]}\n"
        '- {name: b, type: text, box: [0, 50, 100, 50], text: "{body}"}\n'
    )
    fields = {"body": "x"}
    paris = draw(Renderer(SIZE, library=lib), scene(fields))
    assert pixels(paris) != pixels(draw(Renderer(SIZE, library=hanoi), scene(fields)))


@pytest.mark.parametrize(
    ("setting", "problem"),
    [("format: '%Q'", "unknown code %Q"), ("timezone: Mars/Base", "unknown time zone")],
)
def test_bad_clock_settings_are_rejected(setting: str, problem: str) -> None:
    with pytest.raises(Exception, match=problem):
        library(f"- {{name: c, type: clock, box: [0, 0, 100, 100], {setting}}}\n", reserved="true")


def test_a_clock_is_repainted_only_when_its_minute_changes() -> None:
    lib = library(
        "- {name: c, type: clock, box: [0, 0, 100, 50]}\n"
        '- {name: b, type: text, box: [0, 50, 100, 50], text: "{body}"}\n'
    )
    renderer = Renderer(SIZE, library=lib)
    fields = {"body": "x"}
    surface = draw(renderer, scene(fields))
    assert renderer.animate(surface, scene(fields, now=NOW + timedelta(seconds=5))) == []
    minute = datetime(2026, 11, 27, 14, 6, tzinfo=NOW.tzinfo)
    assert len(renderer.animate(surface, scene(fields, now=minute))) == 1


# --- image ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fit", "fills"), [("contain", False), ("cover", True)])
def test_image_contain_and_cover(fit: str, fills: bool) -> None:
    lib = library(
        f'- {{name: p, type: image, box: [0, 0, 50, 100], image: "{{image}}", fit: {fit}}}\n'
    )
    surface = draw(Renderer(SIZE, library=lib), scene({"image": png_uri((400, 100))}))
    zone = pygame.Rect(0, 0, 320, 360)
    assert (count(surface.subsurface(zone), GREEN) == zone.width * zone.height) is fills
    assert untouched_outside(surface, zone)


def test_downloaded_image_comes_from_the_image_source(tmp_path: Path) -> None:
    file = tmp_path / "a.png"
    file.write_bytes(base64.b64decode(png_uri((64, 36)).partition(",")[2]))
    asked: list[RemoteImage] = []

    def source(ref: RemoteImage) -> Path:
        asked.append(ref)
        return file

    lib = library('- {name: p, type: image, box: [0, 0, 100, 100], image: "{image}"}\n')
    ref = ImageRef(url="https://example.org/a.png", sha256="a" * 64)
    surface = draw(Renderer(SIZE, library=lib, images=source), scene({"image": ref}))
    assert asked
    assert asked[0] == ref
    assert count(surface, GREEN) > 100_000


def test_a_failing_image_source_costs_the_picture_only() -> None:
    def broken(ref: RemoteImage) -> Path:
        raise OSError("disk gone")

    lib = library(TEXT_ZONE + '- {name: p, type: image, box: [0, 90, 10, 10], image: "{image}"}\n')
    ref = ImageRef(url="https://example.org/a.png", sha256="b" * 64)
    surface = draw(Renderer(SIZE, library=lib, images=broken), scene({"body": "x", "image": ref}))
    assert count(surface, theme.TEXT) > 0


# --- qr ---------------------------------------------------------------------------------

QR = '- {name: q, type: qr, box: [0, 0, 100, 100], data: "{link}"}\n'


def test_qr_code_is_crisp_and_has_its_quiet_zone() -> None:
    link = "https://phucxa.hoankiem.hanoi.gov.vn"
    surface = draw(Renderer(SIZE, library=library(QR)), scene({"link": link}))
    modules = len(segno.make_qr(link, error="m", boost_error=False).matrix) + 8
    scale = 360 // modules
    colours = {surface.get_at((x, y))[:3] for x in range(640) for y in range(0, 360, 7)}
    assert colours == {NAVY, theme.ON_ACCENT, (255, 255, 255)}  # no blur, no grey
    square = pygame.Rect(0, 0, modules * scale, modules * scale)
    square.center = (320, 180)
    assert surface.get_at(square.topleft)[:3] == (255, 255, 255)
    dark = surface.get_at((square.x + 4 * scale, square.y + 4 * scale))[:3]
    assert dark == theme.ON_ACCENT  # the finder pattern's corner


@pytest.mark.parametrize("link", ["x" * 5000, "\ud800"])
def test_unencodable_qr_data_draws_nothing(link: str) -> None:
    lib = library(QR, reserved="true")
    surface = draw(Renderer(SIZE, library=lib), scene({"link": link}))
    assert count(surface, NAVY) == SIZE[0] * SIZE[1]


def test_qr_too_small_for_its_zone_draws_nothing() -> None:
    surface = draw(
        Renderer((20, 20), library=library(QR)), scene({"link": "https://x.vn"}), (20, 20)
    )
    assert count(surface, theme.ON_ACCENT) == 0


# --- overlay ----------------------------------------------------------------------------


def test_alert_banner_overlays_the_running_content() -> None:
    renderer = Renderer((1920, 1080))
    surface = pygame.Surface((1920, 1080))
    surface.fill(GREEN)
    alert = Scene("alert_banner", {"headline": "Mất điện", "description": "Bảo trì"}, "B", NOW)
    band = renderer.draw_overlay(surface, alert)
    assert band == pygame.Rect(0, 864, 1920, 216)
    assert count(surface, GREEN) == 1920 * 864  # everything above the band is untouched
    assert count(surface, theme.ALERT_BACKGROUND) > 0


# --- nothing outside its zone, whatever the input -----------------------------------------

HOSTILE = [
    "W" * 500,
    "😀👨‍👩‍👧🇻🇳",
    "مرحبا بالعالم שלום",
    "a\u0302\u0309\u0301\u0323" * 30,
    "\x00\x07\x1b\u202e\u200b",
    "Thông báo khẩn cấp\n\n\tỦy ban",
]
texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(HOSTILE),
    st.builds(lambda s, n: (s * n)[:100_000], st.sampled_from(HOSTILE), st.integers(1, 5000)),
)
ZONE_SETTINGS = {
    "text": 'text: "{v}", size: [1, 100]',
    "scroll": 'text: "{v}", overflow: scroll',
    "ticker": 'text: "{v}"',
    "qr": 'data: "{v}"',
    "clock": 'format: "%A %H:%M:%S"',
}


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(sorted(ZONE_SETTINGS)),
    box=st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 40), st.integers(1, 40)),
    value=texts,
    size=st.sampled_from([(640, 360), (128, 32), (64, 32), (300, 40)]),
    elapsed=st.floats(0, 10_000),
)
def test_no_zone_draws_outside_itself(
    kind: str, box: tuple[int, int, int, int], value: str, size: tuple[int, int], elapsed: float
) -> None:
    zone_type = "text" if kind == "scroll" else kind
    settings_ = ZONE_SETTINGS[kind]
    zone = f"- {{name: z, type: {zone_type}, box: {list(box)}, {settings_}, optional: true}}\n"
    renderer = Renderer(size, library=library(zone, reserved="true"))
    shown = scene({"v": value}, now=NOW + timedelta(seconds=elapsed))
    surface = pygame.Surface(size)
    renderer.draw(surface, shown)
    renderer.animate(surface, scene({"v": value}, now=shown.now + timedelta(seconds=1)))
    assert renderer.zone_errors == 0
    assert untouched_outside(surface, pygame.Rect(place(box, size)))
