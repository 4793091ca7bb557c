"""What the playlist check accepts as an inline picture, the renderer draws (issue 11: the
image facts — formats, signatures, the `data:` URI form — live in one place,
`display_layouts.image_formats`, that both ask).

Before, the check parsed `data:` URIs its own way and took `image/png;base64,…` (no
`data:` at all) for a picture; the renderer did not, so the item went on screen with a
hole where its image should be.
"""

from __future__ import annotations

import base64
import io
import json

import pygame
import pytest

from agent.content import check_data_uri, parse_playlist
from agent.validation import InvalidInput
from display_layouts.paint import Images
from tests.hostile.hostile_http import valid_png


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    pygame.image.save(pygame.Surface((16, 12)), buffer, "image.jpg")
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PNG64 = _b64(valid_png())
JPEG64 = _b64(_jpeg())

# Spellings of an inline picture, well and badly formed.
URIS = {
    "png": f"data:image/png;base64,{PNG64}",
    "jpeg": f"data:image/jpeg;base64,{JPEG64}",
    "no-scheme": f"image/png;base64,{PNG64}",
    "scheme-twice": f"data:data:image/png;base64,{PNG64}",
    "upper-case-scheme": f"DATA:image/png;base64,{PNG64}",
    "no-base64": f"data:image/png,{PNG64}",
    "a-parameter": f"data:image/png;charset=utf-8;base64,{PNG64}",
    "gif-type": f"data:image/gif;base64,{PNG64}",
    "png-called-jpeg": f"data:image/jpeg;base64,{PNG64}",
    "no-comma": f"data:image/png;base64{PNG64}",
}


def playlist_with(image: str) -> bytes:
    item = {"id": "anh", "layout": "image_caption", "fields": {"image": image, "caption": "Ảnh"}}
    document = {"type": "playlist", "version": 1, "issued_at": "2026-11-27T07:30:00+07:00"}
    return json.dumps(document | {"items": [item]}).encode()


@pytest.mark.parametrize("name", sorted(URIS))
def test_an_inline_picture_the_check_accepts_is_one_the_renderer_draws(name: str) -> None:
    uri = URIS[name]
    accepted = check_data_uri(uri) is None
    assert not accepted or Images(None).ready(uri), f"{name}: accepted but not drawable"


@pytest.mark.parametrize("name", ["png", "jpeg"])
def test_well_formed_pictures_are_accepted_and_drawn(name: str) -> None:
    assert check_data_uri(URIS[name]) is None
    assert Images(None).ready(URIS[name])


def test_a_picture_without_the_data_scheme_rejects_the_playlist() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_playlist(playlist_with(URIS["no-scheme"]), max_bytes=1 << 20)
    [problem] = caught.value.errors
    assert problem.path == "items.0.fields.image"
    assert "data:image/png;base64,… or data:image/jpeg;base64,…" in problem.message
