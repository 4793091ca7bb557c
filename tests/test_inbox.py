from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

from agent.inbox import InboxFile, InboxWatcher


def test_files_present_at_start_and_dropped_later_are_reported(tmp_path: Path) -> None:
    reports: queue.Queue[Any] = queue.Queue()
    (tmp_path / "old.json").write_text("{}")
    (tmp_path / ".hidden.json").write_text("{}")
    watcher = InboxWatcher(tmp_path, reports)
    watcher.start()
    try:
        assert reports.get(timeout=5) == InboxFile(tmp_path / "old.json")
        (tmp_path / "new.json").write_text("{}")  # a technician's USB copy
        assert reports.get(timeout=10) == InboxFile(tmp_path / "new.json")
        (tmp_path / "new.json").unlink()
        assert reports.get(timeout=10) == InboxFile(tmp_path / "new.json", deleted=True)
        (tmp_path / "notes.txt").write_text("not content")
        (tmp_path / "more.json").write_text("{}")
        assert reports.get(timeout=10) == InboxFile(tmp_path / "more.json")  # .txt ignored
    finally:
        watcher.stop()
