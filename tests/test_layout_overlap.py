"""Zones never overlap on screen: every built-in layout and every layout in the docs, in
each of its arrangements (the layout and every variant), at every board size, whichever
slots are filled, arranged as the renderer arranges them. And the load-time check that
promises it: it refuses what would overlap, naming the zones and the variant."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import base64
import io
import itertools
import re
import textwrap
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

import pygame
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from display_layouts import loader, templates
from display_layouts.canvas import Canvas, Panel
from display_layouts.catalog import LayoutError
from display_layouts.layout import Arrangement, Layout, Rect, arrange
from display_layouts.library import builtin_library
from display_layouts.loader import parse_layout
from display_layouts.paint import Context, Images
from display_layouts.render import Renderer, Scene
from display_layouts.spec import SlotKind
from display_layouts.zones.base import Zone
from display_layouts.zones.qr import QrZone

REPO = Path(__file__).resolve().parents[1]
SIZES = [(1920, 1080), (1080, 1920), (1366, 768), (128, 32), (256, 64)]
PANELS: list[Panel | None] = ["led", "lcd", None]
NOW = datetime(2026, 11, 27, 14, 5, tzinfo=timezone(timedelta(hours=7)))
# Exhaustive up to this many combinations of slot values per layout (alert_full: 2 ** 10).
MAX_COMBINATIONS = 1 << 14


def _png_uri() -> str:
    picture = pygame.Surface((16, 9))
    picture.fill((40, 160, 90))
    buffer = io.BytesIO()
    pygame.image.save(picture, buffer, "p.png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


PICTURE = _png_uri()
NOT_A_PICTURE = "data:image/png;base64,AAAAAAAA"  # filled, but nothing to draw
LONG_LINK = "https://x.vn/" + "a" * 4000  # too long for any QR code: the code draws nothing


def doc_layouts() -> list[tuple[str, str]]:
    """Every YAML layout in the docs (a ```yaml block with a `name:`), with where it is."""
    found = []
    for path in sorted((REPO / "docs").glob("*.md")):
        blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
        for number, block in enumerate(blocks):
            if re.search(r"^name:", block, re.MULTILINE):
                found.append((f"{path.name}#{number}", block))
    return found


def all_layouts() -> list[tuple[str, Layout]]:
    layouts = [(f"built-in {name}", layout) for name, layout in builtin_library().layouts.items()]
    for where, text in doc_layouts():
        layouts.append((where, parse_layout(text, where)))
    return layouts


LAYOUTS = all_layouts()


def test_the_docs_layouts_are_found() -> None:
    names = [layout.name for where, layout in LAYOUTS if not where.startswith("built-in")]
    assert "notice_qr" in names


# --- the property ----------------------------------------------------------------------------


def _values(layout: Layout, slot: str) -> list[str | None]:
    """What a slot may hold as far as arranging goes: empty, or each kind of filled."""
    kinds = {s.name: s for s in layout.spec.slots}
    spec = kinds[slot]
    if spec.kind is SlotKind.IMAGE:  # required or not, a picture may be missing
        return [None, PICTURE, NOT_A_PICTURE]
    encoded = any(
        isinstance(zone, QrZone) and slot in templates.slots(zone.data)
        for arrangement in layout.arrangements()
        for zone in arrangement.zones
    )
    filled: list[str | None] = ["Thông báo", LONG_LINK] if encoded else ["Thông báo"]
    return filled if spec.required else [None, *filled]


def scenes(layout: Layout) -> Iterator[Scene]:
    """Every combination of slot values (and of an empty or named board)."""
    slots = [slot.name for slot in layout.spec.slots]
    choices = [_values(layout, slot) for slot in slots]
    count = 2
    for options in choices:
        count *= len(options)
    assert count <= MAX_COMBINATIONS, f"{layout.name}: {count} combinations; sample them"
    for values in itertools.product(*choices):
        filled = {slot: value for slot, value in zip(slots, values, strict=True) if value}
        for board in ("", "Phường Phúc Xá"):
            yield Scene(layout.name, filled, board, NOW)


def placed(arrangement: Arrangement, context: Context) -> list[tuple[Zone, Rect]]:
    """The zones as Renderer._placed arranges them (its `shown`, without the font fitting
    that does not move rectangles)."""

    def shown(zone: Zone) -> bool:
        filled = all(context.filled(slot) for slot in zone.when_filled)
        return filled and zone.has_content(context)

    return arrange(arrangement, context.size, shown)


def _overlap(a: Rect, b: Rect) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(
        a[1], b[1]
    )


def overlaps(zones: list[tuple[Zone, Rect]]) -> list[str]:
    """Content zones that overlap, and decorations painted over a content zone before them."""
    found = []
    for position, (zone, rect) in enumerate(zones):
        for earlier, other in zones[:position]:
            if earlier.decoration or not _overlap(rect, other):
                continue
            what = "covers" if zone.decoration else "overlaps"
            found.append(f"{zone.name} {rect} {what} {earlier.name} {other}")
    return found


def problems_on_screen(
    layout: Layout, arrangements: list[Arrangement], sizes: list[tuple[int, int]] = SIZES
) -> list[str]:
    found = []
    images = Images(None)
    for arrangement, size, scene in itertools.product(arrangements, sizes, scenes(layout)):
        context = Context(scene, Canvas.of(size), images, 30)
        for problem in overlaps(placed(arrangement, context)):
            filled = sorted(name for name, value in scene.fields.items() if value)
            found.append(f"{size} filled {filled}: {problem}")
    return found


@pytest.mark.parametrize(("where", "layout"), LAYOUTS, ids=[where for where, _ in LAYOUTS])
def test_no_zones_overlap_in_any_arrangement_at_any_size(where: str, layout: Layout) -> None:
    # Every arrangement at every size, whether or not its `when` picks it there: stricter
    # than the canvases the sizes stand for, and no variant goes unchecked.
    found = problems_on_screen(layout, list(layout.arrangements()))
    assert not found, f"{where}: {len(found)} overlaps, e.g. {found[:3]}"


@pytest.mark.parametrize(("where", "layout"), LAYOUTS, ids=[where for where, _ in LAYOUTS])
def test_each_size_gets_the_arrangement_the_renderer_draws(where: str, layout: Layout) -> None:
    """The same rectangles as the renderer's own, for each size and kind of panel (which
    picks the variant), all slots filled: `placed` above is the renderer's arrangement."""
    fields = {
        slot.name: next(value for value in _values(layout, slot.name) if value)
        for slot in layout.spec.slots
    }
    scene = Scene(layout.name, fields, "Phường Phúc Xá", NOW)
    for size, panel in itertools.product(SIZES, PANELS):
        renderer = Renderer(size, library=builtin_library().with_layout(layout), panel=panel)
        canvas = Canvas.of(size, panel)
        context = Context(scene, canvas, Images(None), 30)
        arrangement = layout.arrangement(canvas)
        ours = [(zone.name, rect) for zone, rect in placed(arrangement, context)]
        theirs = [(zone.name, tuple(rect)) for zone, rect in renderer._placed(arrangement, context)]
        assert ours == theirs, (where, size, panel)


# --- the docs' example on LED panels, in pixels -----------------------------------------------


def docs_layout(name: str) -> Layout:
    return next(layout for where, layout in LAYOUTS if layout.name == name and "#" in where)


@pytest.mark.parametrize("size", [(128, 32), (256, 64)])
def test_notice_qr_body_stays_out_of_the_title_band_on_led_panels(size: tuple[int, int]) -> None:
    """The docs' example with a title and a notice: the title's row shows the title and
    nothing else, exactly as with the title alone (the body once grew into the hidden
    QR code's room, up over the title, and painted its text there)."""
    layout = docs_layout("notice_qr")
    renderer = Renderer(size, library=builtin_library().with_layout(layout), panel="led")
    band = pygame.Rect(0, 0, size[0], size[1] // 2)  # the LED variant's title row

    def title_row(fields: Mapping[str, str]) -> pygame.Surface:
        surface = pygame.Surface(size)
        renderer.draw(surface, Scene("notice_qr", fields, "Phường Phúc Xá", NOW))
        assert renderer.zone_errors == 0, renderer.last_error
        return surface.subsurface(band)

    def changed(a: pygame.Surface, b: pygame.Surface) -> int:
        points = itertools.product(range(band.width), range(band.height))
        return sum(a.get_at(point) != b.get_at(point) for point in points)

    title = {"title": "Lịch tiêm"}
    alone = title_row(title)
    assert changed(alone, pygame.Surface(band.size)) > 0  # the title shows
    with_body = title_row(title | {"body": "Trạm y tế phường tiêm vắc-xin sởi"})
    assert changed(with_body, alone) == 0, "the body painted over the title's row"


# --- the load-time check -----------------------------------------------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(LayoutError) as caught:
        parse_layout(textwrap.dedent(text), "my.yaml")
    return caught.value.problems


LED_ROWS = """\
name: t
purpose: test
zones:
  - {name: title, type: text, box: [0, 0, 100, 20], text: "{title}", optional: true}
  - {name: body, type: text, box: [0, 20, 60, 80], text: "{body}", takes_room_of: [title, side]}
  - {name: side, type: text, box: [60, 20, 40, 80], text: "{side}", optional: true}
variants:
  - when: {panel: led}
    zones:
      title: {box: [0, 0, 100, 50]}
      body: {box: [0, 50, 100, 50]%s}
      side: {hidden: true}
"""


def test_a_variant_hiding_a_zone_another_grows_into_is_refused() -> None:
    # Hidden, `side` gives its room: the body grows up over it, and over the title.
    assert problems(LED_ROWS % "") == [
        "my.yaml: variants.0: zone 'body': box: zone 'body' would overlap zone 'title' when "
        "it takes the room of 'side' (hidden in this variant) (line 11)"
    ]
    parse_layout(LED_ROWS % ", takes_room_of: [title]", "my.yaml")  # the fix the docs show


def test_a_zone_hidden_in_the_layout_gives_its_room_too() -> None:
    text = """\
        name: t
        purpose: test
        zones:
          - {name: title, type: text, box: [0, 0, 100, 20], text: "{title}", optional: true}
          - {name: old, type: text, box: [0, 10, 100, 30], text: "{old}", hidden: true}
          - {name: body, type: text, box: [0, 50, 100, 50], text: "{body}", takes_room_of: [old]}
        """
    assert problems(text) == [
        "my.yaml: zone 'body': box: zone 'body' would overlap zone 'title' when it takes the "
        "room of 'old' (hidden) (line 6)"
    ]


def test_two_zones_growing_into_one_room_are_refused() -> None:
    text = """\
        name: t
        purpose: test
        zones:
          - {name: a, type: text, box: [0, 0, 40, 100], text: "{a}", takes_room_of: [c]}
          - {name: c, type: text, box: [40, 0, 20, 50], text: "{c}", optional: true}
          - {name: b, type: text, box: [60, 0, 40, 100], text: "{b}", takes_room_of: [c]}
        """
    assert problems(text) == [
        "my.yaml: zone 'b': box: would overlap zone 'a' when zone 'b' takes the room of 'c' "
        "and zone 'a' takes the room of 'c' (line 6)"
    ]


BAND_AFTER = """\
name: t
purpose: test
zones:
  - {name: body, type: text, box: [0, 0, 100, 80], text: "{body}", takes_room_of: [ticker]}
  - {name: band, type: rect, box: [0, 80, 100, 20], color: accent%s}
  - {name: ticker, type: ticker, box: [0, 80, 100, 20], text: "{ticker}", optional: true}
"""


def test_a_rect_may_not_cover_a_zone_that_grew_under_it() -> None:
    assert problems(BAND_AFTER % "") == [
        "my.yaml: zone 'band': box: this rect would cover zone 'body', listed before it, when "
        "zone 'body' takes the room of 'ticker': list decorations before the zones they lie "
        "under (line 5)"
    ]
    # Drawn only with a ticker, the band never lies over a body grown into its room.
    parse_layout(BAND_AFTER % ", when_filled: [ticker]", "my.yaml")


def test_a_qr_code_may_draw_nothing_though_its_link_is_filled() -> None:
    text = """\
        name: t
        purpose: test
        zones:
          - {name: body, type: text, box: [0, 0, 64, 100], text: "{body}", takes_room_of: [code]}
          - {name: code, type: qr, box: [64, 0, 36, 80], data: "{link}", optional: true}
          - {name: hint, type: text, box: [64, 80, 36, 20], text: "Quét mã", when_filled: [link]}
        """
    assert problems(text) == [
        "my.yaml: zone 'hint': box: zone 'body' would overlap zone 'hint' when it takes the "
        "room of 'code' (a QR code draws nothing when its text is too long to encode) (line 6)"
    ]


# --- the check keeps its promise: what it accepts never overlaps on screen ---------------------

_TYPES = ["text", "text", "ticker", "qr", "image", "rect"]
_SPANS = [(start, width) for start in range(0, 100, 25) for width in range(25, 101 - start, 25)]


@st.composite
def random_layouts(draw: st.DrawFn) -> str:
    """A small layout on a grid of quarters: zones of any type, optional or not, hidden,
    shown only with some slots filled, taking each other's room; and an LED variant that
    moves and hides some of them."""
    count = draw(st.integers(2, 5))
    names = [f"z{i}" for i in range(count)]
    slots = [f"s{i}" for i in range(count)]
    zones = []
    for name, slot in zip(names, slots, strict=True):
        kind = draw(st.sampled_from(_TYPES))
        (x, width), (y, height) = draw(st.sampled_from(_SPANS)), draw(st.sampled_from(_SPANS))
        zone: dict[str, object] = {"name": name, "type": kind, "box": [x, y, width, height]}
        zone |= {
            "text": {"text": f"{{{slot}}}"},
            "ticker": {"text": f"{{{slot}}}"},
            "qr": {"data": f"{{{slot}}}"},
            "image": {"image": f"{{{slot}}}"},
            "rect": {"color": "accent"},
        }[kind]
        if kind == "text" and draw(st.booleans()):
            zone["default"] = "Mặc định"  # draws with its slot empty
        zone["optional"] = draw(st.booleans())
        zone["hidden"] = draw(st.integers(0, 3)) == 0
        zone["when_filled"] = draw(st.lists(st.sampled_from(slots), max_size=1, unique=True))
        others = [other for other in names if other != name]
        zone["takes_room_of"] = draw(st.lists(st.sampled_from(others), max_size=3, unique=True))
        zones.append(zone)
    changes: dict[str, dict[str, object]] = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=count, unique=True)):
        (x, width), (y, height) = draw(st.sampled_from(_SPANS)), draw(st.sampled_from(_SPANS))
        change: dict[str, object] = draw(
            st.sampled_from([{"hidden": True}, {"box": [x, y, width, height]}, {"hidden": False}])
        )
        changes[name] = change
    layout = {"name": "t", "purpose": "test", "zones": zones}
    if changes:
        layout["variants"] = [{"when": {"panel": "led"}, "zones": changes}]
    return yaml.safe_dump(layout, allow_unicode=True, sort_keys=False)


def _unchecked(text: str) -> Layout | None:
    """The layout as the renderer would draw it, had the check let it through."""
    with mock.patch.object(loader, "check_layout", return_value=[]):
        try:
            return parse_layout(text, "random.yaml")
        except LayoutError:
            return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_layouts())
def test_the_check_refuses_a_layout_exactly_when_it_would_overlap_on_screen(text: str) -> None:
    layout = _unchecked(text)
    assume(layout is not None)
    assert layout is not None
    found = problems_on_screen(layout, list(layout.arrangements()), [(640, 360), (128, 32)])
    refused = _refusals(text)
    if refused is None:
        assert not found, f"accepted, yet {found[:3]}\n{text}"
    elif all("overlap" in problem or "would cover" in problem for problem in refused):
        # Refused for overlaps alone: never for one that cannot happen on screen.
        assert found, f"refused, yet nothing overlaps at any size: {refused}\n{text}"


def _refusals(text: str) -> list[str] | None:
    try:
        parse_layout(text, "random.yaml")
    except LayoutError as refused:
        return refused.problems
    return None
