"""A watched folder whose playlist files become the `local` channel (USB-stick updates).

Whoever holds a USB stick can put anything in this folder — links to anywhere, named
pipes, devices, folders, endless or huge files, odd names — and a stick can be mounted
over the folder or pulled out at any moment. The agent runs as root. So:

- The watcher (its own thread) only reports names. It lists the folder through one
  directory fd, `lstat`s each entry and reports what is new, changed or gone. It wakes on
  inotify events, on changes of the mount table and every `RESCAN_S` seconds (a stick
  mounted over the folder, a folder that appears late, file systems without inotify).
  It never opens a file, so nothing in the folder can block it or the core.
- The core reads a reported file with `read_inbox_file`: regular files only, never
  through a link, at most the payload limit; anything else comes back as a reason.
- `update_sidecar` writes the error sidecar through a directory fd into a fresh temp
  file (`O_CREAT | O_EXCL | O_NOFOLLOW`) and renames it into place: it never writes
  through a link that someone put where the sidecar (or its temp file) goes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import queue
import secrets
import select
import stat
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".error.txt"
DEFAULT_MAX_FILES = 100  # [inbox] max_files
RESCAN_S = 2.0  # a full (lstat-only) rescan this often: cheap, and catches mounts
SETTLE_S = 0.25  # after a wake-up, wait this long so a burst of events gives one scan
MAX_ENTRIES = 10_000  # folder entries looked at per scan, content or not
MAX_SIDECAR_BYTES = 64 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class InboxFile:
    """The watcher's report: a file to read, a file gone, or (`problem`, with the folder
    as `path`) something wrong with the folder itself — missing, a link, unreadable."""

    path: Path
    deleted: bool = False
    problem: str | None = None


def is_content_name(name: str) -> bool:
    """`*.json`, not hidden, and a name that can go into an event and a log line as is."""
    if not name.endswith(".json") or name.startswith(".") or not name.isprintable():
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in the name (surrogate escapes)
        return False
    return True


def is_content_file(path: Path) -> bool:
    return is_content_name(path.name)


# --- reading a file the watcher reported -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why an inbox entry was not read: the message of its `content.rejected`."""

    reason: str
    gone: bool = False  # vanished before it was read: its deletion is reported next


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISLNK, "a symbolic link (links are not followed)"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def _refusal(name: str, st: os.stat_result, limit: int) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return f"{name} is {_kind(st.st_mode)}: only regular files are read"
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
        dir_fd = os.open(path.parent, _DIR_FLAGS)
    except OSError as exc:
        gone = isinstance(exc, FileNotFoundError)
        return Unreadable(f"the inbox folder cannot be opened: {_why(exc)}", gone=gone)
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
        return Unreadable(f"{name} cannot be read: {_why(exc)}")
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
        return Unreadable(f"{name} cannot be read: {_why(exc)}")
    finally:
        os.close(fd)


def _open_in(dir_fd: int, name: str) -> int | Unreadable:
    try:
        return os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return Unreadable(f"{name} is gone", gone=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a link after the lstat
            return Unreadable(f"{name} is {_kind(stat.S_IFLNK)}: only regular files are read")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return Unreadable(f"{name} cannot be read: no permission ({_why(exc)})")
        return Unreadable(f"{name} cannot be opened: {_why(exc)}")


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
        dir_fd = os.open(path.parent, _DIR_FLAGS)
    except OSError as exc:
        log.warning("inbox: sidecar %s not %s: %s", path.parent / name, action, _why(exc))
        return
    try:
        if lines:
            text = "".join(f"{line}\n" for line in lines).encode("utf-8", "backslashreplace")
            problem = _write_sidecar(dir_fd, name, text[:MAX_SIDECAR_BYTES])
        else:
            problem = _remove_sidecar(dir_fd, name)
    except OSError as exc:
        problem = _why(exc)
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
        return f"it is {_kind(existing.st_mode)}"
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


# --- the watcher ------------------------------------------------------------------------

_IN_ATTRIB = 0x4
_IN_CLOSE_WRITE = 0x8
_IN_MOVED_FROM = 0x40
_IN_MOVED_TO = 0x80
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_UNMOUNT = 0x2000
_IN_IGNORED = 0x8000
_IN_ONLYDIR = 0x01000000
# A name is complete when it was closed after writing, moved in, or had its times set.
_SETTLED = _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_ATTRIB
_WATCH_ENDED = _IN_IGNORED | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_UNMOUNT
_MASK = _SETTLED | _IN_MOVED_FROM | _IN_CREATE | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF
_EVENT = struct.Struct("iIII")


class _Inotify:
    """Linux inotify through libc: wake-ups, and which names are complete."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._add.restype = ctypes.c_int
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = [ctypes.c_int, ctypes.c_int]
        fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.fd = fd
        self._wd = -1

    @classmethod
    def open(cls) -> _Inotify | None:
        try:
            return cls()
        except (OSError, AttributeError) as exc:
            log.info("inbox: no inotify (%s): the folder is rescanned every %s s", exc, RESCAN_S)
            return None

    def watch(self, dir_fd: int) -> None:
        """Watch exactly the folder behind `dir_fd` (via /proc: no race with its path)."""
        if self._wd >= 0:
            self._rm(self.fd, self._wd)
        target = f"/proc/self/fd/{dir_fd}".encode()
        self._wd = int(self._add(self.fd, target, _MASK | _IN_ONLYDIR))

    def drain(self) -> tuple[set[str], bool]:
        """The names that became complete, and whether the watch ended (folder gone)."""
        settled: set[str] = set()
        ended = False
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except OSError:  # EAGAIN: nothing more
                break
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                raw = data[start : start + length].split(b"\0", 1)[0]
                offset = start + length
                if mask & _WATCH_ENDED and wd == self._wd:
                    ended = True
                    self._wd = -1
                if mask & _SETTLED and raw:
                    settled.add(os.fsdecode(raw))
        return settled, ended

    def close(self) -> None:
        os.close(self.fd)


class _Seen(NamedTuple):
    """What `lstat` said about an entry: any change means it is reported again."""

    dev: int
    ino: int
    mode: int
    size: int
    mtime_ns: int
    nlink: int

    @classmethod
    def of(cls, st: os.stat_result) -> _Seen:
        return cls(st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink)

    @property
    def regular(self) -> bool:
        return stat.S_ISREG(self.mode)


class _Unavailable(Exception):
    """The inbox folder cannot be listed; the message says why."""


class InboxWatcher:
    """Reports the content files of `directory` on `inbox` (`InboxFile`), from its own
    thread: those there at start, then every new, changed or removed one, at most
    `max_files` of them (the first by name)."""

    def __init__(
        self,
        directory: Path,
        inbox: queue.Queue[Any],
        *,
        max_files: int = DEFAULT_MAX_FILES,
        rescan_s: float = RESCAN_S,
    ) -> None:
        self.directory = directory
        self.inbox = inbox
        self.max_files = max_files
        self.rescan_s = rescan_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._inotify: _Inotify | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the folder listed
        self._reported: dict[str, _Seen] = {}
        self._pending: dict[str, tuple[_Seen, float]] = {}  # being written: (seen, since)
        self._problem: str | None = None
        self._made_problem = ""
        self._odd_names: set[str] = set()
        self._failure: str | None = None

    def start(self) -> None:
        """Start the thread; it reports the files already there (oldest first) at once."""
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._inotify = _Inotify.open()
        self._thread = threading.Thread(target=self._run, name="inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
            if self._thread.is_alive():
                return  # stuck in a hung file system: its fds go with the process
        # Closed here, after the thread: a write to a closed (reused) fd number could land
        # in someone else's file.
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    # --- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        self._make_folder()
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        if self._inotify is not None:
            poller.register(self._inotify.fd, select.POLLIN)
        mounts = _open_mount_table()
        if mounts is not None:
            poller.register(mounts, select.POLLPRI)  # a stick mounted over the folder
        settled: set[str] = set()
        try:
            while not self._stop.is_set():
                try:
                    self._scan(settled)
                except Exception as exc:  # a bug here must not end the inbox for good
                    failure = f"inbox: scanning {self.directory} failed: {exc!r}"
                    if failure != self._failure:  # once, not every rescan
                        log.error("%s", failure)
                    self._failure = failure
                else:
                    self._failure = None
                if poller.poll(int(self.rescan_s * 1000)) and not self._stop.is_set():
                    self._stop.wait(SETTLE_S)  # one scan for a burst (cp -p: close, then times)
                settled = self._drain()
        finally:
            if mounts is not None:
                os.close(mounts)
            if self._inotify is not None:
                self._inotify.close()

    def _make_folder(self) -> None:
        """Made at start when missing (not later: a stick's mount point is the stick's)."""
        try:
            if not os.path.lexists(self.directory):
                self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._made_problem = f" and cannot be made ({_why(exc)})"

    def _drain(self) -> set[str]:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except OSError:
            pass
        if self._inotify is None:
            return set()
        settled, ended = self._inotify.drain()
        if ended:
            self._identity = None  # watch it again at the next scan
        return settled

    def _scan(self, settled: set[str]) -> None:
        try:
            dir_fd = self._open_folder()
        except _Unavailable as exc:
            self._problem_is(str(exc))
            self._forget_all()
            return
        try:
            st = os.fstat(dir_fd)
            identity = (st.st_dev, st.st_ino)
            fresh = identity != self._identity  # at start, or another folder (a mount)
            if fresh:
                self._identity = identity
                if self._inotify is not None:
                    self._inotify.watch(dir_fd)
            try:
                names, capped = self._list(dir_fd)
            except OSError as exc:  # e.g. an I/O error on a failing stick
                self._problem_is(f"inbox folder {self.directory} cannot be listed: {_why(exc)}")
                self._identity = None  # listed afresh when it works again
                return
            current: dict[str, _Seen] = {}
            for name in names[: self.max_files]:
                try:
                    current[name] = _Seen.of(os.stat(name, dir_fd=dir_fd, follow_symlinks=False))
                except FileNotFoundError:
                    continue
                except OSError as exc:  # reported anyway: reading it will say why
                    current[name] = _Seen(-1, exc.errno or 0, 0, 0, 0, 0)
        finally:
            os.close(dir_fd)
        self._problem_is(self._count_problem(len(names), capped))
        self._report_changes(current, settled, fresh)

    def _open_folder(self) -> int:
        where = f"inbox folder {self.directory}"
        try:
            st = os.lstat(self.directory)
        except (FileNotFoundError, NotADirectoryError):
            made = self._made_problem
            raise _Unavailable(
                f"{where} does not exist{made}: waiting for it (a USB stick?)"
            ) from None
        except OSError as exc:
            raise _Unavailable(f"{where} cannot be checked: {_why(exc)}") from None
        if stat.S_ISLNK(st.st_mode):
            raise _Unavailable(
                f"{where} is a symbolic link: not followed (set [inbox] dir to a real folder)"
            )
        if not stat.S_ISDIR(st.st_mode):
            raise _Unavailable(f"{where} is not a folder but {_kind(st.st_mode)}")
        try:
            return os.open(self.directory, _DIR_FLAGS)
        except OSError as exc:
            raise _Unavailable(f"{where} cannot be opened: {_why(exc)}") from None

    def _list(self, dir_fd: int) -> tuple[list[str], bool]:
        names: list[str] = []
        looked_at = 0
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                looked_at += 1
                if looked_at > MAX_ENTRIES:
                    return sorted(names), True
                if is_content_name(entry.name):
                    names.append(entry.name)
                elif self._odd(entry.name):
                    log.warning("inbox: ignoring %r: not a printable UTF-8 name", entry.name)
        return sorted(names), False

    def _odd(self, name: str) -> bool:
        """A `.json` name that cannot be used, seen for the first time (logged once)."""
        if not name.endswith(".json") or name.startswith(".") or name in self._odd_names:
            return False
        if len(self._odd_names) < MAX_ENTRIES:
            self._odd_names.add(name)
        return True

    def _count_problem(self, count: int, capped: bool) -> str | None:
        if capped:
            return (
                f"inbox folder {self.directory} has more than {MAX_ENTRIES} entries: "
                f"only the first {MAX_ENTRIES} listed are looked at"
            )
        if count > self.max_files:
            return (
                f"inbox folder {self.directory} holds more than {self.max_files} content "
                f"files: only the first {self.max_files} by name are read ([inbox] max_files)"
            )
        return None

    def _report_changes(self, current: dict[str, _Seen], settled: set[str], fresh: bool) -> None:
        now = time.monotonic()
        for name in sorted(set(self._reported) - set(current)):
            del self._reported[name]
            self._put(InboxFile(self.directory / name, deleted=True))
        due: list[tuple[int, str, _Seen]] = []
        for name, seen in current.items():
            if self._reported.get(name) == seen:
                self._pending.pop(name, None)
                continue
            before = self._pending.get(name)
            # A regular file may still be being written: report it when it is complete
            # (closed, moved in), or unchanged for a while (no inotify), or when a whole
            # folder appeared at once (start, a stick mounted).
            steady = (
                before is not None and before[0] == seen and now - before[1] >= self.rescan_s / 2
            )
            if fresh or not seen.regular or name in settled or steady:
                due.append((seen.mtime_ns, name, seen))
                self._pending.pop(name, None)
            elif before is None or before[0] != seen:
                self._pending[name] = (seen, now)
        for name in set(self._pending) - set(current):
            del self._pending[name]
        for _mtime, name, seen in sorted(due):  # oldest first
            self._reported[name] = seen
            self._put(InboxFile(self.directory / name))

    def _forget_all(self) -> None:
        """The folder went away (a stick pulled out): its files are gone."""
        for name in sorted(self._reported):
            self._put(InboxFile(self.directory / name, deleted=True))
        self._reported.clear()
        self._pending.clear()
        self._identity = None

    def _problem_is(self, problem: str | None) -> None:
        """Each problem once (not once per rescan); a new one after it cleared."""
        if problem == self._problem:
            return
        if problem is None:
            log.info("inbox folder %s: fine again", self.directory)
        else:
            self._put(InboxFile(self.directory, problem=problem))
        self._problem = problem

    def _put(self, report: InboxFile) -> None:
        while not self._stop.is_set():  # a full core queue holds the watcher, not the core
            try:
                self.inbox.put(report, timeout=0.5)
                return
            except queue.Full:
                continue


def _open_mount_table() -> int | None:
    """/proc/self/mountinfo: `poll` says POLLPRI when something is mounted or unmounted."""
    try:
        return os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
