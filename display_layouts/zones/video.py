"""`video`: a clip from a slot ({url, sha256}, downloaded like an image), letterboxed in
the zone, one picture per frame of the clip (CONTRACT §10)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from display_layouts import templates
from display_layouts.spec import SlotKind
from display_layouts.video_source import clip_ref
from display_layouts.zones.base import Binding, Zone, zone_type

if TYPE_CHECKING:
    import pygame

    from display_layouts.image_formats import RemoteImage
    from display_layouts.paint import Context, Paint


def _check_binding(value: str) -> str:
    parts = templates.parse(value)
    if len(parts) != 1 or parts[0][0] or parts[0][1] is None:
        raise ValueError('a video comes from one slot, written like "{video}"')
    if parts[0][1] in templates.BUILTIN_VARIABLES:
        raise ValueError(f"'{parts[0][1]}' is text, not a video slot")
    return value


@zone_type
class VideoZone(Zone):
    type: Literal["video"]
    video: Annotated[str, AfterValidator(_check_binding)] = Field(
        description='The slot holding the clip, e.g. "{video}".'
    )

    @property
    def slot(self) -> str:
        return templates.variables(self.video)[0]

    def bindings(self) -> tuple[Binding, ...]:
        return (Binding(self.slot, SlotKind.VIDEO),)

    def _clip(self, ctx: Context) -> RemoteImage | None:
        ref = clip_ref(ctx.fields.get(self.slot))
        videos = ctx.videos
        if videos is None or ref is None:
            return None
        return ref if videos.ready(ref) else None

    def has_content(self, ctx: Context) -> bool:
        return self._clip(ctx) is not None

    def next_change(self, ctx: Context, rect: pygame.Rect) -> datetime | None:
        """The clip's next picture: frame boundaries counted from the item's start, so the
        board's loop wakes when a frame is due, not at its own rate."""
        clip = self._clip(ctx)
        if clip is None or ctx.videos is None:
            return None
        rate = ctx.videos.frame_rate(clip) or ctx.fps
        frames = math.floor(ctx.elapsed * rate + 1e-6) + 1
        return ctx.started + timedelta(seconds=frames / rate)

    def paint(self, paint: Paint, rect: pygame.Rect) -> None:
        clip = self._clip(paint)
        area = rect.clip(paint.surface.get_rect())
        if clip is None or paint.videos is None or area.width <= 0 or area.height <= 0:
            return
        # ClipFailed goes up on purpose: the renderer counts the zone as failed and the
        # frame's fault path skips the item, so a damaged clip never freezes the screen.
        picture = paint.videos.frame(clip, area.size, paint.started, paint.elapsed)
        if picture is not None:
            paint.surface.blit(picture, area)
