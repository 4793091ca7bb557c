"""The clips a preview's video slots name, played by the board's own player (ClipPlayer).

- A path to a clip on this computer (relative to the content file, or absolute; only in
  `preview`, the studio's page cannot give one) is hashed and played where it is.
- `{"url": …, "sha256": …}` as a playlist sends it, or a plain http(s) URL while its
  author does not know the digest yet, is downloaded (clip_fetch.py: the board's
  deadlines and rules, the SHA-256 checked) into a temp folder kept for the session.

Either way the clip must pass `probe_clip`, the board's own check, before anything is
drawn; a refused clip is one sentence naming the file or URL, never a traceback. The
still shows the frame due at `--at` seconds (the first frame without it): looping for
the item's `duration_s` when the item gives one, else played once, its last frame
staying past its end, as on a board.

PyAV is imported only when a video slot holds a value: a preview of text or pictures
does not load FFmpeg.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.assets.download import DownloadError, FetchSettings
from agent.preview.clip_fetch import CLIP_FETCH, MAX_CLIP_BYTES, download_clip
from agent.preview.slot_values import Unusable, remote_value, replace_slots
from display_layouts.spec import LayoutSpec, SlotKind
from signage_base.portable import READ_FLAGS

if TYPE_CHECKING:
    from datetime import datetime

    import pygame

    from agent.video.player import ClipPlayer
    from agent.video.probe import ClipInfo
    from display_layouts.image_formats import RemoteImage

_URL = re.compile(r"^https?://", re.IGNORECASE)
# What a local clip's slot holds once hashed: a reference the board's model accepts (the
# host can never resolve: RFC 2606), played from the file itself.
LOCAL_URL = "https://preview.invalid/"
NOT_A_REFERENCE = (
    'a video slot takes {"url": …, "sha256": …}: where the clip is served and its SHA-256'
)
# Players kept between stills (a studio asks for five sizes at once).
MAX_PLAYERS = 8
_CHUNK = 1024 * 1024
# A player per clip, zone size and looping (a `--watch` save may change duration_s).
_Key = tuple[str, tuple[int, int], float | None]


class ClipStore:
    """A `VideoSource` (display_layouts/video_source.py) for one preview session or
    studio: the clips its drafts name, by SHA-256, checked, with a player per zone size.
    `local_paths`: whether a slot may name a file on this computer."""

    def __init__(self, settings: FetchSettings = CLIP_FETCH, *, local_paths: bool = True) -> None:
        self.settings = settings
        self.local_paths = local_paths
        # The item's duration_s when it gives one (the clip loops), else None (once).
        self.duration_s: float | None = None
        self._lock = threading.Lock()  # the studio's requests come on several threads
        self._folder: Path | None = None
        self._fetched: dict[tuple[str, str | None], str] = {}  # (url, sha256) -> digest
        self._hashed: dict[tuple[str, int, int], str] = {}  # (path, mtime, size) -> digest
        self._clips: dict[str, tuple[Path, ClipInfo, str]] = {}  # digest -> file, facts, name
        self._players: OrderedDict[_Key, tuple[ClipPlayer, float]]
        self._players = OrderedDict()
        self._failures: list[str] = []
        self._said: set[str] = set()
        self._notes: list[str] = []
        weakref.finalize(self, _close_all, self._players)

    # --- the slots ------------------------------------------------------------------

    def drawable(
        self, spec: LayoutSpec, fields: Mapping[str, Any], base: Path | None
    ) -> dict[str, Any]:
        """`fields` with each video slot's path or URL replaced by the `{url, sha256}` of
        a clip checked and ready to play; `InvalidInput` naming the slot and the file or
        URL that cannot be used. Other values are left for the board's checks."""
        return replace_slots(spec, fields, SlotKind.VIDEO, self._drawable, base)

    def _drawable(self, name: str, value: object, base: Path | None) -> object:
        if isinstance(value, dict):
            return remote_value(value, lambda url, sha256: self._remote(name, url, sha256))
        if not isinstance(value, str) or not value.strip():
            return value
        if _URL.match(value):
            return self._remote(name, value, None)
        if not self.local_paths:
            raise Unusable(NOT_A_REFERENCE)
        return self._local(name, value, base)

    def _remote(self, name: str, url: str, sha256: str | None) -> dict[str, str]:
        _check_video()
        with self._lock:
            digest = self._fetched.get((url, sha256))
        if digest is None or digest not in self._clips:
            path = self._fetch(url, sha256)
            digest = path.name
            self._probe(path, digest, url)
            with self._lock:
                self._fetched[(url, sha256)] = digest
        if sha256 is None:
            self._note(
                f"fields.{name}: a board needs the clip's SHA-256 too: "
                f'{{"url": "{url}", "sha256": "{digest}"}}'
            )
        return {"url": url, "sha256": digest}

    def _fetch(self, url: str, sha256: str | None) -> Path:
        folder = self._session_folder()
        handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(handle)  # opened by its path: the downloader probes the file by its name
        try:
            with open(partial, "w+b") as sink:  # noqa: PTH123
                digest = download_clip(url, sha256, self.settings, sink)
        except DownloadError as exc:
            Path(partial).unlink(missing_ok=True)
            raise Unusable(f"{url}: {exc}") from None
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        path = folder / digest
        Path(partial).replace(path)
        return path

    def _local(self, name: str, value: str, base: Path | None) -> dict[str, str]:
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        _check_video()
        digest = self._hash(path)
        if digest not in self._clips:
            self._probe(path, digest, str(path))
        self._note(
            f"fields.{name}: {path} is played from this computer; a playlist must name it "
            f'where it is served: {{"url": "https://…/{path.name}", "sha256": "{digest}"}}'
        )
        return {"url": LOCAL_URL + digest, "sha256": digest}

    def _hash(self, path: Path) -> str:
        """The SHA-256 of a regular file of at most the board's clip size (a FIFO must
        not hang the preview); remembered while the file is unchanged (`--watch`)."""
        try:
            fd = os.open(path, READ_FLAGS)
        except FileNotFoundError:
            raise Unusable(f"no clip file {path}") from None
        except OSError as exc:
            raise Unusable(f"{path}: cannot be read ({exc.strerror or exc})") from None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise Unusable(f"{path}: not a clip file")
            if info.st_size > MAX_CLIP_BYTES:
                raise Unusable(
                    f"{path} is {info.st_size // (1024 * 1024)} MiB; a board takes clips up "
                    f"to {MAX_CLIP_BYTES // (1024 * 1024)} MiB"
                )
            key = (str(path.resolve()), info.st_mtime_ns, info.st_size)
            with self._lock:
                known = self._hashed.get(key)
            if known is not None:
                return known
            digest = hashlib.sha256()
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
        with self._lock:
            self._hashed[key] = digest.hexdigest()
        return digest.hexdigest()

    def _probe(self, path: Path, digest: str, shown: str) -> None:
        from agent.video.probe import ClipProblem, probe_clip

        try:
            info = probe_clip(path)
        except ClipProblem as problem:
            raise Unusable(f"{shown}: {problem.reason}") from None
        with self._lock:
            self._clips[digest] = (path, info, shown)

    # --- the renderer's VideoSource ---------------------------------------------------

    def ready(self, ref: RemoteImage) -> bool:
        return ref.asset_name in self._clips

    def frame_rate(self, ref: RemoteImage) -> float | None:
        found = self._clips.get(ref.asset_name)
        return None if found is None else float(found[1].frame_rate)

    def frame(
        self, ref: RemoteImage, size: tuple[int, int], started: datetime, elapsed: float
    ) -> pygame.Surface | None:
        """The clip's picture due `elapsed` seconds into the item. A clip found damaged
        while decoding up to it draws nothing and is said by `take_failures` (the
        preview's problem line), not raised: the renderer would log a traceback."""
        found = self._clips.get(ref.asset_name)
        if found is None:
            return None
        path, info, shown = found
        elapsed = self._within_item(info, elapsed)
        key = (ref.asset_name, size, self.duration_s)
        with self._lock:
            held = self._players.pop(key, None)
            if held is not None and held[1] > elapsed:  # a player only goes forward
                held[0].close()
                held = None
            try:
                player = held[0] if held is not None else self._player(path, size, info)
            except Unusable as exc:
                self._failures.append(f"{shown}: {exc}")
                return None
            picture = player.frame_at(elapsed)
            if picture is None:
                if player.problem is not None:
                    self._failures.append(f"{shown}: {player.problem.reason}")
                player.close()
                return None
            self._players[key] = (player, elapsed)
            while len(self._players) > MAX_PLAYERS:
                self._players.popitem(last=False)[1][0].close()
            return picture

    def _within_item(self, info: ClipInfo, elapsed: float) -> float:
        """Past the item's end (or a clip played once past its own), its last frame."""
        rate = float(info.frame_rate)
        end = info.duration_s if self.duration_s is None else self.duration_s
        return max(0.0, min(elapsed, end - 0.5 / rate))

    def _player(self, path: Path, size: tuple[int, int], info: ClipInfo) -> ClipPlayer:
        from agent.video.player import ClipPlayer
        from agent.video.probe import ClipProblem

        try:
            return ClipPlayer(path, size, duration_s=self.duration_s, info=info)
        except ClipProblem as problem:
            raise Unusable(problem.reason) from None

    # --- what is said ---------------------------------------------------------------

    def take_failures(self) -> list[str]:
        """Clips found damaged while drawing since last asked, each one sentence."""
        with self._lock:
            failures, self._failures = list(dict.fromkeys(self._failures)), []
        return failures

    def take_notes(self) -> list[str]:
        """What a board would need instead of what the preview played, each said once."""
        with self._lock:
            notes, self._notes = self._notes, []
        return notes

    def _note(self, note: str) -> None:
        with self._lock:
            if note not in self._said:
                self._said.add(note)
                self._notes.append(note)

    def close(self) -> None:
        with self._lock:
            _close_all(self._players)

    def _session_folder(self) -> Path:
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="signage-preview-clips-"))
                # Removed with the session (or at exit): a preview leaves no files behind.
                weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
            return self._folder


def _close_all(players: OrderedDict[_Key, tuple[ClipPlayer, float]]) -> None:
    while players:
        players.popitem()[1][0].close()


def _check_video() -> None:
    """PyAV and a decoder present, or the one line saying what to install."""
    from agent.video import unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        raise Unusable(reason)
