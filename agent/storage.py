"""Files that must survive power loss and damage: atomic writes and careful reads of the
state files (their owners: `caches.py` for content and alerts, `heartbeat_seq.py`, the
outbox's spool, the command ids).

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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from signage_base.portable import READ_FLAGS, open_flags

log = logging.getLogger(__name__)

BAD_SUFFIX = ".bad-"
BAD_COPIES_KEPT = 3  # per file: enough for a post-mortem, never a full SD card


def fsync_dir(directory: Path) -> None:
    """A rename survives a power cut only once the directory is on disk too.

    Where there is no `O_DIRECTORY` (Windows) a directory cannot be opened at all, so
    there is nothing to fsync: NTFS journals the rename itself. A preview or a check run
    on a content manager's laptop writes its files through here too."""
    if not hasattr(os, "O_DIRECTORY"):
        return
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
    link in it is damage, and may point at `/dev/zero`). Where `O_NOFOLLOW` is missing
    (Windows) a link is refused by `lstat` first: no FIFOs there, and no one swapping
    links into a laptop's state dir between the two calls."""
    if not hasattr(os, "O_NOFOLLOW") and path.is_symlink():
        raise StateFileProblem("is a symbolic link")
    try:
        fd = os.open(path, READ_FLAGS | open_flags("O_NOFOLLOW"))
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
