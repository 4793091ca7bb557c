"""The content and alert caches: the last accepted playlist of each channel and the
active alerts, kept in the state dir so a board that boots without its broker shows them
at once. A damaged cache file is set aside and reported (`storage.set_aside`), never fatal.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from agent.messages import CHANNELS, Alert, Channel, Playlist, group_channel, group_of
from agent.storage import (
    StateFileProblem,
    StorageHealth,
    atomic_delete,
    atomic_write,
    ensure_dir,
    read_state_file,
    set_aside,
)

_GROUP_FILE = "group."
MAX_CACHED_CONTENT_BYTES = 128 * 1024 * 1024  # above the largest payload a board accepts


def cached_content_limit(max_payload_bytes: int) -> int:
    """The largest plausible cached playlist: an accepted payload as the agent saves it
    (defaults spelled out) stays well within twice its size plus a margin."""
    return 2 * max_payload_bytes + 1024 * 1024


MAX_CACHED_ALERT_BYTES = 1024 * 1024


def short_reason(exc: BaseException, limit: int = 200) -> str:
    """What went wrong, in one bounded line (for reports: never a whole payload)."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "$"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        text = f"{where}: {first['msg']}{more}"
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ContentStore:
    """The last accepted playlist of each channel, on disk under `state_dir/content/`."""

    def __init__(
        self,
        state_dir: Path,
        health: StorageHealth | None = None,
        *,
        max_bytes: int = MAX_CACHED_CONTENT_BYTES,
    ) -> None:
        self.directory = state_dir / "content"
        self.health = health or StorageHealth()
        self.max_bytes = max_bytes  # larger is damage: never read into memory
        ensure_dir(self.directory, self.health)

    def _path(self, channel: Channel) -> Path:
        # A group's file is `group.{slug}.json`: a slug has no dot, no slash, so a file name
        # is never ambiguous and never leaves the folder (a non-slug is a programming error).
        group = group_of(channel)
        if group is not None:
            return self.directory / f"{_GROUP_FILE}{group}.json"
        if channel not in CHANNELS:
            raise ValueError(f"not a channel: {channel!r}")
        return self.directory / f"{channel}.json"

    def _channels_on_disk(self) -> list[Channel]:
        """The fixed channels, then every group whose file is in the folder."""
        channels: list[Channel] = list(CHANNELS)
        try:
            names = sorted(p.name for p in self.directory.iterdir())
        except OSError:
            return channels  # the fixed channels' reads report what is wrong
        for name in names:
            if name.startswith(_GROUP_FILE) and name.endswith(".json"):
                channel = group_channel(name.removeprefix(_GROUP_FILE).removesuffix(".json"))
                if group_of(channel) is not None:
                    channels.append(channel)
        return channels

    def save(self, channel: Channel, playlist: Playlist) -> None:
        # As it came: what was left out stays out (a clip item without `duration_s` plays
        # its clip once, CONTRACT §10; written with the default, it would loop for 10 s).
        data = playlist.model_dump_json(by_alias=True, exclude_unset=True)
        atomic_write(self._path(channel), data.encode())

    def clear(self, channel: Channel) -> None:
        atomic_delete(self._path(channel))

    def load_all(self) -> dict[Channel, Playlist]:
        """Everything cached; a damaged file is set aside and reported, never fatal."""
        playlists: dict[Channel, Playlist] = {}
        for channel in self._channels_on_disk():
            path = self._path(channel)
            instead = f"the {channel} channel is empty until its content is sent again"
            try:
                raw = read_state_file(path, self.max_bytes)
                if raw is None:
                    continue
                playlists[channel] = Playlist.model_validate_json(raw)
            except StateFileProblem as problem:
                set_aside(path, problem.reason, instead, self.health)
            except (ValueError, RecursionError) as exc:
                reason = f"is not a valid playlist ({short_reason(exc)})"
                set_aside(path, reason, instead, self.health)
        return playlists


class AlertStore:
    """Active alerts on disk, so a board that boots without its broker still shows them."""

    def __init__(self, state_dir: Path, health: StorageHealth | None = None) -> None:
        self.directory = state_dir / "alerts"
        self.health = health or StorageHealth()
        ensure_dir(self.directory, self.health)

    def save(self, alert: Alert) -> None:
        atomic_write(self.directory / f"{alert.id}.json", alert.model_dump_json().encode())

    def delete(self, alert_id: str) -> None:
        atomic_delete(self.directory / f"{alert_id}.json")

    def load_all(self) -> list[Alert]:
        """Every cached alert; a damaged file is set aside and reported, never fatal."""
        alerts = []
        try:
            paths = sorted(p for p in self.directory.iterdir() if p.name.endswith(".json"))
        except OSError as exc:
            if not isinstance(exc, FileNotFoundError):
                self.health.problem(
                    f"dir:{self.directory}",
                    f"state folder {self.directory} cannot be listed ({exc.strerror or exc}): "
                    "cached alerts are not shown until the broker sends them again",
                )
            return []
        for path in paths:
            instead = "that alert shows again when the broker sends it"
            try:
                raw = read_state_file(path, MAX_CACHED_ALERT_BYTES)
                if raw is None:
                    continue  # gone meanwhile
                alerts.append(Alert.model_validate_json(raw))
            except StateFileProblem as problem:
                set_aside(path, problem.reason, instead, self.health)
            except (ValueError, RecursionError) as exc:
                set_aside(path, f"is not a valid alert ({short_reason(exc)})", instead, self.health)
        return alerts
