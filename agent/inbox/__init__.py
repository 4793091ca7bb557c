"""A watched folder whose playlist files become the `local` channel (USB-stick updates).

Whoever holds a USB stick can put anything in this folder — links to anywhere, named
pipes, devices, folders, endless or huge files, odd names — and a stick can be mounted
over the folder or pulled out at any moment. The agent runs as root. So:

- The watcher (`watcher.py`, its own thread) only reports names. It lists the folder
  through one directory fd, `lstat`s each entry and reports what is new, changed or
  gone. It wakes on inotify events (`inotify.py`), on changes of the mount table and
  every `RESCAN_S` seconds (a stick mounted over the folder, a folder that appears late,
  file systems without inotify). It never opens a file, so nothing in the folder can
  block it or the core.
- The core reads a reported file with `read_inbox_file` (`files.py`): regular files
  only, never through a link, at most the payload limit; anything else comes back as a
  reason.
- `update_sidecar` (`files.py`) writes the error sidecar through a directory fd into a
  fresh temp file (`O_CREAT | O_EXCL | O_NOFOLLOW`) and renames it into place: it never
  writes through a link that someone put where the sidecar (or its temp file) goes.
- `rules.py`: which names are content, what the watcher reports (`InboxFile`), and what
  an entry is, in words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.inbox.files import Unreadable, read_inbox_file, update_sidecar
from agent.inbox.rules import InboxFile

if TYPE_CHECKING:
    from agent.inbox.watcher import InboxWatcher


def __getattr__(name: str) -> object:
    # The watcher (its thread, inotify through ctypes) is loaded only by a board with an
    # `[inbox]`: the core names `InboxFile` on every board, which must not load it.
    if name == "InboxWatcher":
        from agent.inbox.watcher import InboxWatcher

        return InboxWatcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["InboxFile", "InboxWatcher", "Unreadable", "read_inbox_file", "update_sidecar"]
