"""The downloaded images and clips on disk, named by their SHA-256; only verified ones are
handed out."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.storage import (
    StateFileProblem,
    StorageHealth,
    atomic_write,
    fsync_dir,
    read_state_file,
)
from display_layouts.image_check import DEFAULT_LIMITS, ImageLimits, check_image
from display_layouts.image_formats import RemoteImage

log = logging.getLogger(__name__)

SHA1_PREFIX = "sha1-"  # a CAP <resource>'s name: CAP 1.2 gives a SHA-1 <digest>


def content_digest(name: str) -> Any:
    """A fresh hash object of the kind an asset name says (hashlib's type is private):
    SHA-256 for a playlist's image, SHA-1 for a CAP resource ("sha1-…"): CAP 1.2 names
    SHA-1 for `<digest>`, an integrity check of the bytes the alert names (finding other
    bytes with a given SHA-1 is still out of reach; only collisions are practical)."""
    if name.startswith(SHA1_PREFIX):
        return hashlib.sha1(usedforsecurity=False)
    return hashlib.sha256()


def digest_hex(name: str) -> str:
    """The hex digest an asset name stands for."""
    return name.removeprefix(SHA1_PREFIX)


class AssetCache:
    """Files named by their SHA-256 under `directory/<2 hex>/<64 hex>` (a CAP resource's
    by its SHA-1, as `sha1-<40 hex>`).

    A file is handed out only once it is known good: written by `put` after the fetcher
    verified it, or (a file from an earlier run, or from an older agent that did not check
    pictures) verified here on its first use. A file that fails is deleted, so the fetcher
    downloads it again and reports, with `asset.failed`, why it cannot be used; damage
    found on disk (a truncated or replaced file, a worn SD card) is also a `storage.error`
    naming the file, once.
    """

    def __init__(
        self,
        directory: Path,
        *,
        limits: ImageLimits = DEFAULT_LIMITS,
        max_bytes: int = 256 * 1024 * 1024,
        health: StorageHealth | None = None,
    ) -> None:
        self.directory = directory
        self.limits = limits
        self.max_bytes = max_bytes
        self.health = health or StorageHealth()
        try:  # a read-only or broken state dir: downloads then fail, each with its event
            directory.mkdir(parents=True, exist_ok=True)
            for left in directory.glob("*/.*.part"):  # a download cut short by a crash
                left.unlink(missing_ok=True)
        except OSError as exc:
            log.error("image cache %s cannot be used: %s", directory, exc)
        self._verified: set[str] = set()
        self._lock = threading.Lock()  # `put` runs on the fetcher's workers

    def path(self, sha256: str) -> Path:
        return self.directory / digest_hex(sha256)[:2] / sha256

    def get(self, ref: RemoteImage) -> Path | None:
        """The cached, verified file for `ref`, or None while there is none."""
        return self._get(ref, clip=False)

    def get_clip(self, ref: RemoteImage) -> Path | None:
        """The cached, verified clip for `ref`, or None while there is none (checked by
        its record, or hashed and probed: agent/assets/clip_record.py)."""
        return self._get(ref, clip=True)

    def _get(self, ref: RemoteImage, *, clip: bool) -> Path | None:
        name = ref.asset_name
        path = self.path(name)
        with self._lock:
            if name in self._verified:
                if path.exists():
                    return path
                self._verified.discard(name)
        if not os.path.lexists(path):
            return None
        if clip:
            from agent.assets import clip_record

            if clip_record.cannot_check():
                return None
            problem = clip_record.clip_problem(path, content_digest(name), digest_hex(name))
        else:
            problem = self._verify(name, path)
        if problem is None:
            with self._lock:
                self._verified.add(name)
            return path
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            done = "deleted; it is downloaded again"
        except OSError as exc:
            done = f"could not be deleted ({exc.strerror or exc}); it is not shown"
        kind = "clip" if clip else "image"
        self.health.problem(f"damaged:{path}", f"cached {kind} {path} {problem}: {done}")
        return None

    def _verify(self, sha256: str, path: Path) -> str | None:
        """Why a cached file is not the picture it is named after, or None."""
        try:
            data = read_state_file(path, self.max_bytes)
        except StateFileProblem as problem:
            return problem.reason
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if data is None:
            return "vanished"
        digest = content_digest(sha256)
        digest.update(data)
        if digest.hexdigest() != digest_hex(sha256):
            return f"does not match its {digest.name.upper().replace('SHA', 'SHA-')}"
        return check_image(data, self.limits)

    def put(self, sha256: str, data: bytes) -> None:
        """Store verified bytes (the caller checked the hash and the picture)."""
        atomic_write(self.path(sha256), data)
        with self._lock:
            self._verified.add(sha256)

    def partial(self, sha256: str, worker: str) -> Path:
        """Where a download is written while it arrives (hidden from `collect_garbage`)."""
        path = self.path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f".{sha256}.{worker}.part")

    def adopt(self, sha256: str, partial: Path, *, clip: bool = False) -> None:
        """Make a complete, verified download the cached file (an atomic rename); a
        clip's record says it need not be hashed again at the next start."""
        with partial.open("rb+") as file:
            os.fsync(file.fileno())
        partial.replace(self.path(sha256))
        fsync_dir(partial.parent)
        if clip:
            from agent.assets.clip_record import write_record

            write_record(self.path(sha256))
        with self._lock:
            self._verified.add(sha256)

    def collect_garbage(self, keep: Iterable[str]) -> int:
        """Delete every cached file not in `keep`; returns how many went."""
        wanted = set(keep)
        removed = 0
        for path in self.directory.glob("*/*"):
            if path.name not in wanted and not path.name.startswith("."):
                path.unlink(missing_ok=True)
                removed += 1
                with self._lock:
                    self._verified.discard(path.name)
        for record in self.directory.glob("*/.*.clip"):  # a clip's record goes with it
            if record.name[1:].removesuffix(".clip") not in wanted:
                record.unlink(missing_ok=True)
        return removed
