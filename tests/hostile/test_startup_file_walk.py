"""A board always starts (issue 20): every file the agent reads at start-up, replaced one
at a time with something hostile, and the agent still draws its first frame within 5 s,
heartbeats, and names the file in an event.

The files come from a real board's life: an agent ran with a broker, took content on
three channels (one with a downloaded image, one with a custom layout), an alert, a
command and an inbox file, lost its broker (heartbeats spooled offline) and was killed.
That state is the template; each case copies it and poisons one file.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile.inbox_board import NO_DAC, can_drop_dac
from tests.http_server import image_server
from tests.support import (
    BOARD,
    COMMUNE_TOPIC,
    ROOT,
    AgentProcess,
    Broker,
    Message,
    Observer,
    event_matcher,
    playlist,
    text_item,
    wait_until,
)
from tests.test_sdnotify import NotifySocket

pytestmark = pytest.mark.e2e
FIRST_FRAME_S = 5.0
HUGE_BYTES = 1 << 30  # sparse: costs no disk, but reading it whole would cost 1 GiB

CUSTOM_LAYOUT = """\
name: notice_board
purpose: A ward's own notice board layout.
background: navy
zones:
  - name: band
    type: rect
    box: [0, 0, 100, 20]
    color: accent
  - name: text
    type: text
    box: [5, 25, 90, 70]
    text: "{text}"
"""


def png_bytes() -> bytes:
    import pygame  # only here: collecting the other tests needs no SDL

    surface = pygame.Surface((8, 8))
    surface.fill((200, 30, 30))
    out = io.BytesIO()
    pygame.image.save(surface, out, "image.png")
    return out.getvalue()


def config_text(directory: Path, board_id: str, port: int) -> str:
    return f"""[board]
id = "{board_id}"
district = "{BOARD["district"]}"
commune = "{BOARD["commune"]}"
name = "Bảng tin phường Phúc Xá"

[mqtt]
host = "127.0.0.1"
port = {port}
keepalive_s = 5
reconnect_min_s = 0.2
reconnect_max_s = 1.0

[display]
output = "headless"
width = 320
height = 180
layouts_dir = "{directory / "layouts"}"

[health]
heartbeat_interval_s = 1

[storage]
state_dir = "{directory / "state"}"

[inbox]
dir = "{directory / "inbox"}"
"""


def live_a_life(directory: Path, broker: Broker) -> None:
    """Run a board for a while so its state holds every kind of file, then kill it."""
    board_id = "walk-template"
    (directory / "layouts").mkdir(parents=True)
    (directory / "layouts" / "notice_board.yaml").write_text(CUSTOM_LAYOUT)
    (directory / "inbox").mkdir()
    (directory / "inbox" / "notice.json").write_bytes(
        playlist(1, [text_item("tai-cho", "Thông báo tại chỗ", duration_s=5)])
    )
    config = directory / "agent.toml"
    config.write_text(config_text(directory, board_id, broker.port), encoding="utf-8")
    topic = f"{ROOT}/board/{board_id}"
    observer = Observer(broker.port, [f"{topic}/#"]).connect()
    agent = AgentProcess(config, directory / "template.log").start()
    events = f"{topic}/events"
    image = png_bytes()

    with image_server() as server:
        server.files["/anh.png"] = image
        try:
            observer.wait_for(lambda m: m.topic == f"{topic}/status", timeout=20)
            ref = {"url": server.url("/anh.png"), "sha256": hashlib.sha256(image).hexdigest()}
            image_item = {"id": "anh", "layout": "image_caption", "fields": {"image": ref}}
            observer.publish(f"{ROOT}/content/board/{board_id}", playlist(1, [image_item]))
            custom = {"id": "rieng", "layout": "notice_board", "fields": {"text": "Tổ dân phố"}}
            observer.publish(f"{ROOT}/content/city", playlist(1, [custom]))
            observer.publish(
                COMMUNE_TOPIC, playlist(1, [text_item("xa", "Lịch tiêm chủng", duration_s=5)])
            )
            alert = (
                '{"type":"alert","id":"mua-lon","msg_type":"alert","status":"actual",'
                '"sender":"ubnd","sent":"2026-11-27T07:00:00+07:00",'
                '"expires":"2099-01-01T00:00:00+07:00","severity":"minor",'
                '"urgency":"expected","headline":"Mưa lớn chiều nay",'
                '"description":"Tránh các tuyến đường trũng thấp"}'
            )
            observer.publish(f"{ROOT}/alert/city/mua-lon", alert)
            observer.wait_for(event_matcher(events, "alert.started"), timeout=20)
            observer.publish(
                f"{topic}/cmd", '{"type":"command","id":"ping-1","command":"ping","args":{}}'
            )
            observer.wait_for(lambda m: m.topic == f"{topic}/cmd/result", timeout=20)
            for channel in ("board", "city", "commune"):
                accepted = event_matcher(events, "content.accepted", channel=channel)
                observer.wait_for(accepted, timeout=20)
            wait_until(lambda: list((directory / "state" / "assets").glob("*/*")), 20, "the image")
        finally:
            observer.close()
    broker.kill()  # heartbeats now go to the spool
    spool = directory / "state" / "outbox.jsonl"
    wait_until(lambda: spool.exists() and spool.stat().st_size > 0, 20, "a spooled heartbeat")
    agent.kill()  # SIGKILL: the seq file holds a reservation, the spool stays
    broker.start()
    (directory / "state" / "outbox.dropped").write_text("3\n")


@dataclass(frozen=True)
class Target:
    name: str  # how the case is named
    path: str  # relative to the board's folder
    glob: bool = False  # `path` is a pattern naming one file of the template


TARGETS = [
    Target("content cache", "state/content/commune.json"),
    Target("alert cache", "state/alerts/*.json", glob=True),
    Target("outbox spool", "state/outbox.jsonl"),
    Target("outbox drop count", "state/outbox.dropped"),
    Target("command ids", "state/commands.seen"),
    Target("heartbeat seq", "state/heartbeat.seq"),
    Target("cached image", "state/assets/*/*", glob=True),
    Target("custom layout", "layouts/notice_board.yaml"),
    Target("inbox file", "inbox/notice.json"),
]


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: max(1, len(data) // 2)])


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(path.name).randbytes(4096))


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _huge(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(HUGE_BYTES)


def _unreadable(path: Path) -> None:
    path.chmod(0)


FAULTS: dict[str, Callable[[Path], None]] = {
    "empty": _empty,
    "truncated": _truncated,
    "garbage": _garbage,
    "directory": _directory,
    "fifo": _fifo,
    "symlink-to-dev-zero": _dev_zero,
    "huge": _huge,
    "unreadable": _unreadable,
}

# Not damage the agent can tell: an empty spool is a spool with nothing to send; a counter
# cut short is still a number (these files are written atomically, so only a damaged file
# system cuts them, and nothing in a bare number says so).
NOT_A_FAULT = {
    ("outbox spool", "empty"),
    ("outbox drop count", "truncated"),
    ("heartbeat seq", "truncated"),
}


@pytest.fixture(scope="module")
def walk_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = Broker(tmp_path_factory.mktemp("walk-broker"))
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, walk_broker: Broker) -> Path:
    directory = tmp_path_factory.mktemp("walk-template")
    live_a_life(directory, walk_broker)
    return directory


def names_the_file(name: str) -> Callable[[Message], bool]:
    def match(m: Message) -> bool:
        if not m.topic.endswith("/events"):
            return False
        body = m.json()
        if body.get("kind") not in ("storage.error", "display.error", "content.rejected"):
            return False
        return name in str(body.get("message", "")) + str(body.get("topic", ""))

    return match


CASES = [(t, f) for t in TARGETS for f in FAULTS]


@pytest.mark.parametrize(
    ("target", "fault"), CASES, ids=[f"{t.name.replace(' ', '-')}-{f}" for t, f in CASES]
)
def test_a_poisoned_file_never_stops_the_board(
    template: Path, walk_broker: Broker, tmp_path: Path, target: Target, fault: str
) -> None:
    board = tmp_path / "board"
    shutil.copytree(template, board, symlinks=True)
    (board / "template.log").unlink()
    paths = sorted(board.glob(target.path)) if target.glob else [board / target.path]
    assert paths, f"the template has no {target.path}"
    assert paths[0].is_file(), f"the template has no {target.path}"
    poisoned = paths[0]
    board_id = f"walk-{abs(hash((target.name, fault))) % 10**8}"
    spool = board / "state" / "outbox.jsonl"  # the board's own spool, not a stranger's
    spool.write_text(spool.read_text().replace("walk-template", board_id))
    config = board / "agent.toml"
    config.write_text(config_text(board, board_id, walk_broker.port), encoding="utf-8")
    run_as: list[str] = []
    if fault == "unreadable":
        if not can_drop_dac():
            pytest.skip("setpriv cannot drop CAP_DAC_OVERRIDE here: root reads any file")
        run_as = NO_DAC  # as a board's own service user: a mode can stop it
    FAULTS[fault](poisoned)

    topic = f"{ROOT}/board/{board_id}"
    observer = Observer(walk_broker.port, [f"{topic}/#"]).connect()
    notify = NotifySocket(tmp_path / "notify.sock")
    agent = AgentProcess(
        config, tmp_path / "agent.log", env={"NOTIFY_SOCKET": str(notify.path)}, wrapper=run_as
    )
    try:
        agent.start()
        ready = notify.wait_for("READY=1", timeout=15)
        first_frame_s = notify.received[ready][0] - agent.started_at
        assert first_frame_s <= FIRST_FRAME_S, f"first frame after {first_frame_s:.1f} s"
        assert "showing" in notify.received[ready][1]
        online = f"{topic}/status"
        observer.wait_for(lambda m: m.topic == online and m.json()["state"] == "online", 15)
        observer.wait_for(lambda m: m.topic == f"{topic}/heartbeat", timeout=15)
        if (target.name, fault) not in NOT_A_FAULT:
            name = poisoned.name
            observer.wait_for(names_the_file(name), timeout=15)
        assert agent.alive(), agent.log()
    finally:
        agent.kill()
        notify.close()
        observer.close()
