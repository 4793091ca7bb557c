"""A board with an inbox folder, a real Mosquitto and a dashboard stand-in, for the hostile
inbox tests: what a USB stick (or anyone who can write the inbox) may put there."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import (
    AgentProcess,
    Broker,
    Message,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    write_config,
)

EVENTS = board_topic("events")
HEARTBEAT = board_topic("heartbeat")
LIMIT = 4096  # [content] max_payload_bytes on these boards: small, so "too large" is cheap

# The agent without the capabilities that let root read any file: as on a board whose
# service runs as its own user, a file without read permission really cannot be opened.
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def can_drop_dac() -> bool:
    if shutil.which("setpriv") is None:
        return False
    return subprocess.run([*NO_DAC, "true"], check=False, capture_output=True).returncode == 0


@dataclass
class InboxBoard:
    directory: Path
    inbox: Path
    outside: Path  # files the inbox must never reach
    broker: Broker
    observer: Observer
    agent: AgentProcess

    def inbox_topic(self, name: str) -> str:
        return f"inbox:{self.inbox / name}"

    def rejection(self, name: str, start: int = 0, timeout: float = 20) -> dict[str, Any]:
        match = event_matcher(EVENTS, "content.rejected", topic=self.inbox_topic(name))
        return dict(self.observer.wait_for(match, timeout=timeout, start=start).json())

    def rejections(self, name: str, start: int = 0) -> list[Message]:
        match = event_matcher(EVENTS, "content.rejected", topic=self.inbox_topic(name))
        return self.observer.find(match, start=start)

    def heartbeat(self, start: int = 0, timeout: float = 20) -> dict[str, Any]:
        found = self.observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=timeout, start=start)
        return dict(found.json())

    def heartbeats_after(self, count: int) -> dict[str, Any]:
        """Wait for `count` more heartbeats (1 s apart): longer than an inbox rescan."""
        beat: dict[str, Any] = {}
        for _ in range(count):
            mark = self.observer.mark()
            beat = self.heartbeat(start=mark)
        return beat

    def showing(self, start: int = 0) -> tuple[str | None, int | None]:
        beat = self.heartbeat(start=start)
        showing = beat["now_showing"]
        local = beat["content"]["local"]
        return (showing["item_id"] if showing else None, local["version"] if local else None)

    def wait_playing(self, item_id: str, start: int = 0, timeout: float = 20) -> None:
        match = event_matcher(EVENTS, "playback.started", item_id=item_id)
        self.observer.wait_for(match, timeout=timeout, start=start)

    def wait_accepted(self, version: int, start: int = 0, timeout: float = 20) -> None:
        match = event_matcher(EVENTS, "content.accepted", channel="local", version=version)
        self.observer.wait_for(match, timeout=timeout, start=start)

    def close(self) -> None:
        self.agent.kill()
        self.observer.close()
        self.broker.kill()


def start_board(
    directory: Path,
    *,
    inbox: Path | None = None,
    prepare: Callable[[Path], None] | None = None,
    wrapper: list[str] | None = None,
    retained: bytes | None = None,
) -> InboxBoard:
    """A board whose inbox is `inbox` (default: `directory/inbox`, made with one good
    playlist in it); `prepare` may change the folder before the agent starts."""
    outside = directory / "outside"
    outside.mkdir()
    if inbox is None:
        inbox = directory / "inbox"
        inbox.mkdir()
        (inbox / "good.json").write_bytes(good_playlist())
    if prepare is not None:
        prepare(inbox)
    broker = Broker(directory)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    if retained is not None:
        from tests.support import COMMUNE_TOPIC

        observer.publish(COMMUNE_TOPIC, retained, retain=True)
    config = write_config(
        directory,
        port=broker.port,
        heartbeat_s=1,
        extra=f'[inbox]\ndir = "{inbox}"\n\n[content]\nmax_payload_bytes = {LIMIT}\n',
    )
    agent = AgentProcess(config, directory / "agent.log", wrapper=wrapper).start()
    return InboxBoard(directory, inbox, outside, broker, observer, agent)


def good_playlist(version: int = 1, item_id: str = "good") -> bytes:
    return playlist(version, [text_item(item_id, "Lịch cắt điện", duration_s=3600)])


def secret_playlist() -> bytes:
    """What an outside file holds: valid content, so reading it would show on the board."""
    return playlist(50, [text_item("secret", "Không được đọc", duration_s=3600)])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def ping(board: InboxBoard, command_id: str) -> None:
    """A command answered proves the core has handled everything queued before it."""
    board.observer.publish(
        board_topic("cmd"), json.dumps({"type": "command", "id": command_id, "command": "ping"})
    )
    board.observer.wait_for(
        lambda m: m.topic == board_topic("cmd/result") and m.json()["id"] == command_id,
        timeout=20,
    )


def is_storage_error_about(path: Path, *words: str) -> Callable[[Message], bool]:
    def match(m: Message) -> bool:
        if m.topic != EVENTS:
            return False
        body = m.json()
        message = str(body.get("message", ""))
        return (
            body.get("kind") == "storage.error"
            and str(path) in message
            and all(w in message for w in words)
        )

    return match


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        path.chmod(0o755)
        shutil.rmtree(path)
