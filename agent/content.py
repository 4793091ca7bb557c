"""Playlist semantics beyond the payload's shape: layouts, slots, images, unique ids."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from agent.assets.download import url_problem
from agent.messages import ChannelContent, ImageRef, Playlist, PlaylistItem
from agent.validation import InvalidInput, Problem, decode, error
from display_layouts.catalog import BUILTIN_LAYOUTS, LayoutSpec, SlotKind
from display_layouts.image_check import DEFAULT_LIMITS, ImageLimits, check_image
from display_layouts.image_formats import (
    DATA_URI,
    FORMATS,
    data_uri_parts,
    format_named,
    is_data_uri,
)
from display_layouts.input_problems import did_you_mean

MAX_IMAGE_BYTES = 512 * 1024
_DATA_URI_FORMS = "an image data URI must be " + " or ".join(
    f"{DATA_URI}{known.mime};base64,…" for known in FORMATS
)


def check_data_uri(uri: str, limits: ImageLimits = DEFAULT_LIMITS) -> str | None:
    """Why a `data:` image URI is unusable, or None when it is a PNG or JPEG we accept.

    The picture is decoded once here (bounded: its size is read from the header first, see
    `check_image`), so that a truncated file or a decompression bomb rejects the playlist
    instead of going on screen as a hole; the answer is remembered, so a replay costs a hash.
    """
    parts = data_uri_parts(uri)
    kind = None if parts is None else format_named(parts[0])
    if parts is None or kind is None:
        return _DATA_URI_FORMS
    data = parts[1]
    if len(data) * 3 // 4 > MAX_IMAGE_BYTES:
        return f"image is larger than {MAX_IMAGE_BYTES // 1024} KiB"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "image data is not valid base64"
    if not raw.startswith(kind.signature):
        return f"image data is not a {kind.name} file"
    return check_image(raw, limits)


def check_image_url(url: str) -> str | None:
    """Why a remote image's URL can never be fetched (bad port, broken IPv6 literal…)."""
    return url_problem(url)  # the fetcher's own parser decides


def _check_slots(
    path: str, item: PlaylistItem, spec: LayoutSpec, limits: ImageLimits = DEFAULT_LIMITS
) -> list[Problem]:
    errors: list[Problem] = []
    names = [s.name for s in spec.slots]
    for name, value in item.fields.items():
        slot = spec.slot(name)
        where = f"{path}.fields.{name}"
        if slot is None:
            hint = did_you_mean(name, names) or f"; its slots are {', '.join(names)}"
            errors.append(error(where, f"layout '{spec.name}' has no slot '{name}'{hint}"))
        elif slot.kind is SlotKind.TEXT and (not isinstance(value, str) or is_data_uri(value)):
            errors.append(error(where, "this slot takes text, not an image"))
        elif slot.kind is SlotKind.IMAGE and isinstance(value, str):
            problem = check_data_uri(value, limits)
            if problem:
                errors.append(error(where, problem))
        elif slot.kind is SlotKind.VIDEO and isinstance(value, str):
            errors.append(error(where, 'this slot takes a clip: {"url": …, "sha256": …}'))
        elif isinstance(value, ImageRef):
            problem = check_image_url(value.url)
            if problem:
                errors.append(error(f"{where}.url", problem))
    for slot in spec.slots:
        if slot.required and slot.name not in item.fields:
            errors.append(
                error(
                    f"{path}.fields.{slot.name}",
                    f"missing slot '{slot.name}' required by layout '{spec.name}'",
                )
            )
    return errors


def check_playlist(
    playlist: Playlist,
    layouts: Mapping[str, LayoutSpec],
    image_limits: ImageLimits = DEFAULT_LIMITS,
    *,
    wait_for_layouts: bool = False,
) -> list[Problem]:
    """Every problem of the playlist against `layouts`. With `wait_for_layouts` (a board
    taking content), an unknown layout is no error: it may arrive over MQTT later, and
    the item waits for it (agent/drawable.py leaves it out until it fits)."""
    errors: list[Problem] = []
    seen: set[str] = set()
    usable = sorted(name for name, spec in layouts.items() if not spec.reserved)
    for index, item in enumerate(playlist.items):
        path = f"items.{index}"
        if item.id in seen:
            errors.append(error(f"{path}.id", f"id '{item.id}' is used by an earlier item"))
        seen.add(item.id)
        spec = layouts.get(item.layout)
        if spec is None and wait_for_layouts:
            continue
        if spec is None:
            hint = did_you_mean(item.layout, usable) or f"; known: {', '.join(usable)}"
            errors.append(error(f"{path}.layout", f"unknown layout '{item.layout}'{hint}"))
        elif spec.reserved:
            errors.append(
                error(f"{path}.layout", f"layout '{item.layout}' is for the agent's own use")
            )
        else:
            errors.extend(_check_slots(path, item, spec, image_limits))
    return errors


def parse_playlist(
    payload: bytes,
    *,
    layouts: Mapping[str, LayoutSpec] = BUILTIN_LAYOUTS,
    max_bytes: int,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    wait_for_layouts: bool = False,
) -> Playlist:
    """A validated playlist from bytes, or `InvalidInput` (see `check_playlist`)."""
    playlist = decode(payload, Playlist, max_bytes=max_bytes)
    errors = check_playlist(playlist, layouts, image_limits, wait_for_layouts=wait_for_layouts)
    if errors:
        raise InvalidInput(errors)
    return playlist


def glyph_warnings(texts: Mapping[str, str]) -> list[Problem]:
    """Texts (by field path) with characters the board's fonts cannot draw."""
    from display_layouts.coverage import undrawable

    warnings = []
    for path, text in texts.items():
        missing = undrawable(text)
        if missing:
            message = f"the board's fonts cannot draw {' '.join(missing)}: left out when shown"
            warnings.append(error(path, message))
    return warnings


def playlist_texts(playlist: Playlist) -> dict[str, str]:
    return {
        f"items.{index}.fields.{name}": value
        for index, item in enumerate(playlist.items)
        for name, value in item.fields.items()
        if isinstance(value, str) and not is_data_uri(value)
    }


def channel_summary(playlist: Playlist | None) -> ChannelContent | None:
    """What a heartbeat says of a channel: its version and item count, or null."""
    if playlist is None:
        return None
    return ChannelContent(version=playlist.version, items=len(playlist.items))


def remote_images(item: PlaylistItem) -> list[ImageRef]:
    """Files (images and clips) an item needs downloaded before it may be shown."""
    return [value for value in item.fields.values() if isinstance(value, ImageRef)]


def remote_clips(item: PlaylistItem, spec: LayoutSpec) -> list[ImageRef]:
    """Those of them its layout plays as video (CONTRACT §10)."""
    return [
        value
        for name, value in item.fields.items()
        if isinstance(value, ImageRef)
        and (slot := spec.slot(name)) is not None
        and slot.kind is SlotKind.VIDEO
    ]
