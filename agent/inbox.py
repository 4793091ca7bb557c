"""A watched folder whose playlist files become the `local` channel (USB-stick updates).

The watchdog observer thread only reports paths; the core reads and validates them.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".error.txt"


@dataclass(frozen=True, slots=True)
class InboxFile:
    path: Path
    deleted: bool = False


def is_content_file(path: Path) -> bool:
    return path.suffix == ".json" and not path.name.startswith(".")


def _handler(inbox: queue.Queue[Any]) -> Any:
    """The observer's handler: only reports paths (the core reads and validates them)."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler

    def report(raw: str | bytes, deleted: bool = False) -> None:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if is_content_file(path):
            inbox.put(InboxFile(path, deleted))

    class Handler(FileSystemEventHandler):
        def on_closed(self, event: FileSystemEvent) -> None:
            report(event.src_path)

        def on_deleted(self, event: FileSystemEvent) -> None:
            report(event.src_path, deleted=True)

        def on_moved(self, event: FileSystemEvent) -> None:
            report(event.src_path, deleted=True)
            report(event.dest_path)

    return Handler()


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
        # Imported here: most boards have no inbox, and the library costs memory.
        from watchdog.observers import Observer

        observer = Observer()
        observer.schedule(_handler(self.inbox), str(self.directory), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
