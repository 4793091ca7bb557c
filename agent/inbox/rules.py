"""The inbox's file rules: which names are content, what the watcher reports, what an
entry that is not a regular file is (in words), and how the folder is opened: never
through a link, never blocking."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SIDECAR_SUFFIX = ".error.txt"
DEFAULT_MAX_FILES = 100  # [inbox] max_files

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


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


def why(exc: OSError) -> str:
    return exc.strerror or str(exc)


_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISLNK, "a symbolic link (links are not followed)"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def kind(mode: int) -> str:
    """What an entry of this mode is, for a message: "a named pipe (FIFO)", "a folder"…"""
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")
