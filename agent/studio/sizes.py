"""The canvas sizes the studio draws a layout at: the screens a ward office has (CONTRACT
§11), and the bounds of any other size a page may ask for."""

from __future__ import annotations

from dataclasses import dataclass

# Any side beyond these is no screen a board drives (and a 4096×4096 frame is already
# 64 MiB of pixels to draw under the render lock).
MIN_SIDE = 8
MAX_SIDE = 4096


@dataclass(frozen=True, slots=True)
class Size:
    width: int
    height: int
    led: bool
    label: str  # Vietnamese: the page is Vietnamese first

    @property
    def text(self) -> str:
        return f"{self.width}x{self.height}"

    def as_json(self) -> dict[str, object]:
        return {"size": self.text, "led": self.led, "label": self.label}


# Every layout is shown at all of these: a content manager sees each screen it may reach.
STUDIO_SIZES: tuple[Size, ...] = (
    Size(1920, 1080, False, "Full HD ngang"),
    Size(1080, 1920, False, "Full HD dọc"),
    Size(1366, 768, False, "Màn hình 1366×768"),
    Size(128, 32, True, "LED 128×32"),
    Size(256, 64, True, "LED 256×64"),
)


def parse_size(value: object) -> tuple[int, int]:
    """A "WxH" text to (width, height); ValueError says what is wrong, in English (the
    problem's message_vi is added by the caller)."""
    if not isinstance(value, str):
        raise ValueError('size must be text like "1920x1080"')
    width, sep, height = value.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or len(value) > 11:
        raise ValueError(f'size must look like "1920x1080", not {value[:20]!r}')
    size = (int(width), int(height))
    if not all(MIN_SIDE <= side <= MAX_SIDE for side in size):
        raise ValueError(f"width and height must be between {MIN_SIDE} and {MAX_SIDE} pixels")
    return size
