"""Remote images: a content-addressed cache on disk and a downloader thread.

A playlist names a remote image by URL and SHA-256. The file is downloaded once, checked
against the hash, and stored under its hash, so the same image used by many items (or
by the next version of a playlist) is fetched once and survives restarts. An item waits
until all its images are in the cache; it never shows a hole.

The downloader thread only fetches and writes files; it reports to the core's queue
(`AssetReady`, `AssetFailure`), which owns every decision about what is shown.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import random
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import __version__
from agent.messages import ImageRef
from agent.storage import StateFileProblem, StorageHealth, atomic_write, open_state_file

log = logging.getLogger(__name__)

DEFAULT_MAX_ASSET_BYTES = 16 * 1024 * 1024
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class AssetReady:
    sha256: str


@dataclass(frozen=True, slots=True)
class AssetFailure:
    item_ids: tuple[str, ...]
    url: str
    message: str


class AssetCache:
    """Files named by their SHA-256 under `directory/<2 hex>/<64 hex>`.

    A cached file is checked against its name the first time it is used in a process: a
    truncated or replaced file (a worn SD card, a power cut) is deleted and reported, and
    downloaded again, instead of being drawn broken."""

    def __init__(self, directory: Path, health: StorageHealth | None = None) -> None:
        self.directory = directory
        self.health = health or StorageHealth()
        self._verified: set[str] = set()
        try:  # a read-only or broken state dir: downloads then fail, each with its event
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.error("image cache %s cannot be made: %s", directory, exc)

    def path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    def get(self, ref: ImageRef) -> Path | None:
        """The cached file for `ref`, or None while it is not downloaded."""
        path = self.path(ref.sha256)
        if ref.sha256 in self._verified:
            if path.exists():
                return path
            self._verified.discard(ref.sha256)
        if not os.path.lexists(path):
            return None
        problem = self._damage(path, ref.sha256)
        if problem is None:
            self._verified.add(ref.sha256)
            return path
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            done = "deleted; it is downloaded again"
        except OSError as exc:
            done = f"could not be deleted ({exc.strerror or exc}); it is not shown"
        self.health.problem(f"damaged:{path}", f"cached image {path} {problem}: {done}")
        return None

    @staticmethod
    def _damage(path: Path, sha256: str) -> str | None:
        """Why a cached file is not the image it is named after, or None."""
        try:
            fd = open_state_file(path)
            if fd is None:
                return "vanished"
            digest = hashlib.sha256()
            with os.fdopen(fd, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
        except StateFileProblem as problem:
            return problem.reason
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        return None if digest.hexdigest() == sha256 else "does not match its SHA-256"

    def put(self, sha256: str, data: bytes) -> None:
        atomic_write(self.path(sha256), data)
        self._verified.add(sha256)  # checked against the hash when downloaded

    def collect_garbage(self, keep: Iterable[str]) -> int:
        """Delete every cached file not in `keep`; returns how many went."""
        wanted = set(keep)
        removed = 0
        for path in self.directory.glob("*/*"):
            if path.name not in wanted and not path.name.startswith("."):
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class DownloadError(Exception):
    pass


def download(url: str, sha256: str, *, max_bytes: int, timeout: float) -> bytes:
    """The verified bytes of an image, or `DownloadError` saying what went wrong."""
    request = urllib.request.Request(url, headers={"User-Agent": f"signage-agent/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(f"larger than the limit of {max_bytes} bytes")
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"unreachable: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise DownloadError(f"download failed: {exc}") from None
    data = b"".join(chunks)
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise DownloadError(f"SHA-256 mismatch: got {actual}")
    if not data.startswith(_IMAGE_MAGIC):
        raise DownloadError("not a PNG or JPEG image")
    return data


@dataclass
class _Job:
    ref: ImageRef
    item_ids: set[str]
    attempt: int = 0
    due: float = 0.0


class AssetFetcher:
    """One background thread that downloads what the core asks for, with retries."""

    def __init__(
        self,
        cache: AssetCache,
        report: queue.Queue[Any],
        *,
        max_bytes: int = DEFAULT_MAX_ASSET_BYTES,
        timeout: float = 20.0,
        retry_min_s: float = 2.0,
        retry_max_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.report = report
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        self._jobs: dict[str, _Job] = {}
        self._changed = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._rng = random.Random()

    def want(self, wanted: dict[str, tuple[ImageRef, set[str]]]) -> None:
        """Replace the set of wanted images: sha256 → (reference, ids of the items using it).

        Images no longer wanted are dropped from the queue (a replaced playlist must not
        keep fetching); new ones are fetched at once.
        """
        with self._changed:
            for sha in list(self._jobs):
                if sha not in wanted:
                    del self._jobs[sha]
            for sha, (ref, item_ids) in wanted.items():
                if self.cache.get(ref) is not None:
                    continue
                job = self._jobs.get(sha)
                if job is None:
                    self._jobs[sha] = _Job(ref, set(item_ids), due=self.clock())
                else:
                    job.item_ids = set(item_ids)
            self._changed.notify()
        self._ensure_thread()

    @property
    def pending(self) -> int:
        with self._changed:
            return len(self._jobs)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="asset-fetcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _next_job(self) -> _Job | None:
        with self._changed:
            while not self._stopping:
                now = self.clock()
                due = [job for job in self._jobs.values() if job.due <= now]
                if due:
                    return min(due, key=lambda job: job.due)
                wait = min((job.due - now for job in self._jobs.values()), default=None)
                self._changed.wait(timeout=wait)
            return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            ref = job.ref
            try:
                data = download(ref.url, ref.sha256, max_bytes=self.max_bytes, timeout=self.timeout)
                self.cache.put(ref.sha256, data)
            except (DownloadError, OSError) as exc:
                self._failed(job, str(exc))
                continue
            with self._changed:
                self._jobs.pop(ref.sha256, None)
            log.info("downloaded %s (%d bytes)", ref.url, len(data))
            self.report.put(AssetReady(ref.sha256))

    def _failed(self, job: _Job, message: str) -> None:
        with self._changed:
            if self._jobs.get(job.ref.sha256) is not job:
                return  # no longer wanted
            job.attempt += 1
            step = min(self.retry_max_s, self.retry_min_s * 2 ** (job.attempt - 1))
            delay = step * self._rng.uniform(0.5, 1.0)
            job.due = self.clock() + delay
            item_ids = tuple(sorted(job.item_ids))
        log.warning("image %s: %s; retry in %.0f s", job.ref.url, message, delay)
        self.report.put(
            AssetFailure(item_ids, job.ref.url, f"{message} (attempt {job.attempt}; retrying)")
        )
