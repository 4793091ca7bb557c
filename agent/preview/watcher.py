"""Watching the files a preview draws from, so it redraws when one is saved."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class FileWatcher:
    """Sets `changed` whenever one of `paths` is written, created or moved into place.

    Watches the folders, not the files: editors save by writing a new file and renaming
    it over the old one, which a watch on the old file would miss.
    """

    def __init__(self, paths: list[Path], changed: threading.Event) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        targets = {path.resolve() for path in paths}

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in _WRITES:
                    return  # our own reading opens and closes the file too
                touched = (event.src_path, getattr(event, "dest_path", ""))
                if any(_resolved(raw) in targets for raw in touched if raw):
                    changed.set()

        self._observer: Any = Observer()
        for folder in {path.parent for path in targets}:
            self._observer.schedule(Handler(), str(folder), recursive=False)
        self._observer.daemon = True

    def __enter__(self) -> FileWatcher:
        self._observer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)


_WRITES = frozenset({"modified", "created", "moved", "closed"})


def _resolved(raw: str | bytes) -> Path:
    return Path(raw.decode() if isinstance(raw, bytes) else raw).resolve()
