"""The inbox watcher: a thread that only reports names (see agent/inbox/__init__.py).

It lists the folder through one directory fd and `lstat`s each entry — it never opens
a file — and wakes on inotify, on a change of the mount table, and every `RESCAN_S`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import stat
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from agent.inbox.inotify import Inotify
from agent.inbox.rules import DEFAULT_MAX_FILES, DIR_FLAGS, InboxFile, is_content_name, kind, why

log = logging.getLogger(__package__)  # the inbox's lines keep one name: agent.inbox

RESCAN_S = 2.0  # a full (lstat-only) rescan this often: cheap, and catches mounts
SETTLE_S = 0.25  # after a wake-up, wait this long so a burst of events gives one scan
MAX_ENTRIES = 10_000  # folder entries looked at per scan, content or not


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
        self._inotify: Inotify | None = None
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
        self._inotify = Inotify.open(RESCAN_S)
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
            self._made_problem = f" and cannot be made ({why(exc)})"

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
                self._problem_is(f"inbox folder {self.directory} cannot be listed: {why(exc)}")
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
            raise _Unavailable(f"{where} cannot be checked: {why(exc)}") from None
        if stat.S_ISLNK(st.st_mode):
            raise _Unavailable(
                f"{where} is a symbolic link: not followed (set [inbox] dir to a real folder)"
            )
        if not stat.S_ISDIR(st.st_mode):
            raise _Unavailable(f"{where} is not a folder but {kind(st.st_mode)}")
        try:
            return os.open(self.directory, DIR_FLAGS)
        except OSError as exc:
            raise _Unavailable(f"{where} cannot be opened: {why(exc)}") from None

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
