"""Files that must survive power loss and damage: atomic writes, careful reads, and the
state files (content cache, active alerts, heartbeat `seq`).

Boards lose power without warning. A file is either the old version or the new one,
never half of each: write a temp file, fsync it, rename it over the target, fsync the
directory.

And any file in the state dir may be found damaged at start-up (a worn SD card, a
technician's mistake, a power cut in the wrong place): truncated, empty, garbage, a
directory, a FIFO, a link to `/dev/zero`, huge. A damaged file never stops the agent: it is
read only when it is a regular file of a plausible size, moved aside as
`<name>.bad-<UTC time>` (the last few copies are kept for a post-mortem), and reported
once as `storage.error` naming the file and what the agent did instead.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from agent.messages import CHANNELS, Alert, Channel, Playlist

log = logging.getLogger(__name__)

BAD_SUFFIX = ".bad-"
BAD_COPIES_KEPT = 3  # per file: enough for a post-mortem, never a full SD card
MAX_CACHED_CONTENT_BYTES = 128 * 1024 * 1024  # above the largest payload a board accepts


def cached_content_limit(max_payload_bytes: int) -> int:
    """The largest plausible cached playlist: an accepted payload as the agent saves it
    (defaults spelled out) stays well within twice its size plus a margin."""
    return 2 * max_payload_bytes + 1024 * 1024


MAX_CACHED_ALERT_BYTES = 1024 * 1024


def fsync_dir(directory: Path) -> None:
    """A rename survives a power cut only once the directory is on disk too."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        # A full disk leaves a partial temp file: remove it, or it holds the space.
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_delete(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        fsync_dir(path.parent)


# --- damaged files -------------------------------------------------------------------------


class StorageHealth:
    """Problems with the state dir, each said once (per file and kind of problem) until it
    is resolved: a full SD card must not turn every heartbeat into a `storage.error`."""

    def __init__(self, sink: Callable[[str], None] | None = None) -> None:
        self.sink = sink
        self._failing: set[str] = set()

    def problem(self, key: str, message: str) -> None:
        if key in self._failing:
            log.debug("still: %s", message)
            return
        self._failing.add(key)
        if self.sink is not None:
            self.sink(message)
        else:
            log.error("%s", message)

    def resolved(self, key: str) -> None:
        self._failing.discard(key)

    def failing(self, key: str) -> bool:
        return key in self._failing


class StateFileProblem(Exception):
    """A state file that cannot be used as it is; `reason` says why (for the report)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _kind(mode: int) -> str:
    kinds = {
        stat.S_IFDIR: "a directory",
        stat.S_IFIFO: "a FIFO",
        stat.S_IFCHR: "a character device",
        stat.S_IFBLK: "a block device",
        stat.S_IFSOCK: "a socket",
        stat.S_IFLNK: "a symbolic link",
    }
    return kinds.get(stat.S_IFMT(mode), "not a regular file")


def open_state_file(path: Path) -> int | None:
    """A file descriptor of `path` when it is a regular file; None when there is none.

    Never blocks (a FIFO), never follows a link (the state dir is the agent's own: a
    link in it is damage, and may point at `/dev/zero`)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateFileProblem("is a symbolic link") from None
        raise StateFileProblem(f"cannot be opened ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise StateFileProblem(f"cannot be examined ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise StateFileProblem(f"is {_kind(mode)}, not a file")
    return fd


def read_state_file(path: Path, max_bytes: int) -> bytes | None:
    """The bytes of a state file, None when it does not exist, or `StateFileProblem`."""
    fd = open_state_file(path)
    if fd is None:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise StateFileProblem(f"is {size} bytes, more than such a file can be ({max_bytes})")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1024 * 1024, max_bytes + 1 - total) or 1):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise StateFileProblem(f"is more than such a file can be ({max_bytes} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise StateFileProblem(f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def quarantine(path: Path) -> Path:
    """Move a damaged file (or whatever is in its place) aside as `<name>.bad-<UTC time>`,
    keeping the newest few such copies; returns the new path or raises `OSError`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}{BAD_SUFFIX}{stamp}")
    n = 1
    while os.path.lexists(target):
        target = path.with_name(f"{path.name}{BAD_SUFFIX}{stamp}-{n}")
        n += 1
    path.rename(target)
    with contextlib.suppress(OSError):
        fsync_dir(path.parent)
    _prune_bad_copies(path)
    return target


def _prune_bad_copies(path: Path) -> None:
    try:
        copies = sorted(
            (p for p in path.parent.iterdir() if p.name.startswith(path.name + BAD_SUFFIX)),
            key=lambda p: p.lstat().st_mtime_ns,
        )
    except OSError:
        return
    for old in copies[:-BAD_COPIES_KEPT]:
        with contextlib.suppress(OSError):
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            else:
                old.unlink()


def set_aside(path: Path, reason: str, instead: str, health: StorageHealth) -> None:
    """Quarantine a damaged state file and say so once: which file, why, what instead."""
    try:
        moved = quarantine(path)
        done = f"moved aside as {moved.name}"
    except OSError as exc:
        done = f"could not be moved aside ({exc.strerror or exc}), ignored"
    health.problem(f"damaged:{path}", f"state file {path} {reason}: {done}; {instead}")


def ensure_dir(path: Path, health: StorageHealth) -> bool:
    """`path` is a directory (created when missing; whatever else is in its place is set
    aside); False, reported, when that cannot be."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        health.problem(f"dir:{path}", f"state folder {path} cannot be examined: {exc}")
        return False
    if mode is not None and not stat.S_ISDIR(mode):
        set_aside(path, f"is {_kind(mode)}, not a folder", "a new folder is made", health)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        health.problem(
            f"dir:{path}",
            f"state folder {path} cannot be made ({exc.strerror or exc}): what belongs in it "
            "is not kept across restarts",
        )
        return False
    return True


def short_reason(exc: BaseException, limit: int = 200) -> str:
    """What went wrong, in one bounded line (for reports: never a whole payload)."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "$"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        text = f"{where}: {first['msg']}{more}"
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ContentStore:
    """The last accepted playlist of each channel, on disk under `state_dir/content/`."""

    def __init__(
        self,
        state_dir: Path,
        health: StorageHealth | None = None,
        *,
        max_bytes: int = MAX_CACHED_CONTENT_BYTES,
    ) -> None:
        self.directory = state_dir / "content"
        self.health = health or StorageHealth()
        self.max_bytes = max_bytes  # larger is damage: never read into memory
        ensure_dir(self.directory, self.health)

    def _path(self, channel: Channel) -> Path:
        return self.directory / f"{channel}.json"

    def save(self, channel: Channel, playlist: Playlist) -> None:
        atomic_write(self._path(channel), playlist.model_dump_json(by_alias=True).encode())

    def clear(self, channel: Channel) -> None:
        atomic_delete(self._path(channel))

    def load_all(self) -> dict[Channel, Playlist]:
        """Everything cached; a damaged file is set aside and reported, never fatal."""
        playlists: dict[Channel, Playlist] = {}
        for channel in CHANNELS:
            path = self._path(channel)
            instead = f"the {channel} channel is empty until its content is sent again"
            try:
                raw = read_state_file(path, self.max_bytes)
                if raw is None:
                    continue
                playlists[channel] = Playlist.model_validate_json(raw)
            except StateFileProblem as problem:
                set_aside(path, problem.reason, instead, self.health)
            except (ValueError, RecursionError) as exc:
                reason = f"is not a valid playlist ({short_reason(exc)})"
                set_aside(path, reason, instead, self.health)
        return playlists


class AlertStore:
    """Active alerts on disk, so a board that boots without its broker still shows them."""

    def __init__(self, state_dir: Path, health: StorageHealth | None = None) -> None:
        self.directory = state_dir / "alerts"
        self.health = health or StorageHealth()
        ensure_dir(self.directory, self.health)

    def save(self, alert: Alert) -> None:
        atomic_write(self.directory / f"{alert.id}.json", alert.model_dump_json().encode())

    def delete(self, alert_id: str) -> None:
        atomic_delete(self.directory / f"{alert_id}.json")

    def load_all(self) -> list[Alert]:
        """Every cached alert; a damaged file is set aside and reported, never fatal."""
        alerts = []
        try:
            paths = sorted(p for p in self.directory.iterdir() if p.name.endswith(".json"))
        except OSError as exc:
            if not isinstance(exc, FileNotFoundError):
                self.health.problem(
                    f"dir:{self.directory}",
                    f"state folder {self.directory} cannot be listed ({exc.strerror or exc}): "
                    "cached alerts are not shown until the broker sends them again",
                )
            return []
        for path in paths:
            instead = "that alert shows again when the broker sends it"
            try:
                raw = read_state_file(path, MAX_CACHED_ALERT_BYTES)
                if raw is None:
                    continue  # gone meanwhile
                alerts.append(Alert.model_validate_json(raw))
            except StateFileProblem as problem:
                set_aside(path, problem.reason, instead, self.health)
            except (ValueError, RecursionError) as exc:
                set_aside(path, f"is not a valid alert ({short_reason(exc)})", instead, self.health)
        return alerts


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SeqCounter:
    """Heartbeat `seq`: grows by one per heartbeat, also across restarts; never repeats.

    Writing the number on every heartbeat would wear out SD cards, so numbers are
    reserved in blocks: the file holds the first number not yet reserved. A clean stop
    writes the exact next number; after a crash the counter skips to the reserved
    mark, so a number is never repeated (a gap tells the dashboard something was lost).

    When the file is damaged (garbage, empty, negative, not a file) the number it held is
    unknown. Starting again at 1 would make `seq` go backwards, so the counter continues
    from the wall clock in milliseconds since 1970: a board sends at most one heartbeat a
    second and skips at most one block per restart (which takes far longer than a
    millisecond per number), so its `seq` can never have reached that value. `at_least`
    (the highest `seq` still waiting in the outbox, plus one) is a floor on top. The same
    rule applies when a reservation cannot be written (read-only or full state dir): the
    mark on disk could then lag behind what was sent.
    """

    BLOCK = 64
    MAX_FILE_BYTES = 64
    MAX_SEQ = 2**53  # still exact in every JSON reader

    def __init__(
        self,
        path: Path,
        health: StorageHealth | None = None,
        *,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.path = path
        self.health = health or StorageHealth()
        self.wall_ms = wall_ms
        self.writes = 0
        self._on_clock = False  # the on-disk mark cannot be trusted: follow the clock rule
        self._next = self._read()
        self._reserved_until = self._next

    def _read(self) -> int:
        try:
            raw = read_state_file(self.path, self.MAX_FILE_BYTES)
        except StateFileProblem as problem:
            return self._recover(problem.reason)
        if raw is None:
            return 1  # a new board
        try:
            value = int(raw.decode("ascii").strip())
        except ValueError:  # UnicodeDecodeError is one
            return self._recover("does not hold a number" if raw.strip() else "is empty")
        if not 1 <= value <= self.MAX_SEQ:
            return self._recover(f"holds {value}, which no heartbeat seq can be")
        return value

    def _recover(self, reason: str) -> int:
        value = self._clock_value()
        set_aside(
            self.path,
            reason,
            f"heartbeat seq continues at {value} (the clock in milliseconds: above any seq "
            "sent before), so it never goes back",
            self.health,
        )
        return value

    def _clock_value(self) -> int:
        self._on_clock = True
        return min(self.MAX_SEQ, max(1, self.wall_ms()))

    def at_least(self, floor: int) -> None:
        """Continue at `floor` or later (the outbox still holds heartbeats up to floor - 1)."""
        if floor > self._next:
            log.warning("heartbeat seq moved from %d to %d (outbox)", self._next, floor)
            self._next = floor

    def _write(self, value: int) -> bool:
        try:
            atomic_write(self.path, f"{value}\n".encode())
        except OSError as exc:  # heartbeats go on; only the restart continuity is at risk
            self.health.problem(
                f"write:{self.path}",
                f"cannot save heartbeat seq to {self.path} ({exc.strerror or exc}): seq "
                "follows the clock until it can, so it never repeats",
            )
            return False
        self.health.resolved(f"write:{self.path}")
        self.writes += 1
        return True

    def next(self) -> int:
        if self._next >= self._reserved_until:
            if self._write(self._next + self.BLOCK):
                self._reserved_until = self._next + self.BLOCK
            elif not self._on_clock:
                # Unsaved: after a crash the file would hold an older mark. Jump once to
                # the clock rule, which stays ahead of it; retry the write next time.
                self._next = max(self._next, self._clock_value())
        seq = self._next
        self._next += 1
        return seq

    def close(self) -> None:
        """On a clean stop: record the exact next number so no gap appears."""
        self._write(self._next)
