"""Inline (`data:`) images and image URLs are checked when a playlist is accepted (issue 21):
a broken picture rejects the playlist with the field's path instead of going on screen
as a hole."""

from __future__ import annotations

import base64
import json

import pytest

from agent.content import parse_playlist
from agent.validation import InvalidInput
from display_layouts.image_check import ImageLimits, check_image
from tests.hostile.hostile_http import bomb_png, corrupt_png, huge_png, truncated_png, valid_png


def uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def playlist_with(image: object) -> bytes:
    item = {"id": "anh", "layout": "image_caption", "fields": {"image": image, "caption": "Ảnh"}}
    document = {"type": "playlist", "version": 1, "issued_at": "2026-11-27T07:30:00+07:00"}
    return json.dumps(document | {"items": [item]}).encode()


def rejection(payload: bytes, **kw: object) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_playlist(payload, max_bytes=1 << 20, **kw)  # type: ignore[arg-type]
    errors = caught.value.errors
    assert len(errors) == 1, errors
    return errors[0].path, errors[0].message


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (bomb_png(), "4000×4000"),
        (bomb_png(20000, 20000), "20000×20000"),
        (huge_png(), "30000×30000"),
        (truncated_png(), "truncated"),
        (corrupt_png(), "damaged"),
    ],
    ids=["bomb-16MP", "bomb-400MP", "huge-header", "truncated", "corrupt"],
)
def test_a_broken_inline_image_rejects_the_playlist_with_its_path(image: bytes, why: str) -> None:
    path, message = rejection(playlist_with(uri(image)))
    assert path == "items.0.fields.image"
    assert why in message


def test_limits_come_from_the_configuration() -> None:
    picture = valid_png(size=(64, 48))
    parse_playlist(playlist_with(uri(picture)), max_bytes=1 << 20)  # accepted by default
    path, message = rejection(
        playlist_with(uri(picture)), image_limits=ImageLimits(max_side=32, max_pixels=1024)
    )
    assert path == "items.0.fields.image"
    assert "limit is 32 pixels a side" in message


@pytest.mark.parametrize(
    ("url", "why"),
    [("http://cdn.example.vn:http/a.png", "port is not a number"), ("http://[::1/a.png", "IPv6")],
    ids=["non-numeric-port", "broken-ipv6"],
)
def test_an_image_url_that_can_never_be_fetched_rejects_the_playlist(url: str, why: str) -> None:
    path, message = rejection(playlist_with({"url": url, "sha256": "0" * 64}))
    assert path == "items.0.fields.image.url"
    assert "bad URL" in message
    assert why in message


def test_a_bomb_is_refused_from_its_header_and_a_replay_costs_no_second_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decode cost stays low: the header decides before any inflating, and answers are
    remembered, so a retained playlist replayed at each reconnect is checked once."""
    from display_layouts import image_check as images

    def no_decoding(*_args: object) -> str:
        raise AssertionError("a picture refused by its header must not be decoded")

    monkeypatch.setattr(images, "_check_png", no_decoding)
    assert "20000×20000" in (check_image(bomb_png(20000, 20000)) or "")
    monkeypatch.undo()

    calls: list[int] = []
    real = images._check_image

    def counted(data: bytes, limits: ImageLimits) -> str | None:
        calls.append(1)
        return real(data, limits)

    monkeypatch.setattr(images, "_check_image", counted)
    picture = valid_png(size=(200, 150))
    for _ in range(5):
        parse_playlist(playlist_with(uri(picture)), max_bytes=1 << 20)
    assert len(calls) == 1
