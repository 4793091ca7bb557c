"""What counts as a picture, said once: the file formats a board shows, `data:` URIs,
and remote image references.

The agent's playlist checks, its downloader and the renderer all ask here, so that what
validation accepts is what the renderer draws. Pure and free of pygame: the payload
models import it, and `signage-agent validate` and `schema` must stay light.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ImageFormat:
    name: str  # as messages name it
    mime: str  # in data: URIs and the downloader's Accept header
    signature: bytes  # how every file of the format begins
    hint: str  # the file name pygame's loader is given: it picks the decoder by suffix


PNG = ImageFormat("PNG", "image/png", b"\x89PNG\r\n\x1a\n", "image.png")
# Start of image (FF D8), then the first marker (FF …).
JPEG = ImageFormat("JPEG", "image/jpeg", b"\xff\xd8\xff", "image.jpg")
FORMATS = (PNG, JPEG)
_BY_MIME = {known.mime: known for known in FORMATS}


def format_of(data: bytes) -> ImageFormat | None:
    """The format these bytes are in, by their signature; None for any other file."""
    for known in FORMATS:
        if data.startswith(known.signature):
            return known
    return None


def format_named(mime: str) -> ImageFormat | None:
    """The format of a MIME type ("image/png"), or None if the board does not show it."""
    return _BY_MIME.get(mime)


DATA_URI = "data:"
_BASE64 = ";base64"


def is_data_uri(value: object) -> bool:
    """Whether a slot value is an inline picture rather than text: anything that starts
    with `data:`, well formed or not, is never shown as text."""
    return isinstance(value, str) and value.startswith(DATA_URI)


def data_uri_parts(uri: str) -> tuple[str, str] | None:
    """(MIME type, base64 payload) of a `data:<type>;base64,<payload>` URI, or None
    when it is not of that form."""
    head, comma, payload = uri.partition(",")
    if not comma or not head.startswith(DATA_URI) or not head.endswith(_BASE64):
        return None
    return head[len(DATA_URI) : -len(_BASE64)], payload


def decode_data_uri(uri: str) -> bytes | None:
    """The bytes of a base64 `data:image/…` URI, or None if it is not one."""
    parts = data_uri_parts(uri)
    if parts is None or not parts[0].startswith("image/"):
        return None
    try:
        return base64.b64decode(parts[1], validate=False)
    except (binascii.Error, ValueError):
        return None


class RemoteImage(Protocol):
    """A picture downloaded by the agent, as the renderer sees it: named by a digest of
    its bytes (`agent.messages.ImageRef` by SHA-256; a CAP `<resource>` by SHA-1)."""

    @property
    def url(self) -> str: ...

    @property
    def asset_name(self) -> str:
        """Its name in the asset cache: the SHA-256 hex, or "sha1-" and the SHA-1 hex."""
        ...


# A cached, digest-verified file for a remote image, or None while it is not downloaded.
ImageSource = Callable[[RemoteImage], Path | None]
