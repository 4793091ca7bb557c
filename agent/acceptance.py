"""Content acceptance: the playlists held per channel, and whether their items may show.

A channel's new payload is parsed against the layouts in use, kept on disk before it is
announced (`content.accepted`, `content.ignored`, `content.cleared`), and its remote
images are wanted from the fetcher. Readiness is a set, not a question asked per tick:
an image is ready once the cache has verified it (asked once when it is first wanted)
or the fetcher says `AssetReady`; items waiting for images are indexed by identity, so
`may_show` costs a dictionary lookup on the hot path. An image found gone when drawn
(`image`) is wanted again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Literal

from agent.assets import AssetCache, AssetFetcher
from agent.caches import ContentStore
from agent.clips import ClipDesk
from agent.content import (
    glyph_warnings,
    parse_playlist,
    playlist_texts,
    remote_clips,
    remote_images,
)
from agent.drawable import Drawable
from agent.events import Events
from agent.messages import (
    Channel,
    ContentAccepted,
    ContentCleared,
    ContentIgnored,
    ContentWarning,
    ErrorDetail,
    Playlist,
    PlaylistItem,
    group_of,
)
from agent.refusals import Refusals
from agent.storage import StorageHealth
from agent.validation import InvalidInput
from display_layouts.image_check import ImageLimits
from display_layouts.image_formats import RemoteImage
from display_layouts.input_problems import Problem
from display_layouts.library import LayoutLibrary

log = logging.getLogger(__name__)


class ContentDesk:
    def __init__(
        self,
        events: Events,
        refusals: Refusals,
        *,
        store: ContentStore,
        storage: StorageHealth,
        assets: AssetCache,
        fetcher: AssetFetcher,
        library: LayoutLibrary,
        max_payload_bytes: int,
        image_limits: ImageLimits,
        audio: bool = False,
    ) -> None:
        self.events = events
        self.refusals = refusals
        self.store = store
        self.storage = storage
        self.assets = assets
        self.fetcher = fetcher
        self.library = library  # the layouts in use: replaced by a reload
        self.max_payload_bytes = max_payload_bytes
        self.image_limits = image_limits
        self.drawable = Drawable()  # items left out: they no longer fit, or failed to draw
        self.playlists: dict[Channel, Playlist] = {}
        self._ready: set[str] = set()  # sha256 of the images and clips verified in the cache
        self._clip_names: set[str] = set()  # the wanted files that are clips, not images
        self.clips = ClipDesk(self.clip, audio=audio)  # the renderer's VideoSource
        self._waiting: dict[int, set[str]] = {}  # id(item) → images it still waits for
        self._lost = False  # an image went missing from the cache: want them again
        # The active alerts' downloaded pictures: asset name → (reference, alert ids).
        self._alert_pictures: dict[str, tuple[RemoteImage, set[str]]] = {}
        # The last content.warning about items left out, per channel (see recheck).
        self._warned: dict[Channel | Literal["alert"], list[ErrorDetail]] = {}

    # --- what may show ----------------------------------------------------------------

    def may_show(self, item: PlaylistItem) -> bool:
        """Playback's `ready`: the item can be drawn, and its images are here (an item
        whose images are not downloaded yet waits rather than showing a hole)."""
        return id(item) not in self._waiting and self.drawable.allows(item)

    def asset_ready(self, sha256: str) -> None:
        clip = sha256 in self._clip_names
        log.info("%s %s is ready", "clip" if clip else "image", sha256[:12])
        self._ready.add(sha256)
        if clip:
            self.clips.mark_ready(self._ready & self._clip_names)
        for item_id in [key for key, shas in self._waiting.items() if sha256 in shas]:
            shas = self._waiting[item_id]
            shas.discard(sha256)
            if not shas:
                del self._waiting[item_id]

    def picture_ready(self, ref: RemoteImage) -> bool:
        """Whether a downloaded picture is verified in the cache (a set lookup: asked for
        the alert on screen every turn)."""
        return ref.asset_name in self._ready

    def want_alert_pictures(self, pictures: dict[str, tuple[RemoteImage, set[str]]]) -> None:
        """The pictures the active alerts show: fetched beside the playlists' images, kept
        in the cache while an alert needs them; a failure is reported once."""
        if pictures != self._alert_pictures:
            self._alert_pictures = pictures
            self.refresh_assets()

    def item_length(self, item: PlaylistItem) -> float:
        """Playback's slot length: `duration_s`; an item that leaves it out and shows a
        clip plays the clip once (CONTRACT §10)."""
        if "duration_s" not in item.model_fields_set:
            spec = self.library.specs.get(item.layout)
            for ref in remote_clips(item, spec) if spec is not None else ():
                length = self.clips.length_s(ref)
                if length is not None:
                    return length
        return float(item.duration_s)

    def clip_names(self, item: PlaylistItem) -> set[str]:
        """The clips `item` shows (empty for most items: a set lookup per file)."""
        return {ref.sha256 for ref in remote_images(item) if ref.sha256 in self._clip_names}

    def items_with(self, name: str) -> list[str]:
        """The ids of the held items that use the file `name`."""
        return [
            item.id
            for playlist in self.playlists.values()
            for item in playlist.items
            if any(ref.sha256 == name for ref in remote_images(item))
        ]

    def clip(self, ref: RemoteImage) -> Path | None:
        """The clip desk's way to the cache: a ready clip found gone is wanted again."""
        path = self.assets.get_clip(ref)
        if path is None and ref.asset_name in self._ready:
            self._ready.discard(ref.asset_name)
            self._lost = True
        return path

    def image(self, ref: RemoteImage) -> Path | None:
        """The renderer's way to the cache: a ready image found gone is wanted again."""
        if ref.asset_name in self._clip_names:
            return None  # a clip is no picture: never read, checked or deleted as one
        path = self.assets.get(ref)
        if path is None and ref.asset_name in self._ready:
            self._ready.discard(ref.asset_name)
            self._lost = True
        return path

    def after_draw(self) -> None:
        """Each turn, after drawing: images found gone are fetched again (rare; a flag)."""
        if self._lost:
            self._lost = False
            self.refresh_assets()

    # --- channels -----------------------------------------------------------------------

    def load(self) -> None:
        """The cached content, at start."""
        self.playlists = self.store.load_all()
        if self.playlists:
            log.info("cached content: %s", ", ".join(sorted(self.playlists)))
            self.refresh_assets()

    def on_payload(self, channel: Channel, topic: str, payload: bytes) -> list[Problem]:
        """Apply a channel's new content; returns the errors when it was rejected."""
        events = self.events
        if not payload:  # an empty retained payload clears the channel
            if self.playlists.pop(channel, None) is not None:
                self._persist(channel, None)
                events.emit(ContentCleared(at=events.now(), channel=channel))
                self.refresh_assets()
            return []
        try:
            playlist = parse_playlist(
                payload,
                layouts=self.library.specs,
                max_bytes=self.max_payload_bytes,
                image_limits=self.image_limits,
                wait_for_layouts=True,  # a layout it names may arrive over MQTT later
            )
        except InvalidInput as exc:
            self.refusals.reject(topic, channel, exc.errors)
            return exc.errors
        held = self.playlists.get(channel)
        if held is not None and playlist.version <= held.version:
            reason = (
                "already held"
                if playlist.version == held.version
                else f"older than the held version {held.version}"
            )
            events.emit(
                ContentIgnored(
                    at=events.now(), channel=channel, version=playlist.version, reason=reason
                )
            )
            return []
        self._persist(channel, playlist)
        self.playlists[channel] = playlist
        events.emit(
            ContentAccepted(
                at=events.now(),
                channel=channel,
                version=playlist.version,
                items=len(playlist.items),
            )
        )
        self.refresh_assets()
        self._warned.pop(channel, None)  # new content: what it waits for is said afresh
        self._recheck_quietly()  # an item naming a layout not here yet waits: said once
        self.warn_about_glyphs(channel, playlist_texts(playlist))
        return []

    def leave(self, channels: list[Channel]) -> None:
        """Channels the board no longer has (the groups a remote assignment left): their
        content stops showing at once and is forgotten on disk, one `content.cleared` each
        (the same event an empty retained payload gives)."""
        events = self.events
        cleared = [channel for channel in channels if self.playlists.pop(channel, None)]
        for channel in cleared:
            self._persist(channel, None)
            events.emit(ContentCleared(at=events.now(), channel=channel))
        if cleared:
            self.refresh_assets()

    def keep_groups(self, groups: Collection[str]) -> None:
        """At start: cached content of a group the board is no longer in (it was moved
        while off) is left as `leave` leaves it."""
        held = set(groups)
        self.leave(
            [
                channel
                for channel in self.playlists
                if (group := group_of(channel)) is not None and group not in held
            ]
        )

    def warn_about_glyphs(self, channel: Channel | Literal["alert"], texts: dict[str, str]) -> None:
        warnings = glyph_warnings(texts)
        if warnings:
            self.events.emit(
                ContentWarning(at=self.events.now(), channel=channel, warnings=warnings)
            )

    def _persist(self, channel: Channel, playlist: Playlist | None) -> None:
        """Keep the channel's content on disk; a failing SD card must not hide new content."""
        key = f"write:content/{channel}"
        try:
            if playlist is None:
                self.store.clear(channel)
            else:
                self.store.save(channel, playlist)
        except OSError as exc:
            message = f"cannot save {channel} content to {self.store.directory}: {exc}"
            self.storage.problem(key, message)
        else:
            self.storage.resolved(key)

    def use_layouts(self, library: LayoutLibrary) -> None:
        """A reload: what failed to draw may draw now, and what fitted may not."""
        self.library = library
        self.drawable.layouts_changed()
        self.recheck()
        self.refresh_assets()

    def layouts_received(self, library: LayoutLibrary) -> None:
        """A layout arrived or was removed over MQTT: held content checked again (an item
        waiting for it shows now, one using a removed one is left out); a channel's
        content.warning is sent only when what it says changed."""
        self.library = library
        self.drawable.layouts_changed()
        self._recheck_quietly()
        self.refresh_assets()  # which slots are clips depends on the layouts

    def recheck(self, *, emit: bool = True) -> list[ContentWarning]:
        """Held content checked against the layouts in use (at start, after a reload)."""
        warnings = self.drawable.recheck(self.playlists, self.library.specs, self.events.now())
        self._warned = {warning.channel: warning.warnings for warning in warnings}
        if emit:
            self.events.emit_all(list(warnings))
        return warnings

    def _recheck_quietly(self) -> None:
        """Held content checked again; only the warnings that are new are sent."""
        warned = self._warned
        warnings = self.recheck(emit=False)
        self.events.emit_all([w for w in warnings if warned.get(w.channel) != w.warnings])

    # --- images and clips ---------------------------------------------------------------

    def _cached(self, ref: RemoteImage, clip: bool) -> bool:
        """Whether the cache holds the file verified (the first ask of a run checks it)."""
        found = self.assets.get_clip(ref) if clip else self.assets.get(ref)
        return found is not None

    def refresh_assets(self) -> None:
        """Fetch the images the held playlists need; forget the ones nobody needs; index
        the items that wait for images (the cache verifies a file the first time)."""
        wanted: dict[str, tuple[RemoteImage, set[str]]] = {}
        waiting: dict[int, set[str]] = {}
        for name, (ref, alert_ids) in self._alert_pictures.items():
            wanted[name] = (ref, set(alert_ids))
            if name not in self._ready and self.assets.get(ref) is not None:
                self._ready.add(name)
        clips: set[str] = set()
        for playlist in self.playlists.values():
            for item in playlist.items:
                spec = self.library.specs.get(item.layout)
                if spec is None:  # waits for its layout, which says what its files are
                    waiting.setdefault(id(item), set()).add(item.layout)
                    continue
                clips.update(ref.sha256 for ref in remote_clips(item, spec))
                for ref in remote_images(item):
                    name = ref.sha256
                    if self.clips.refused(name):  # failed while playing: not this run
                        waiting.setdefault(id(item), set()).add(name)
                        continue
                    wanted.setdefault(name, (ref, set()))[1].add(item.id)
                    if name not in self._ready and self._cached(ref, name in clips):
                        self._ready.add(name)
                    if name not in self._ready:
                        waiting.setdefault(id(item), set()).add(name)
        self._ready.intersection_update(wanted)
        self._clip_names = clips
        self._waiting = waiting
        self.clips.mark_ready(self._ready & clips)
        self.fetcher.want(wanted, once=self._alert_pictures.keys(), clips=clips)
        try:
            removed = self.assets.collect_garbage(wanted.keys())
        except OSError as exc:
            log.warning("asset clean-up failed: %s", exc)
            return
        if removed:
            log.info("removed %d unused images from the cache", removed)
