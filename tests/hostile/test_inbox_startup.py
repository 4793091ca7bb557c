"""Start-up with a hostile inbox: nothing in it, or about the folder itself, may stop
`run` or block it before the first frame (the FIFO that used to block the core forever,
a folder that is a symlink, a file, unreadable, or cannot be made)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hostile.inbox_board import (
    NO_DAC,
    InboxBoard,
    can_drop_dac,
    good_playlist,
    is_storage_error_about,
    remove_tree,
    secret_playlist,
    start_board,
)
from tests.support import AgentProcess, is_online, write_config

pytestmark = pytest.mark.e2e


@pytest.fixture
def boards() -> Iterator[list[InboxBoard]]:
    started: list[InboxBoard] = []
    yield started
    for board in started:
        board.close()
        remove_tree(board.inbox)


def test_a_fifo_in_the_inbox_at_start_up_does_not_block_the_first_frame(
    tmp_path: Path, boards: list[InboxBoard]
) -> None:
    def prepare(inbox: Path) -> None:
        os.mkfifo(inbox / "aaa-pipe.json")  # oldest first: read before the good file
        os.utime(inbox / "aaa-pipe.json", (1, 1))

    board = start_board(tmp_path, prepare=prepare)
    boards.append(board)
    board.observer.wait_for(is_online, timeout=20)
    first = board.heartbeat(timeout=20)  # a blocked core never sends one
    # The agent's first heartbeat (kept in its outbox until connected): made within 5 s of
    # its start, after its first frame was drawn.
    assert first["uptime_s"] < 5
    assert first["display"]["frames"] >= 1
    board.wait_playing("good")
    rejected = board.rejection("aaa-pipe.json")
    assert "named pipe" in rejected["errors"][0]["message"]
    beat = board.heartbeats_after(3)
    assert beat["now_showing"]["item_id"] == "good"
    assert len(board.rejections("aaa-pipe.json")) == 1
    assert board.agent.alive()


def test_hostile_files_present_at_start_up_are_each_rejected_once(
    tmp_path: Path, boards: list[InboxBoard]
) -> None:
    def prepare(inbox: Path) -> None:
        (inbox / "zero.json").symlink_to("/dev/zero")  # read whole, it never ends
        with (inbox / "huge.json").open("wb") as f:
            f.truncate(1024**3)
        (inbox / "folder.json").mkdir()
        (inbox.parent / "outside" / "secret.json").write_bytes(secret_playlist())
        (inbox / "link.json").symlink_to(inbox.parent / "outside" / "secret.json")

    board = start_board(tmp_path, prepare=prepare)
    boards.append(board)
    board.wait_playing("good", timeout=30)
    for name in ("zero.json", "huge.json", "folder.json", "link.json"):
        board.rejection(name)
    beat = board.heartbeats_after(3)
    assert beat["now_showing"]["item_id"] == "good"
    assert beat["content"]["local"]["version"] == 1  # the outside file was never read
    assert board.agent.alive()


def _symlinked_folder(tmp_path: Path) -> Path:
    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "secret.json").write_bytes(secret_playlist())
    (tmp_path / "inbox").symlink_to(real)
    return tmp_path / "inbox"


def _file_not_folder(tmp_path: Path) -> Path:
    (tmp_path / "inbox").write_bytes(secret_playlist())
    return tmp_path / "inbox"


def _cannot_be_made(tmp_path: Path) -> Path:
    (tmp_path / "media").write_text("a file where the mount point should be")
    return tmp_path / "media" / "usb" / "inbox"


def _unreadable(tmp_path: Path) -> Path:
    if not can_drop_dac():
        pytest.skip("setpriv cannot drop CAP_DAC_OVERRIDE here: root reads any folder")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "secret.json").write_bytes(secret_playlist())
    (tmp_path / "inbox").chmod(0)
    return tmp_path / "inbox"


FOLDER_CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("symlink", _symlinked_folder, "symbolic link"),
    ("a-file", _file_not_folder, "not a folder"),
    ("cannot-be-made", _cannot_be_made, "cannot"),
    ("unreadable", _unreadable, "ermission denied"),
]


@pytest.mark.parametrize(("name", "make", "why"), FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
def test_a_broken_inbox_folder_gives_one_error_and_the_board_still_shows_content(
    tmp_path: Path,
    boards: list[InboxBoard],
    name: str,
    make: Callable[[Path], Path],
    why: str,
) -> None:
    inbox = make(tmp_path)
    wrapper = NO_DAC if name == "unreadable" else None
    board = start_board(tmp_path, inbox=inbox, wrapper=wrapper, retained=good_playlist())
    boards.append(board)
    board.wait_playing("good", timeout=30)  # the broker's content, shown as usual
    match = is_storage_error_about(inbox, why)
    board.observer.wait_for(match, timeout=20)
    beat = board.heartbeats_after(4)
    assert beat["now_showing"]["item_id"] == "good"
    assert beat["content"]["local"] is None  # nothing read from a folder it refused
    assert len(board.observer.find(match)) == 1  # one clear error, not one per rescan
    assert board.agent.alive()


def test_a_file_without_read_permission_is_rejected_once(
    tmp_path: Path, boards: list[InboxBoard]
) -> None:
    if not can_drop_dac():
        pytest.skip("setpriv cannot drop CAP_DAC_OVERRIDE here: root reads any file")

    def prepare(inbox: Path) -> None:
        (inbox / "locked.json").write_bytes(good_playlist(9, "locked"))
        (inbox / "locked.json").chmod(0)

    # As a service without CAP_DAC_OVERRIDE (or running as its own user): open() fails.
    board = start_board(tmp_path, prepare=prepare, wrapper=NO_DAC)
    boards.append(board)
    board.wait_playing("good", timeout=30)
    rejected = board.rejection("locked.json")
    assert "no permission" in rejected["errors"][0]["message"]
    beat = board.heartbeats_after(3)
    assert beat["now_showing"]["item_id"] == "good"
    assert beat["content"]["local"]["version"] == 1
    assert len(board.rejections("locked.json")) == 1
    # Fixing the permission is a change: the file is read then.
    mark = board.observer.mark()
    (board.inbox / "locked.json").chmod(0o644)
    board.wait_playing("locked", start=mark)
    assert not (board.inbox / "locked.json.error.txt").exists()  # the fix removed the sidecar


def test_without_a_broker_a_fifo_at_start_up_is_rejected_and_the_inbox_content_shows(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    os.mkfifo(inbox / "aaa-pipe.json")
    os.utime(inbox / "aaa-pipe.json", (1, 1))  # oldest: read first
    (inbox / "good.json").write_bytes(good_playlist())
    config = write_config(tmp_path, port=None, heartbeat_s=1, extra=f'[inbox]\ndir = "{inbox}"\n')
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    try:
        agent.wait_log('"kind":"playback.started","item_id":"good"', timeout=20)
        log = agent.wait_log("aaa-pipe.json is a named pipe (FIFO)", timeout=20)
        assert '"kind":"content.rejected"' in log
        assert "Traceback" not in log
        assert agent.alive()
    finally:
        agent.kill()
