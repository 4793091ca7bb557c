"""`clock`: the time or date in the board's time zone (or a named one), in Vietnamese.

`format` takes strftime-style codes; %A and %a are the Vietnamese weekday ("Thứ Sáu",
"T6") whatever the system locale, since boards run with the C locale.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from display_layouts import theme
from display_layouts.zones.base import Color, FontName, Sizes, VAlign, Zone, zone_type

if TYPE_CHECKING:
    import pygame

    from display_layouts.paint import Context, Paint

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
SHORT_WEEKDAYS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
_CODE = re.compile(r"%(.)")
_TIME_CODES = frozenset("HIMSp")
_DATE_CODES = frozenset("dmYyAa")
_CODES = _TIME_CODES | _DATE_CODES | {"%"}


def _check_format(value: str) -> str:
    unknown = sorted({code for code in _CODE.findall(value) if code not in _CODES})
    if unknown or "%" in _CODE.sub("", value):  # a lone % at the end
        raise ValueError(
            f"unknown code {', '.join('%' + c for c in unknown) or '%'}: use %H %I %M %S %p "
            "(time), %d %m %Y %y %A %a (date) or %% for a percent sign"
        )
    return value


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}' (e.g. Asia/Ho_Chi_Minh)") from None
    return value


def format_time(moment: datetime, fmt: str) -> str:
    """`moment` as `fmt` says, with Vietnamese weekday names and SA/CH for am/pm."""

    def code(match: re.Match[str]) -> str:
        char = match.group(1)
        if char == "A":
            return WEEKDAYS[moment.weekday()]
        if char == "a":
            return SHORT_WEEKDAYS[moment.weekday()]
        if char == "p":
            return "SA" if moment.hour < 12 else "CH"
        return "%" if char == "%" else moment.strftime(f"%{char}")

    return _CODE.sub(code, fmt)


@zone_type
class ClockZone(Zone):
    type: Literal["clock"]
    format: Annotated[str, Field(max_length=100), AfterValidator(_check_format)] = "%H:%M"
    timezone: Annotated[str, AfterValidator(_check_zone)] | None = Field(
        None, description="IANA time zone; the board's own when omitted."
    )
    font: FontName = "bold"
    color: Color = theme.TEXT
    size: Sizes = Field((30.0, 100.0), description="[min, max] percent of the zone's height.")
    align: Literal["left", "center", "right"] = "center"
    valign: VAlign = "middle"

    def moment(self, ctx: Context) -> datetime:
        return ctx.now if self.timezone is None else ctx.now.astimezone(ZoneInfo(self.timezone))

    def next_change(self, ctx: Context, rect: pygame.Rect) -> datetime | None:
        codes = set(_CODE.findall(self.format))
        now = self.moment(ctx)
        if "S" in codes:
            return now.replace(microsecond=0) + timedelta(seconds=1)
        if codes & _TIME_CODES:
            return now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if codes & _DATE_CODES:
            return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return None

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        from display_layouts.paint import pixel_sizes

        text = format_time(self.moment(paint), self.format)
        kind = paint.face(self.font)
        # Sized for the widest digits, so the clock keeps its size as the time changes.
        widest = re.sub(r"\d", "0", text)
        sized = paint.fit(rect, widest, kind, pixel_sizes(self.size, rect.height), 1)
        block = paint.fit(rect, text, kind, (sized.size, sized.size), 1)
        paint.text(rect, block, self.color, self.align, self.valign)
