"""A watched folder whose playlist files become the `local` channel (USB-stick updates).

The watchdog observer thread only reports paths; the core reads and validates them.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".error.txt"


@dataclass(frozen=True, slots=True)
class InboxFile:
    path: Path
    deleted: bool = False


def is_content_file(path: Path) -> bool:
    return path.suffix == ".json" and not path.name.startswith(".")


class _Handler(FileSystemEventHandler):
    def __init__(self, inbox: queue.Queue[Any]) -> None:
        self.inbox = inbox

    def _report(self, raw: str | bytes, deleted: bool = False) -> None:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if is_content_file(path):
            self.inbox.put(InboxFile(path, deleted))

    def on_closed(self, event: FileSystemEvent) -> None:
        self._report(event.src_path)

    def on_deleted(self, event: FileSystemEvent) -> None:
        self._report(event.src_path, deleted=True)

    def on_moved(self, event: FileSystemEvent) -> None:
        self._report(event.src_path, deleted=True)
        self._report(event.dest_path)


class InboxWatcher:
    def __init__(self, directory: Path, inbox: queue.Queue[Any]) -> None:
        self.directory = directory
        self.inbox = inbox
        self._observer: Any = None

    def start(self) -> None:
        """Report the files already there (oldest first), then watch for new ones."""
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = sorted(
            (p for p in self.directory.iterdir() if is_content_file(p)),
            key=lambda p: p.stat().st_mtime,
        )
        for path in existing:
            self.inbox.put(InboxFile(path))
        observer = Observer()
        observer.schedule(_Handler(self.inbox), str(self.directory), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
