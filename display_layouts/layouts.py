"""How each built-in layout arranges its slots on a frame.

Every function paints the whole frame (background first) and draws whatever slots hold
something usable; a missing optional slot gives its room to the others. All geometry is
a share of the canvas (see theme.Metrics), so one design serves every board size; on a
compact canvas (an LED panel) decorations go and text keeps a legible minimum size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import pygame

from display_layouts import theme
from display_layouts.canvas import Frame
from display_layouts.fonts import Face
from display_layouts.text import MIN_FONT_SIZE, Align, Color, VAlign, clean

# Slot values as the renderer receives them: text, a data: URI, or an ImageRef (any
# other object) that the renderer cannot draw yet.
Fields = Mapping[str, object]
LayoutDrawer = Callable[[Frame, Fields, str, datetime], None]

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
ALERT_LABEL = "CẢNH BÁO"


def text_field(fields: Fields, name: str) -> str | None:
    """The slot's text, or None if it is absent, blank, or not text at all."""
    value = fields.get(name)
    if not isinstance(value, str) or is_data_uri(value) or not clean(value).strip():
        return None
    return value


def image_field(fields: Fields, name: str) -> str | None:
    """The slot's `data:` URI; remote images (ImageRef) are not drawable here."""
    value = fields.get(name)
    return value if isinstance(value, str) and is_data_uri(value) else None


def is_data_uri(value: str) -> bool:
    return value.startswith("data:")


def clock_text(now: datetime) -> str:
    return f"{now:%H:%M}"


def date_text(now: datetime) -> str:
    """Vietnamese date as people write it: "Thứ Sáu, 27/11/2026"."""
    return f"{WEEKDAYS[now.weekday()]}, {now:%d/%m/%Y}"


# --- geometry ---------------------------------------------------------------------------


def _inset(rect: pygame.Rect, dx: int, dy: int) -> pygame.Rect:
    return rect.inflate(-2 * dx, -2 * dy)


def _split_top(rect: pygame.Rect, height: int) -> tuple[pygame.Rect, pygame.Rect]:
    height = max(0, min(height, rect.height))
    top = pygame.Rect(rect.x, rect.y, rect.width, height)
    return top, pygame.Rect(rect.x, top.bottom, rect.width, rect.height - height)


def _split_bottom(rect: pygame.Rect, height: int) -> tuple[pygame.Rect, pygame.Rect]:
    rest, bottom = _split_top(rect, rect.height - height)
    return rest, bottom


def _rows(rect: pygame.Rect, shares: tuple[int, ...]) -> list[pygame.Rect]:
    """Consecutive strips of `rect` from the top, sized in proportion to `shares`."""
    total, y, strips = sum(shares), rect.y, []
    for share in shares:
        height = round(rect.height * share / total)
        strips.append(pygame.Rect(rect.x, y, rect.width, height))
        y += height
    return strips


# --- shared pieces ----------------------------------------------------------------------


def _band_text(
    frame: Frame,
    band: pygame.Rect,
    text: str,
    color: Color,
    *,
    align: Align = "left",
    max_lines: int = 2,
) -> pygame.Rect:
    """Bold text vertically centred in a band, as large as the band allows."""
    metrics = frame.metrics
    zone = _inset(band, metrics.margin, 0 if metrics.compact else round(band.height * 0.12))
    low = max(metrics.min_size, round(zone.height * 0.3))
    return frame.text(
        zone,
        text,
        Face.BOLD,
        color,
        (low, round(zone.height * 0.72)),
        max_lines=max_lines,
        align=align,
        valign="middle",
    )


def _body_text(
    frame: Frame,
    zone: pygame.Rect,
    text: str,
    *,
    valign: VAlign = "middle",
    scale: float = 1.0,
) -> None:
    """Running text as large as fits: a short notice centred, paragraphs left-aligned."""
    metrics = frame.metrics
    if metrics.compact:
        sizes = (metrics.min_size, zone.height)
    else:
        sizes = metrics.sizes(0.03 * scale, 0.14 * scale)
    block = frame.fit(zone, text, Face.REGULAR, sizes)
    align: Align = "center" if len(block.lines) <= 2 else "left"
    frame.draw(zone, block, theme.TEXT, align, valign)


def _accent_rule(frame: Frame, y: int, width: int | None = None) -> int:
    """A thin amber rule at `y`, centred; returns its thickness (0 on compact canvases)."""
    if frame.metrics.compact:
        return 0
    thickness = frame.metrics.px(0.008)
    rule = pygame.Rect(0, y, frame.rect.width if width is None else width, thickness)
    rule.centerx = frame.rect.centerx
    frame.fill(rule, theme.ACCENT)
    return thickness


def _margins(frame: Frame, rect: pygame.Rect) -> pygame.Rect:
    margin = frame.metrics.margin
    return _inset(rect, margin, margin)


# --- layouts ----------------------------------------------------------------------------


def fullscreen_text(frame: Frame, fields: Fields, board_name: str, now: datetime) -> None:
    """An amber title band over a notice set as large as it fits."""
    title, body = text_field(fields, "title"), text_field(fields, "text")
    if body is None:  # only a title: it becomes the notice
        title, body = None, title
    frame.fill(frame.rect, theme.BACKGROUND)
    area = frame.rect
    if title is not None:
        header, area = _split_top(area, frame.metrics.band(0.17))
        frame.fill(header, theme.ACCENT)
        _band_text(frame, header, title, theme.ON_ACCENT)
    if body is not None:
        _body_text(frame, _margins(frame, area), body)


def headline(frame: Frame, fields: Fields, board_name: str, now: datetime) -> None:
    """News style: title and clock in a header, body (and picture), ticker band below."""
    metrics = frame.metrics
    frame.fill(frame.rect, theme.BACKGROUND)
    header, area = _split_top(frame.rect, metrics.band(0.16))
    frame.fill(header, theme.PANEL)
    title_zone = _header_clock(frame, header, now)
    title = text_field(fields, "title")
    if title is not None:
        _band_text(frame, title_zone, title, theme.TEXT)
    area = _split_top(area, _accent_rule(frame, header.bottom))[1]
    ticker = text_field(fields, "ticker")
    if ticker is not None and not metrics.compact:
        # Static for now; the band is where the ticker will scroll.
        area, band = _split_bottom(area, metrics.band(0.09))
        frame.fill(band, theme.ACCENT)
        _band_text(frame, band, ticker, theme.ON_ACCENT, max_lines=2 if metrics.portrait else 1)
    _headline_content(frame, _margins(frame, area), fields)


def _header_clock(frame: Frame, header: pygame.Rect, now: datetime) -> pygame.Rect:
    """Draw the clock at the right of the header; returns the room left for the title."""
    metrics = frame.metrics
    zone = _inset(header, metrics.margin, 0 if metrics.compact else round(header.height * 0.14))
    zone.width = round(zone.width * (0.4 if metrics.compact else 0.3))
    zone.right = header.right - metrics.margin
    # No legibility floor here: a smaller clock beats one cut to "14:…".
    block = frame.fit(zone, clock_text(now), Face.BOLD, (MIN_FONT_SIZE, zone.height), 1)
    used = frame.draw(zone, block, theme.ACCENT, "right", "middle")
    return pygame.Rect(header.x, header.y, max(0, used.x - header.x), header.height)


def _headline_content(frame: Frame, area: pygame.Rect, fields: Fields) -> None:
    body = text_field(fields, "body")
    uri = image_field(fields, "image")
    if uri is not None and not frame.metrics.compact and frame.images.usable(uri):
        picture, area = _beside_or_above(area, frame.metrics.margin, 0.4)
        frame.image(picture, uri)
    if body is not None:
        _body_text(frame, area, body, valign="top", scale=0.8)


def _beside_or_above(area: pygame.Rect, gap: int, share: float) -> tuple[pygame.Rect, pygame.Rect]:
    """A picture zone (`share` of `area`) right of the text, or above it in portrait."""
    if area.width >= area.height:
        picture_width = round(area.width * share)
        text = pygame.Rect(area.x, area.y, area.width - picture_width - gap, area.height)
        return pygame.Rect(area.right - picture_width, area.y, picture_width, area.height), text
    picture, text = _split_top(area, round(area.height * share))
    return picture, _split_top(text, gap)[1]


def image_caption(frame: Frame, fields: Fields, board_name: str, now: datetime) -> None:
    """The picture as large as it fits, centred; the caption in a band below."""
    metrics = frame.metrics
    caption = text_field(fields, "caption")
    uri = image_field(fields, "image")
    frame.fill(frame.rect, theme.BACKGROUND)
    if uri is None or not frame.images.usable(uri):
        if caption is not None:  # no picture to caption: the caption becomes the notice
            _body_text(frame, _margins(frame, frame.rect), caption)
        return
    picture = frame.rect
    if caption is not None:
        picture, band = _split_bottom(frame.rect, metrics.band(0.15))
        frame.fill(band, theme.PANEL)
        _band_text(frame, band, caption, theme.TEXT, align="center")
        _accent_rule(frame, band.y)
    frame.image(picture, uri)


def led_text(frame: Frame, fields: Fields, board_name: str, now: datetime) -> None:
    """Bold amber text for LED panels: a few big lines, never a crowd of small ones."""
    frame.fill(frame.rect, theme.BACKGROUND)
    text = text_field(fields, "text")
    if text is None:
        return
    metrics = frame.metrics
    zone = _margins(frame, frame.rect)
    if metrics.compact:
        # Rows of at least 16 LED dots keep stacked diacritics (ấ, ộ) legible; longer text
        # is cut with "…" until scrolling arrives.
        rows = max(1, zone.height // 16)
        max_lines: int | None = rows
        sizes = (max(metrics.min_size, zone.height // (2 * rows)), zone.height)
    else:
        max_lines, sizes = None, metrics.sizes(0.06, 0.3)
    frame.text(
        zone,
        text,
        Face.BOLD,
        theme.ACCENT,
        sizes,
        max_lines=max_lines,
        align="center",
        valign="middle",
    )


def idle(frame: Frame, fields: Fields, board_name: str, now: datetime) -> None:
    """Board name, a large clock and the date: the board is alive and has nothing to say."""
    frame.fill(frame.rect, theme.BACKGROUND)
    if frame.metrics.compact:
        _idle_compact(frame, now)
        return
    column = _inset(frame.rect, frame.metrics.margin, 0)
    # space, name, space, clock, rule, date, space
    _, name, _, clock, _, date, _ = _rows(column, (10, 12, 4, 42, 9, 10, 13))
    sizes = frame.metrics.sizes
    if board_name.strip():
        _line(frame, name, board_name, (Face.REGULAR, theme.MUTED), sizes(0.03, 0.065))
    shown = _line(frame, clock, clock_text(now), (Face.BOLD, theme.TEXT), sizes(0.1, 0.42))
    _accent_rule(frame, shown.bottom + frame.metrics.px(0.04), round(frame.rect.width * 0.12))
    _line(frame, date, date_text(now), (Face.REGULAR, theme.ACCENT), sizes(0.03, 0.07))


def _idle_compact(frame: Frame, now: datetime) -> None:
    clock, date = _split_top(frame.rect, round(frame.rect.height * 0.62))
    low = frame.metrics.min_size
    _line(frame, clock, clock_text(now), (Face.BOLD, theme.TEXT), (low, clock.height))
    _line(frame, date, f"{now:%d/%m/%Y}", (Face.REGULAR, theme.ACCENT), (low, date.height))


def _line(
    frame: Frame, zone: pygame.Rect, text: str, look: tuple[Face, Color], sizes: tuple[int, int]
) -> pygame.Rect:
    """One centred line in the `look` (face, colour), as large as `zone` allows."""
    face, color = look
    return frame.text(zone, text, face, color, sizes, max_lines=1, align="center", valign="middle")


def alert_full(frame: Frame, fields: Fields, board_name: str, now: datetime) -> None:
    """Severe alerts: red screen, yellow label band, headline, description, instruction."""
    metrics = frame.metrics
    frame.fill(frame.rect, theme.ALERT_BACKGROUND)
    if metrics.compact:  # an LED panel has room for one thing: the headline
        only = text_field(fields, "headline") or text_field(fields, "description")
        sizes = (metrics.min_size, frame.rect.height)
        frame.text(
            frame.rect,
            only or ALERT_LABEL,
            Face.BOLD,
            theme.TEXT,
            sizes,
            max_lines=2,
            align="center",
            valign="middle",
        )
        return
    label, area = _split_top(frame.rect, metrics.band(0.13))
    frame.fill(label, theme.ALERT_STRIPE)
    label_text = text_field(fields, "label") or ALERT_LABEL
    _band_text(frame, label, label_text, theme.ON_ACCENT, align="center", max_lines=1)
    instruction = text_field(fields, "instruction")
    if instruction is not None:
        share = _instruction_share(instruction, text_field(fields, "description"))
        area, panel = _split_bottom(area, round(area.height * share))
        frame.fill(panel, theme.ALERT_PANEL)
        _alert_text(frame, _margins(frame, panel), instruction, Face.BOLD, shares=(0.025, 0.08))
    _alert_texts(frame, _margins(frame, area), fields)


def _instruction_share(instruction: str, description: str | None) -> float:
    # Room in proportion to the text, within bounds: what to do matters as much as what
    # happens, so a long instruction must not be cut to make room for the description.
    weight = len(instruction) + 40
    return min(0.5, max(0.24, weight / (weight + len(description or "") + 80)))


def _alert_texts(frame: Frame, area: pygame.Rect, fields: Fields) -> None:
    headline_text = text_field(fields, "headline")
    description = text_field(fields, "description")
    if headline_text is not None and description is not None:
        top, area = _split_top(area, round(area.height * 0.36))
        area = _split_top(area, frame.metrics.margin // 2)[1]  # breathing room below
        _alert_text(frame, top, headline_text, Face.BOLD, shares=(0.04, 0.12), max_lines=3)
        _alert_text(frame, area, description, Face.REGULAR, shares=(0.025, 0.08))
    elif headline_text is not None:
        _alert_text(frame, area, headline_text, Face.BOLD, shares=(0.04, 0.14))
    elif description is not None:
        _alert_text(frame, area, description, Face.REGULAR, shares=(0.03, 0.12))


def _alert_text(
    frame: Frame,
    zone: pygame.Rect,
    text: str,
    face: Face,
    *,
    shares: tuple[float, float],
    max_lines: int | None = None,
) -> None:
    sizes = frame.metrics.sizes(*shares)
    frame.text(zone, text, face, theme.TEXT, sizes, max_lines=max_lines, valign="middle")


def alert_banner(frame: Frame, fields: Fields, board_name: str, now: datetime) -> None:
    """Moderate alerts: a red band at the bottom; the description (if any) above it."""
    metrics = frame.metrics
    frame.fill(frame.rect, theme.BACKGROUND)
    headline_text = text_field(fields, "headline")
    if metrics.compact:  # an LED panel is too small for both: the band is the screen
        draw_alert_band(frame, frame.rect, headline_text, None)
        return
    area, band = _split_bottom(frame.rect, metrics.band(0.2))
    draw_alert_band(frame, band, headline_text, text_field(fields, "label") or ALERT_LABEL)
    description = text_field(fields, "description")
    if description is not None:
        _body_text(frame, _margins(frame, area), description, scale=0.6)


def draw_alert_band(
    frame: Frame, band: pygame.Rect, headline_text: str | None, label: str | None
) -> None:
    """The alert band: a yellow label cell, then the headline on red. Separate so that the
    agent can lay it over running content later."""
    frame.fill(band, theme.ALERT_BACKGROUND)
    if label is not None:
        cell, band = _label_cell(band)
        frame.fill(cell, theme.ALERT_STRIPE)
        _band_text(frame, cell, label, theme.ON_ACCENT, align="center", max_lines=1)
    if headline_text is not None:
        _band_text(frame, band, headline_text, theme.TEXT, max_lines=3)


def _label_cell(band: pygame.Rect) -> tuple[pygame.Rect, pygame.Rect]:
    """The label's cell and the headline's room: side by side in a wide band, the label
    on top in a narrow (portrait) one, where a side cell would squeeze it to "CẢ…"."""
    if band.width >= 4 * band.height:
        cell = pygame.Rect(band.x, band.y, round(band.width * 0.24), band.height)
        return cell, pygame.Rect(cell.right, band.y, band.right - cell.right, band.height)
    return _split_top(band, round(band.height * 0.34))


LAYOUTS: dict[str, LayoutDrawer] = {
    "fullscreen_text": fullscreen_text,
    "headline": headline,
    "image_caption": image_caption,
    "led_text": led_text,
    "alert_full": alert_full,
    "alert_banner": alert_banner,
    "idle": idle,
}

# Layouts that show the time: their frame changes at every minute boundary.
CLOCK_LAYOUTS = frozenset({"headline", "idle"})
