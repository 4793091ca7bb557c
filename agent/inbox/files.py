"""What the core does to a file the watcher reported: reads it (regular files with one
name only, never through a link, never blocking, at most the payload limit), and writes
or removes its error sidecar (never through a link either)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from agent.inbox.rules import DIR_FLAGS, SIDECAR_SUFFIX, kind, why

log = logging.getLogger(__package__)  # the inbox's lines keep one name: agent.inbox

MAX_SIDECAR_BYTES = 64 * 1024

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

# --- reading a file the watcher reported -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why an inbox entry was not read: the message of its `content.rejected`."""

    reason: str
    gone: bool = False  # vanished before it was read: its deletion is reported next


def _refusal(name: str, st: os.stat_result, limit: int) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return f"{name} is {kind(st.st_mode)}: only regular files are read"
    if st.st_nlink > 1:
        # A hard link can bring a file from elsewhere on the same file system.
        return f"{name} is a hard link ({st.st_nlink} names): only files with one name are read"
    if st.st_size > limit:
        return f"{name} is {st.st_size} bytes; limit {limit} ([content] max_payload_bytes)"
    if st.st_size == 0:  # a failed copy must not wipe the channel (an empty MQTT payload does)
        return f'{name} is empty: to clear the local channel, put a playlist with "items": []'
    return None


def read_inbox_file(path: Path, limit: int) -> bytes | Unreadable:
    """The bytes of the regular file `path` (at most `limit`), or why it was not read.

    `lstat` first (a FIFO, device, folder or link is never opened), then open through
    the folder's fd with `O_NOFOLLOW | O_NONBLOCK` (a link or a pipe swapped in meanwhile
    cannot block or lead outside), `fstat` again, and read at most `limit + 1` bytes.
    """
    try:
        dir_fd = os.open(path.parent, DIR_FLAGS)
    except OSError as exc:
        gone = isinstance(exc, FileNotFoundError)
        return Unreadable(f"the inbox folder cannot be opened: {why(exc)}", gone=gone)
    try:
        return _read_in(dir_fd, path.name, limit)
    finally:
        os.close(dir_fd)


def _read_in(dir_fd: int, name: str, limit: int) -> bytes | Unreadable:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return Unreadable(f"{name} is gone", gone=True)
    except OSError as exc:
        return Unreadable(f"{name} cannot be read: {why(exc)}")
    refused = _refusal(name, st, limit)
    if refused is not None:
        return Unreadable(refused)
    fd = _open_in(dir_fd, name)
    if isinstance(fd, Unreadable):
        return fd
    try:
        refused = _refusal(name, os.fstat(fd), limit)  # what was opened, not what was checked
        return Unreadable(refused) if refused is not None else _read_bounded(fd, name, limit)
    except OSError as exc:
        return Unreadable(f"{name} cannot be read: {why(exc)}")
    finally:
        os.close(fd)


def _open_in(dir_fd: int, name: str) -> int | Unreadable:
    try:
        return os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return Unreadable(f"{name} is gone", gone=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a link after the lstat
            return Unreadable(f"{name} is {kind(stat.S_IFLNK)}: only regular files are read")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return Unreadable(f"{name} cannot be read: no permission ({why(exc)})")
        return Unreadable(f"{name} cannot be opened: {why(exc)}")


def _read_bounded(fd: int, name: str, limit: int) -> bytes | Unreadable:
    """At most `limit + 1` bytes: a file that grew past its checked size is still bounded."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(64 * 1024, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    return Unreadable(f"{name} is more than {limit} bytes; limit {limit} (it grew)")


# --- the error sidecar ------------------------------------------------------------------


def update_sidecar(path: Path, lines: list[str]) -> None:
    """Write `NAME.json.error.txt` beside `path` with `lines`, or remove it when there are
    none. Never through a link; a sidecar that cannot be written safely is logged."""
    name = path.name + SIDECAR_SUFFIX
    action = "written" if lines else "removed"
    try:
        dir_fd = os.open(path.parent, DIR_FLAGS)
    except OSError as exc:
        log.warning("inbox: sidecar %s not %s: %s", path.parent / name, action, why(exc))
        return
    try:
        if lines:
            text = "".join(f"{line}\n" for line in lines).encode("utf-8", "backslashreplace")
            problem = _write_sidecar(dir_fd, name, text[:MAX_SIDECAR_BYTES])
        else:
            problem = _remove_sidecar(dir_fd, name)
    except OSError as exc:
        problem = why(exc)
    finally:
        os.close(dir_fd)
    if problem is not None:
        log.warning("inbox: sidecar %s not %s: %s", path.parent / name, action, problem)


def _lstat_in(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _write_sidecar(dir_fd: int, name: str, data: bytes) -> str | None:
    existing = _lstat_in(dir_fd, name)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        return f"it is {kind(existing.st_mode)}"
    # A new temp file with a random name (O_EXCL: nobody's link), renamed over the sidecar:
    # a rename replaces whatever is at that name and never writes through it.
    temp = f".sidecar-{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, _TEMP_FLAGS, 0o644, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)  # the technician may pull the stick right after
        finally:
            os.close(fd)
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
        raise
    return None


def _remove_sidecar(dir_fd: int, name: str) -> str | None:
    existing = _lstat_in(dir_fd, name)
    if existing is None or not stat.S_ISREG(existing.st_mode):
        return None  # nothing there, or not ours: left alone
    os.unlink(name, dir_fd=dir_fd)  # unlink removes a name, never a link's target
    return None
