"""Linux inotify through libc (no extra package): the watcher's wake-ups, and which
names in the folder are complete (closed after writing, moved in, times set)."""

from __future__ import annotations

import ctypes
import logging
import os
import struct

log = logging.getLogger(__package__)  # the inbox's lines keep one name: agent.inbox

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


class Inotify:
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
    def open(cls, rescan_s: float) -> Inotify | None:
        """None where the kernel or libc has none: the watcher then rescans every `rescan_s`."""
        try:
            return cls()
        except (OSError, AttributeError) as exc:
            log.info("inbox: no inotify (%s): the folder is rescanned every %s s", exc, rescan_s)
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
