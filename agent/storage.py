"""Files that must survive power loss: atomic writes and the accepted-content cache.

Boards lose power without warning. A file is either the old version or the new one,
never half of each: write a temp file, fsync it, rename it over the target, fsync the
directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from agent.messages import CHANNELS, Alert, Channel, Playlist

log = logging.getLogger(__name__)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_delete(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        _fsync_dir(path.parent)


class ContentStore:
    """The last accepted playlist of each channel, on disk under `state_dir/content/`."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "content"
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, channel: Channel) -> Path:
        return self.directory / f"{channel}.json"

    def save(self, channel: Channel, playlist: Playlist) -> None:
        atomic_write(self._path(channel), playlist.model_dump_json(by_alias=True).encode())

    def clear(self, channel: Channel) -> None:
        atomic_delete(self._path(channel))

    def load_all(self) -> dict[Channel, Playlist]:
        """Everything cached; a damaged file is logged and skipped, never fatal."""
        playlists: dict[Channel, Playlist] = {}
        for channel in CHANNELS:
            path = self._path(channel)
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.error("cannot read cached %s content %s: %s", channel, path, exc)
                continue
            try:
                playlists[channel] = Playlist.model_validate_json(raw)
            except ValueError as exc:
                log.error("cached %s content %s is damaged, ignoring it: %s", channel, path, exc)
        return playlists


class AlertStore:
    """Active alerts on disk, so a board that boots without its broker still shows them."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "alerts"
        self.directory.mkdir(parents=True, exist_ok=True)

    def save(self, alert: Alert) -> None:
        atomic_write(self.directory / f"{alert.id}.json", alert.model_dump_json().encode())

    def delete(self, alert_id: str) -> None:
        atomic_delete(self.directory / f"{alert_id}.json")

    def load_all(self) -> list[Alert]:
        alerts = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                alerts.append(Alert.model_validate_json(path.read_bytes()))
            except (OSError, ValueError) as exc:
                log.error("cached alert %s is unreadable, ignoring it: %s", path, exc)
        return alerts


class SeqCounter:
    """Heartbeat `seq`: grows by one per heartbeat, also across restarts.

    Writing the number on every heartbeat would wear out SD cards, so numbers are
    reserved in blocks: the file holds the first number not yet reserved. A clean stop
    writes the exact next number; after a crash the counter skips to the reserved
    mark, so a number is never repeated (a gap tells the dashboard something was lost).
    """

    BLOCK = 64

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next = self._read()
        self._reserved_until = self._next
        self.writes = 0

    def _read(self) -> int:
        try:
            return max(0, int(self.path.read_text().strip()))
        except FileNotFoundError:
            return 1
        except (OSError, ValueError) as exc:
            log.error("heartbeat seq file %s unreadable (%s); starting at 1", self.path, exc)
            return 1

    def _write(self, value: int) -> None:
        try:
            atomic_write(self.path, f"{value}\n".encode())
        except OSError as exc:  # heartbeats go on; only the restart continuity is at risk
            log.error("cannot save heartbeat seq to %s: %s", self.path, exc)
            return
        self.writes += 1

    def next(self) -> int:
        seq = self._next
        if seq >= self._reserved_until:
            self._reserved_until = seq + self.BLOCK
            self._write(self._reserved_until)
        self._next += 1
        return seq

    def close(self) -> None:
        """On a clean stop: record the exact next number so no gap appears."""
        self._write(self._next)
