"""How an alert looks (issue 12, Presentation): the headline is the largest text at
every size, the issuing authority, times and risk band are shown, and a new alert's
label band pulses for its first seconds, never faster than 3 Hz."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import json
import textwrap
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pygame
import pytest

from agent import on_air
from agent.alert_slots import EXERCISE_LABEL, LABELS, alert_fields
from agent.alerts import AlertRotation
from agent.messages import Alert, set_board_zone
from agent.output import HeadlessOutput
from agent.screen import Screen
from agent.validation import InvalidInput, decode
from display_layouts import samples, theme
from display_layouts.catalog import LayoutError
from display_layouts.coverage import undrawable
from display_layouts.fonts import Face, face
from display_layouts.loader import parse_layout
from display_layouts.render import Renderer, Scene

Color = tuple[int, int, int]

# LCDs from a 320×240 panel to 4K, portrait too, and the LED panels.
LCD_SIZES = [
    (320, 240),
    (480, 272),
    (640, 480),
    (800, 480),
    (1024, 600),
    (1280, 720),
    (1366, 768),
    (1920, 1080),
    (2560, 1440),
    (3840, 2160),
    (240, 320),
    (480, 800),
    (768, 1366),
    (1080, 1920),
    (2160, 3840),
]
LED_SIZES = [(64, 32), (128, 32), (256, 64), (192, 96)]
STORM_HEADLINE = (
    "Bão số 3 (Yagi) đổ bộ vào Hải Phòng – Quảng Ninh, gió giật cấp 16, mưa rất to trên diện rộng"
)
# What an alerting authority sends: short and long headlines and descriptions.
TEXTS: dict[str, Mapping[str, str]] = {
    "sample": samples.text_notice("alert_full"),
    "long headline, short description": {
        "headline": STORM_HEADLINE,
        "description": "Ở yên trong nhà.",
        "instruction": "Gọi 112.",
    },
    "long headline, long description": {
        "headline": STORM_HEADLINE,
        "description": samples.BODY,
        "instruction": "Không ra khỏi nhà. Chằng chống nhà cửa, cắt điện khi nước vào nhà.",
    },
    "short headline, no instruction": {"headline": "Lũ quét", "description": "Sơ tán ngay."},
}


def _fitted(size: tuple[int, int], fields: Mapping[str, str]) -> dict[str, int]:
    scene = Scene("alert_full", fields, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    return Renderer(size).fitted_sizes(scene)


@pytest.mark.parametrize("texts", sorted(TEXTS))
@pytest.mark.parametrize("size", LCD_SIZES + LED_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_headline_is_the_largest_text_of_alert_full(size: tuple[int, int], texts: str) -> None:
    sizes = _fitted(size, TEXTS[texts])
    headline = sizes.pop("headline")
    assert sizes, "the headline is not the only text"
    if size in LED_SIZES:  # one crisp pixel-font size may be all a panel has
        assert all(headline >= other for other in sizes.values()), (headline, sizes)
    else:
        assert all(headline > other for other in sizes.values()), (headline, sizes)


def _alert_frame(size: tuple[int, int], fields: Mapping[str, str]) -> pygame.Surface:
    surface = pygame.Surface(size)
    scene = Scene("alert_full", fields, samples.BOARD_NAME, samples.NOW, started=samples.NOW)
    Renderer(size).draw(surface, scene)
    return surface


def _glyph_heights(frame: pygame.Surface, top: float, bottom: float) -> list[int]:
    """Heights of the text-coloured blobs (one per letter) between two heights, in percent
    of the frame's height."""
    width, height = frame.get_size()
    band = pygame.Rect(0, round(height * top / 100), width, round(height * (bottom - top) / 100))
    mask = pygame.mask.from_threshold(frame.subsurface(band), theme.TEXT, (40, 40, 40, 255))
    return sorted(blob.height for blob in mask.get_bounding_rects() if blob.height > 2)


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (800, 480)], ids=str)
def test_a_long_headline_is_still_drawn_taller_than_a_short_description(
    size: tuple[int, int],
) -> None:
    # Capital H only: every letter of a zone is one blob of the same height.
    fields = {"headline": " ".join(["HHHH"] * 14), "description": "HH", "instruction": "HH"}
    frame = _alert_frame(size, fields)
    headline = _glyph_heights(frame, 12, 40)
    description = _glyph_heights(frame, 40, 66)
    assert headline
    assert description
    # The tallest blob: a letter (a cut headline's "…" adds three small dots).
    assert max(headline) > max(description), (headline, description)


# --- the risk level band -----------------------------------------------------------------


def _luminance(color: tuple[int, int, int]) -> float:
    """Relative luminance (WCAG 2.x)."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in color)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_ratio_is_computed_as_wcag_says() -> None:
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_each_risk_band_has_its_official_colour_and_readable_text(level: int) -> None:
    band, ink = theme.risk_band(level)
    color = theme.PALETTE[band]
    hue = {1: "light blue", 2: "light yellow", 3: "orange", 4: "red", 5: "purple"}[level]
    red, green, blue = color
    looks = {
        "light blue": blue > 200 and blue > red and green > 150,
        "light yellow": red > 230 and green > 220 and blue < 180,
        "orange": red > 230 and 100 < green < 180 and blue < 60,
        "red": red > 180 and green < 60 and blue < 60,
        "purple": red > 90 and blue > 120 and green < 80,
    }
    assert looks[hue], (level, color)
    assert contrast(color, theme.PALETTE[ink]) >= 4.5
    # Level 4's red must not melt into the alert's red background.
    assert color != theme.ALERT_BACKGROUND


def test_alert_texts_are_readable_on_every_colour_they_are_drawn_on() -> None:
    on = [
        (theme.ON_ACCENT, theme.ALERT_STRIPE),  # the label on its band
        (theme.ON_ACCENT, theme.PALETTE["pure_white"]),  # … while it pulses
        (theme.TEXT, theme.ALERT_BACKGROUND),  # headline, description, authority, times
        (theme.TEXT, theme.ALERT_PANEL),  # the instruction
    ]
    for ink, background in on:
        assert contrast(ink, background) >= 4.5, (ink, background)


def _share(frame: pygame.Surface, box: tuple[float, float, float, float], color: Color) -> float:
    """The share of the pixels in `box` (percent of the frame) that are `color`."""
    width, height = frame.get_size()
    x, y, w, h = box
    left, top = round(x * width / 100), round(y * height / 100)
    area = pygame.Rect(left, top, round(w * width / 100), round(h * height / 100))
    mask = pygame.mask.from_threshold(frame.subsurface(area), color, (1, 1, 1, 255))
    return float(mask.count()) / (area.width * area.height)


RISK_BOX = {"alert_full": (65, 1, 34, 10), "alert_banner": (1, 94, 22, 5)}


@pytest.mark.parametrize("layout", sorted(RISK_BOX))
@pytest.mark.parametrize("level", [1, 3, 4, 5])
def test_the_risk_band_is_drawn_in_its_colour_at_its_place(layout: str, level: int) -> None:
    band, ink = theme.risk_band(level)
    fields = {
        "headline": "Bão số 3",
        "description": "Gió giật cấp 12.",
        "risk": f"CẤP ĐỘ RỦI RO {level}",
        "risk_color": band,
        "risk_ink": ink,
    }
    size = (1920, 1080)
    frame = pygame.Surface(size)
    Renderer(size).draw(frame, Scene(layout, fields, samples.BOARD_NAME, samples.NOW))
    assert _share(frame, RISK_BOX[layout], theme.PALETTE[band]) > 0.5
    assert _share(frame, RISK_BOX[layout], theme.PALETTE[ink]) > 0.01, "no risk text"


@pytest.mark.parametrize("layout", sorted(RISK_BOX))
def test_without_a_risk_level_the_label_takes_its_room(layout: str) -> None:
    fields = {"headline": "Bão số 3", "description": "Gió giật cấp 12."}
    size = (1920, 1080)
    frame = pygame.Surface(size)
    Renderer(size).draw(frame, Scene(layout, fields, samples.BOARD_NAME, samples.NOW))
    assert _share(frame, RISK_BOX[layout], theme.ALERT_STRIPE) > 0.5


# --- the attention pulse -----------------------------------------------------------------

SIZE = (640, 360)
LABEL_POINT = (4, 4)  # inside the label band, clear of the centred label


def _pulse_scene(at_s: float) -> Scene:
    fields = samples.text_notice("alert_full")
    now = samples.NOW + timedelta(seconds=at_s)
    return Scene("alert_full", fields, samples.BOARD_NAME, now, started=samples.NOW)


def _band_at(renderer: Renderer, surface: pygame.Surface, at_s: float) -> Color:
    renderer.animate(surface, _pulse_scene(at_s))
    red, green, blue, _alpha = surface.get_at(LABEL_POINT)
    return red, green, blue


def test_the_label_band_of_a_new_alert_pulses_for_ten_seconds_then_stays() -> None:
    renderer, surface = Renderer(SIZE), pygame.Surface(SIZE)
    renderer.draw(surface, _pulse_scene(0.0))
    yellow, white = theme.ALERT_STRIPE, theme.PALETTE["pure_white"]
    assert surface.get_at(LABEL_POINT)[:3] == yellow
    seen = [_band_at(renderer, surface, t) for t in (0.25, 0.75, 1.25, 1.75, 9.75, 10.0, 30.0)]
    assert seen == [yellow, white, yellow, white, white, yellow, yellow]


def test_the_label_stays_readable_while_its_band_pulses() -> None:
    renderer, surface = Renderer(SIZE), pygame.Surface(SIZE)
    renderer.draw(surface, _pulse_scene(0.0))
    label = pygame.Rect(0, 0, round(SIZE[0] * 0.64), round(SIZE[1] * 0.12))
    ink_before = _count_in(surface, label, theme.ON_ACCENT)
    assert _band_at(renderer, surface, 0.5) == theme.PALETTE["pure_white"]
    assert ink_before > 0
    assert _count_in(surface, label, theme.ON_ACCENT) == ink_before


def _count_in(surface: pygame.Surface, rect: pygame.Rect, color: Color) -> int:
    return int(pygame.mask.from_threshold(surface.subsurface(rect), color, (1, 1, 1, 255)).count())


def test_the_pulse_never_changes_faster_than_3_hz_and_asks_for_no_frame_after_it() -> None:
    renderer, surface = Renderer(SIZE), pygame.Surface(SIZE)
    renderer.draw(surface, _pulse_scene(0.0))
    wakeups, at = [], 0.0
    while (due := renderer.refresh_at(_pulse_scene(at))) is not None:
        at = (due - samples.NOW).total_seconds()
        wakeups.append(at)
        renderer.animate(surface, _pulse_scene(at))
        assert len(wakeups) < 100
    assert wakeups[-1] == 10.0
    gaps = [later - earlier for earlier, later in zip([0.0, *wakeups], wakeups, strict=False)]
    # Two changes make one flash: at most 3 flashes a second is a change every 1/6 s.
    assert min(gaps) >= 1 / 6
    assert len(wakeups) == 20


def test_a_pulse_faster_than_3_hz_is_refused() -> None:
    layout = """\
        name: t
        purpose: test
        zones:
          - {name: band, type: rect, box: [0, 0, 100, 20], color: accent,
             pulse: {color: white, period: 0.25}}
          - {name: body, type: text, box: [0, 20, 100, 80], text: "{text}"}
        """
    with pytest.raises(LayoutError) as caught:
        parse_layout(textwrap.dedent(layout), "t.yaml", stem="t")
    assert "period" in "\n".join(caught.value.problems)


EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def _example_alert(name: str, **changes: object) -> Alert:
    document = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return decode(json.dumps(document | changes).encode(), Alert)


def test_the_board_redraws_at_the_pulse_rate_only_while_the_pulse_runs() -> None:
    """The core's turn, as agent/core.py runs it: rotation, frame, show or refresh, then
    sleep until the next deadline (the screen's, the rotation's)."""
    screen = Screen(HeadlessOutput(SIZE), Renderer(SIZE), on_error=lambda _message: None)
    rotation = AlertRotation()
    alert = _example_alert("alert-city-storm", sent="2026-11-27T14:05:00+07:00")
    start = samples.NOW
    drawn: list[float] = []
    now = start
    while now < start + timedelta(seconds=60):
        rotation.update(now, [alert])
        before = screen.frames
        frame = on_air.frame(now, samples.BOARD_NAME, rotation, None, set())
        if not screen.show(frame):
            screen.refresh(now)
        if screen.frames != before:
            drawn.append((now - start).total_seconds())
        deadlines = [t for t in (screen.refresh_at, rotation.next_wakeup()) if t is not None]
        now = min(deadlines)
    assert drawn[0] == 0.0  # the alert itself
    assert drawn[1:] == [0.5 * step for step in range(1, 21)]  # 1 Hz, for 10 s
    assert screen.refresh_at is None  # nothing more to draw: the board sleeps


# --- the alert's fields --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(samples.ALERT_EXAMPLES))
def test_the_gallery_alerts_are_what_the_agent_fills_from_the_examples(name: str) -> None:
    assert alert_fields(_example_alert(name)) == samples.ALERT_EXAMPLES[name]


def test_times_are_shown_in_the_board_time_zone() -> None:
    alert = _example_alert("alert-city-storm")  # sent 14:05+07:00, expires 06:00+07:00
    set_board_zone(ZoneInfo("Europe/Paris"))
    try:
        fields = alert_fields(alert)
    finally:
        set_board_zone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert fields["issued"] == "Phát lúc 08:05 27/11/2026"
    assert fields["expires"] == "Hết hiệu lực 00:00 28/11"


def test_an_alert_without_authority_or_risk_level_fills_neither() -> None:
    alert = _example_alert("alert-city-storm", sender_name=None, risk_level=None)
    fields = alert_fields(alert)
    assert not {"authority", "risk", "risk_color", "risk_ink"} & set(fields)
    assert fields["issued"] == "Phát lúc 14:05 27/11/2026"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"risk_level": 0}, "risk_level"),
        ({"risk_level": 6}, "risk_level"),
        ({"risk_level": "4"}, "risk_level"),  # strict: a number, not text
        ({"risk_level": 4.0}, "risk_level"),
        ({"risk_level": True}, "risk_level"),
        ({"sender_name": ""}, "sender_name"),
        ({"sender_name": "a" * 4001}, "sender_name"),
        ({"sender_name": 7}, "sender_name"),
    ],
)
def test_bad_authority_or_risk_level_is_refused_naming_the_field(
    changes: dict[str, object], path: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _example_alert("alert-city-storm", **changes)
    assert [error.path for error in caught.value.errors] == [path]


def test_every_word_the_board_adds_to_an_alert_is_drawable() -> None:
    alert = _example_alert("alert-city-storm")
    added = [f"CẤP ĐỘ RỦI RO {level}" for level in range(1, 6)]
    added += [alert_fields(alert)[slot] for slot in ("issued", "expires")]
    added += [*LABELS.values(), EXERCISE_LABEL]
    for text in added:
        assert undrawable(text) == "", text
        assert face(Face.PIXEL).drawable(text)[1] == 0, text  # the LED panels' font too


def test_smaller_than_must_name_another_text_zone() -> None:
    layout = """\
        name: t
        purpose: test
        zones:
          - {name: title, type: text, box: [0, 0, 100, 20], text: "{title}"}
          - {name: body, type: text, box: [0, 20, 100, 80], text: "{text}",
             smaller_than: titel}
        """
    with pytest.raises(LayoutError) as caught:
        parse_layout(textwrap.dedent(layout), "t.yaml", stem="t")
    assert "no other text zone 'titel'; did you mean 'title'?" in "\n".join(caught.value.problems)


def _pulse_runs(rotation: AlertRotation, now: datetime) -> bool:
    frame = on_air.frame(now, samples.BOARD_NAME, rotation, None, set())
    renderer, surface = Renderer(SIZE), pygame.Surface(SIZE)
    renderer.draw(surface, frame.base)
    return renderer.refresh_at(frame.base) is not None


def test_only_news_pulses_not_a_new_turn_of_a_rotation_or_an_update_people_cannot_see() -> None:
    rotation = AlertRotation(slot_s=15.0)
    storm = _example_alert("alert-city-storm")
    flood = _example_alert("alert-district-flood")
    start = samples.NOW
    rotation.update(start, [storm, flood])
    assert _pulse_runs(rotation, start)  # the first one: news
    turn = start + timedelta(seconds=15)
    rotation.update(turn, [storm, flood])
    assert rotation.full is not None
    assert rotation.full.since == turn
    assert _pulse_runs(rotation, turn)  # the second one, seen for the first time
    again = start + timedelta(seconds=30)
    rotation.update(again, [storm, flood])
    assert rotation.full is not None
    assert rotation.full.alert.id == storm.id
    assert not _pulse_runs(rotation, again)  # its second turn: not news
    resent = _example_alert("alert-city-storm", msg_type="update", sent="2026-11-27T14:30:00+07:00")
    at = again + timedelta(seconds=1)
    rotation.update(at, [resent, flood])
    assert not _pulse_runs(rotation, at)  # the same words again
    worse = _example_alert(
        "alert-city-storm", msg_type="update", headline="Bão số 3 mạnh thêm, giật cấp 15"
    )
    at += timedelta(seconds=1)
    rotation.update(at, [worse, flood])
    assert _pulse_runs(rotation, at)  # new words: news again
