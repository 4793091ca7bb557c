"""Text preparation, wrapping, auto-fit and clipped drawing (display_layouts.text)."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import unicodedata

import pygame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from display_layouts.fonts import ELLIPSIS, Face, face
from display_layouts.plain import clean
from display_layouts.text import Align, TextStyle, VAlign, draw_block, ellipsize, fit, wrap

SENTINEL = (255, 0, 255)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

# Every Vietnamese letter: 12 vowels (and their capitals) with each of the 5 tone marks,
# plus đ/Đ. Built by composition so the list cannot silently miss one.
VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
VIETNAMESE_LETTERS = sorted(
    {unicodedata.normalize("NFC", base + tone) for base in VOWELS for tone in TONES}
    | {unicodedata.normalize("NFC", base.upper() + tone) for base in VOWELS for tone in TONES}
    | {"đ", "Đ"}
)

# Things notices contain, and things hostile or careless input contains.
TRICKY = [
    "Thông báo khẩn cấp",
    "Ủy ban nhân dân phường",
    "\t",
    "\n",
    "\r\n",
    " ",
    "\u00a0",
    "😀",
    "👨‍👩‍👧",
    "🇻🇳",
    "مرحبا بالعالم",
    "שלום",
    "\u0301\u0302\u0323",
    "a\u0302\u0309",
    "\u200b\u200d\u2028\u2029",
    "W" * 60,
    "ẩ" * 40,
    "\x00\x07\x1b",
]
text_strategy = st.one_of(
    st.lists(st.sampled_from(TRICKY), max_size=12).map("".join),
    st.text(max_size=400),
    st.text(st.sampled_from(list("aẩ ố\t\n😀\u0301ا")), max_size=400),
)
# 2 000 to 100 000 characters, built by repetition so generation stays fast.
huge_text_strategy = st.builds(
    lambda chunk, times: (chunk * times)[:100_000],
    st.one_of(st.text(min_size=1, max_size=50), st.sampled_from(TRICKY)),
    st.integers(min_value=2_000, max_value=100_000),
)


def _fresh(size: tuple[int, int], color: tuple[int, int, int] = SENTINEL) -> pygame.Surface:
    surface = pygame.Surface(size)
    surface.fill(color)
    return surface


def _untouched_outside(surface: pygame.Surface, zone: pygame.Rect) -> bool:
    """True if every pixel outside `zone` still has the sentinel colour."""
    probe = surface.copy()
    probe.fill(SENTINEL, zone)
    reference = _fresh(surface.get_size())
    return pygame.image.tobytes(probe, "RGB") == pygame.image.tobytes(reference, "RGB")


def _ink(surface: pygame.Surface, background: tuple[int, int, int]) -> pygame.Rect | None:
    """Bounding box of every pixel that differs from `background`."""
    mask = pygame.mask.from_threshold(surface, background, (1, 1, 1, 255))
    mask.invert()
    rects = mask.get_bounding_rects()
    return rects[0].unionall(rects[1:]) if rects else None


def _render(text: str, size: int = 80, kind: Face = Face.REGULAR) -> pygame.Surface:
    surface = _fresh((400, 200), BLACK)
    block = fit(text, kind, (400, 200), (size, size))
    draw_block(surface, surface.get_rect(), block, TextStyle(kind, WHITE))
    return surface


# --- clean ------------------------------------------------------------------------------


def test_clean_composes_decomposed_vietnamese() -> None:
    decomposed = unicodedata.normalize("NFD", "Thông báo khẩn cấp")
    assert decomposed != "Thông báo khẩn cấp"
    assert clean(decomposed) == "Thông báo khẩn cấp"


def test_clean_turns_tabs_into_spaces_and_every_line_break_into_newline() -> None:
    assert clean("a\tb\r\nc\rd\u2028e") == "a b\nc\nd\ne"


def test_clean_drops_control_characters() -> None:
    assert clean("Bão\x00 số\x1b 3\x7f") == "Bão số 3"


# --- fonts ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Face))
def test_bundled_fonts_cover_every_vietnamese_letter(kind: Face) -> None:
    font = face(kind)
    assert len(VIETNAMESE_LETTERS) == 12 * 6 * 2 + 2
    missing = [letter for letter in VIETNAMESE_LETTERS if not font.covers(letter)]
    assert missing == []


@pytest.mark.parametrize("kind", list(Face))
def test_bundled_fonts_cover_the_vietnamese_extended_block(kind: Face) -> None:
    font = face(kind)
    block = [chr(code) for code in range(0x1EA0, 0x1EFA)]
    assert [char for char in block if not font.covers(char)] == []
    assert font.covers(ELLIPSIS)


def test_vietnamese_letters_are_the_precomposed_ones() -> None:
    for letter in VIETNAMESE_LETTERS:
        code = ord(letter)
        assert len(letter) == 1
        assert code < 0x80 or 0xC0 <= code <= 0x1B0 or 0x1EA0 <= code <= 0x1EF9, letter


def test_drawable_drops_and_counts_what_the_font_lacks() -> None:
    font = face(Face.REGULAR)
    assert font.drawable("Bão số 3") == ("Bão số 3", 0)
    assert font.drawable("Bão 😀 số 3 😀") == ("Bão  số 3 ", 2)
    assert font.drawable("\ud800x") == ("x", 1)  # a lone surrogate must not reach freetype


# --- Vietnamese rendering ---------------------------------------------------------------


def test_decomposed_input_draws_exactly_like_composed() -> None:
    composed = _render("Thông báo khẩn cấp", 40)
    decomposed = _render(unicodedata.normalize("NFD", "Thông báo khẩn cấp"), 40)
    assert pygame.image.tobytes(composed, "RGB") == pygame.image.tobytes(decomposed, "RGB")


def test_stacked_diacritic_is_drawn_above_the_letter() -> None:
    plain, stacked = _render("a"), _render("ẩ")
    assert pygame.image.tobytes(plain, "RGB") != pygame.image.tobytes(stacked, "RGB")
    plain_ink, stacked_ink = _ink(plain, BLACK), _ink(stacked, BLACK)
    assert plain_ink is not None
    assert stacked_ink is not None
    # Both sit on one baseline, so the hook and circumflex are ink above the "a".
    assert stacked_ink.top < plain_ink.top - 10
    assert stacked_ink.bottom == plain_ink.bottom


def test_capital_with_stacked_marks_is_not_cut_at_the_top() -> None:
    # Ẫ is the tallest Vietnamese letter: drawn at the top of a tight box, its tilde
    # must still be inside the box, i.e. not touch the top row.
    surface = _fresh((200, 200), BLACK)
    block = fit("Ẫ", Face.BOLD, (200, 200), (100, 100))
    box = pygame.Rect(0, 0, 200, block.height)
    draw_block(surface, box, block, TextStyle(Face.BOLD, WHITE))
    ink = _ink(surface, BLACK)
    assert ink is not None
    assert ink.top > 0
    assert ink.bottom <= block.height


def test_emoji_is_dropped_counted_and_leaves_no_trace() -> None:
    with_emoji = fit("Bão số 3😀", Face.REGULAR, (400, 200), (40, 40))
    without = fit("Bão số 3", Face.REGULAR, (400, 200), (40, 40))
    assert with_emoji.dropped == 1
    assert without.dropped == 0
    assert with_emoji.lines == without.lines
    drawn_with = _render("Bão số 3😀", 40)
    drawn_without = _render("Bão số 3", 40)
    assert pygame.image.tobytes(drawn_with, "RGB") == pygame.image.tobytes(drawn_without, "RGB")


# --- wrap -------------------------------------------------------------------------------


def test_wrap_breaks_at_spaces_and_keeps_lines_within_the_width() -> None:
    font = face(Face.REGULAR)
    text = "Lịch tiêm chủng cho trẻ em dưới 5 tuổi tại trạm y tế phường"
    lines = list(wrap(font, text, 30, 300))
    assert len(lines) > 1
    assert " ".join(line.text for line in lines) == text
    assert all(font.width(line.text, 30) <= 300 for line in lines)
    assert not any(line.broken for line in lines)


def test_wrap_honours_newlines_as_paragraphs() -> None:
    font = face(Face.REGULAR)
    lines = [line.text for line in wrap(font, "Bão số 3\n\nMất điện", 30, 1000)]
    assert lines == ["Bão số 3", "", "Mất điện"]


def test_wrap_breaks_a_word_longer_than_a_line_by_characters() -> None:
    font = face(Face.REGULAR)
    word = "Nguyễn" * 20
    lines = list(wrap(font, word, 30, 200))
    assert len(lines) > 1
    assert all(line.broken for line in lines)
    assert "".join(line.text for line in lines) == word
    assert all(font.width(line.text, 30) <= 200 for line in lines)


def test_wrap_never_separates_a_combining_mark_from_its_letter() -> None:
    font = face(Face.REGULAR)
    word = "q\u0301" * 50  # q + acute has no precomposed form: it stays two characters
    lines = [line.text for line in wrap(font, word, 30, 100)]
    assert len(lines) > 1
    assert all(not unicodedata.combining(line[0]) for line in lines)


# --- fit --------------------------------------------------------------------------------


def test_fit_chooses_the_largest_size_that_fits() -> None:
    box = (800, 300)
    block = fit("Thông báo khẩn cấp", Face.BOLD, box, (10, 200))
    assert block.width <= box[0]
    assert block.height <= box[1]
    bigger = fit("Thông báo khẩn cấp", Face.BOLD, box, (block.size + 1, block.size + 1))
    assert bigger.truncated or bigger.width > box[0] or bigger.height > box[1]


def test_fit_prefers_whole_words_to_a_bigger_size() -> None:
    block = fit("Khẩn", Face.BOLD, (100, 400), (10, 300))
    assert block.lines == ("Khẩn",)


def test_fit_cuts_with_an_ellipsis_when_even_the_minimum_size_is_too_big() -> None:
    text = "Cảnh báo ngập lụt tại đường Nguyễn Trãi " * 20
    block = fit(text, Face.REGULAR, (400, 100), (20, 40))
    assert block.truncated
    assert block.size == 20
    assert block.lines[-1].endswith(ELLIPSIS)
    assert block.height <= 100
    assert block.width <= 400


def test_fit_respects_max_lines() -> None:
    text = "Cảnh báo ngập lụt tại đường Nguyễn Trãi " * 5
    block = fit(text, Face.REGULAR, (400, 1000), (20, 20), max_lines=1)
    assert len(block.lines) == 1
    assert block.lines[0].endswith(ELLIPSIS)


def test_fit_of_blank_text_has_no_lines() -> None:
    assert fit(" \t\n ", Face.REGULAR, (100, 100), (10, 20)).lines == ()
    assert fit("😀😀", Face.REGULAR, (100, 100), (10, 20)).lines == ()


def test_fit_handles_100000_characters() -> None:
    text = ("Thông báo khẩn cấp " * 6000)[:100_000]
    block = fit(text, Face.REGULAR, (1920, 1080), (30, 150))
    assert block.truncated
    assert block.height <= 1080
    assert block.lines[-1].endswith(ELLIPSIS)
    word = "ẩ" * 100_000
    assert fit(word, Face.REGULAR, (1920, 1080), (30, 150)).truncated


def test_ellipsize_fits_the_width() -> None:
    font = face(Face.REGULAR)
    line = ellipsize(font, "Đường Nguyễn Trãi bị ngập sâu", 30, 200)
    assert line.endswith(ELLIPSIS)
    assert font.width(line, 30) <= 200


def test_draw_block_on_a_box_partly_off_the_surface() -> None:
    surface = _fresh((100, 50))
    block = fit("Bão số 3", Face.BOLD, (300, 200), (40, 40))
    draw_block(surface, pygame.Rect(-20, -10, 300, 200), block, TextStyle(Face.BOLD, WHITE))
    assert _ink(surface, SENTINEL) is not None  # drew into the visible part, no error


# --- properties -------------------------------------------------------------------------

zones = st.builds(
    pygame.Rect,
    st.integers(min_value=-20, max_value=150),
    st.integers(min_value=-20, max_value=100),
    st.integers(min_value=0, max_value=260),
    st.integers(min_value=0, max_value=120),
)


@settings(max_examples=50, deadline=None)
@given(
    text=st.one_of(text_strategy, huge_text_strategy),
    zone=zones,
    request=st.tuples(
        st.sampled_from(list(Face)),
        st.tuples(st.integers(-5, 60), st.integers(-5, 120)),  # (min, max) sizes, any order
        st.one_of(st.none(), st.integers(0, 5)),  # max_lines
    ),
    look=st.tuples(
        st.sampled_from(["left", "center", "right"]),
        st.sampled_from(["top", "middle"]),
        st.booleans(),
    ),
)
def test_fit_and_draw_never_crash_nor_paint_outside_the_zone(
    text: str,
    zone: pygame.Rect,
    request: tuple[Face, tuple[int, int], int | None],
    look: tuple[Align, VAlign, bool],
) -> None:
    kind, sizes, max_lines = request
    surface = _fresh((300, 200))
    block = fit(text, kind, (max(0, zone.width), max(0, zone.height)), sizes, max_lines)
    style = TextStyle(kind, WHITE, *look)
    draw_block(surface, zone, block, style)
    assert _untouched_outside(surface, zone)


@settings(max_examples=50, deadline=None)
@given(text=text_strategy, width=st.integers(1, 600), size=st.integers(4, 80))
def test_wrap_keeps_every_visible_character_in_order(text: str, width: int, size: int) -> None:
    font = face(Face.REGULAR)
    drawable, _ = font.drawable(clean(text))
    lines = [line.text for line in wrap(font, drawable, size, width)]
    assert "".join(lines).replace(" ", "") == drawable.replace(" ", "").replace("\n", "")
    for line in lines:
        # Only a single character (with its marks) may exceed the width.
        too_wide = font.width(line, size) > width
        assert not too_wide or len(line.lstrip(" ")) == 1 or _one_cluster(line)


def _one_cluster(text: str) -> bool:
    return all(unicodedata.category(char).startswith("M") for char in text[1:])


# --- a line holds its letters whole ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "size"),
    [(Face.PIXEL, 16), (Face.PIXEL, 32), (Face.REGULAR, 12), (Face.BOLD, 20), (Face.BOLD, 90)],
)
def test_a_line_of_text_keeps_every_diacritic_whole(kind: Face, size: int) -> None:
    """Drawn in a box exactly one line tall (a 16-dot LED row for the pixel font), every
    Vietnamese letter keeps all its ink: no stacked mark cut at the top, no dot below
    cut at the bottom."""
    letters = "".join(VIETNAMESE_LETTERS)
    block = fit(letters, kind, (100_000, 1000), (size, size), max_lines=1)
    assert block.size == size
    assert len(block.lines) == 1
    if kind is Face.PIXEL:
        assert block.line_height == size  # exactly one 16-dot row per line
    width = block.width + 2
    tight = _fresh((width, block.line_height), BLACK)
    draw_block(tight, tight.get_rect(), block, TextStyle(kind, WHITE, antialias=False))
    roomy = _fresh((width, block.line_height + 2 * size), BLACK)
    font = face(kind).font
    font.antialiased = False
    font.render_to(roomy, (0, size + block.ascent), letters, WHITE, size=size)
    assert _ink_count(tight) == _ink_count(roomy) > 0


def test_pixel_font_sizes_stay_on_its_grid() -> None:
    assert Face.PIXEL.grid == 16
    assert Face.BOLD.grid == 1
    assert fit("Bão số 3", Face.PIXEL, (400, 100), (5, 40)).size == 32
    assert fit("Bão số 3", Face.PIXEL, (400, 100), (5, 12)).size == 16  # never below one cell
    assert fit("Bão số 3", Face.PIXEL, (30, 30), (5, 40)).truncated


def _ink_count(surface: pygame.Surface) -> int:
    background = pygame.mask.from_threshold(surface, BLACK, (1, 1, 1, 255)).count()
    return surface.get_width() * surface.get_height() - int(background)
