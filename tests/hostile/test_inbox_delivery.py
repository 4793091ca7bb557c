"""How files really reach an inbox: moved in with `mv` (an atomic rename, what most tools
and `rsync` do), on a USB stick mounted over the folder after start, or in a folder that
did not exist when the agent started."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.inbox_board import (
    InboxBoard,
    good_playlist,
    is_storage_error_about,
    remove_tree,
    start_board,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def board(tmp_path: Path) -> Iterator[InboxBoard]:
    made = start_board(tmp_path)
    made.wait_playing("good", timeout=30)
    yield made
    made.close()


def test_a_file_moved_into_the_inbox_is_read(board: InboxBoard) -> None:
    mark = board.observer.mark()
    staged = board.outside / "moved.json"
    staged.write_bytes(good_playlist(2, "moved"))
    staged.rename(board.inbox / "moved.json")  # what `mv` does on one file system
    board.wait_playing("moved", start=mark)
    # A rename inside the inbox (how rsync and editors write: temp file, then rename).
    mark = board.observer.mark()
    (board.inbox / ".renamed.json.partial").write_bytes(good_playlist(3, "renamed"))
    (board.inbox / ".renamed.json.partial").rename(board.inbox / "renamed.json")
    board.wait_playing("renamed", start=mark)
    assert board.agent.alive()


def _mount_bind(source: Path, target: Path) -> None:
    result = subprocess.run(
        ["mount", "--bind", str(source), str(target)], check=False, capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip()}): no USB stick to simulate")


def test_a_usb_stick_mounted_over_the_inbox_after_start_is_read(board: InboxBoard) -> None:
    stick = board.directory / "stick"
    stick.mkdir()
    (stick / "usb.json").write_bytes(good_playlist(5, "usb"))
    mark = board.observer.mark()
    _mount_bind(stick, board.inbox)  # files appear with no event in the watched folder
    try:
        board.wait_playing("usb", start=mark)
        # Files written on the stick while it is mounted are seen too.
        mark = board.observer.mark()
        (board.inbox / "later.json").write_bytes(good_playlist(6, "later"))
        board.wait_playing("later", start=mark)
    finally:
        subprocess.run(["umount", str(board.inbox)], check=True)
    # Unplugged: the folder underneath is back; playlists stay until replaced.
    beat = board.heartbeats_after(4)
    assert beat["now_showing"]["item_id"] == "later"
    assert board.agent.alive()


def test_an_inbox_that_appears_after_start_is_read(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.write_text("not mounted yet: a file where the mount point will be")
    inbox = media / "usb"
    board = start_board(tmp_path, inbox=inbox, retained=good_playlist(1, "broker"))
    try:
        board.wait_playing("broker", timeout=30)
        board.observer.wait_for(is_storage_error_about(inbox, "cannot"), timeout=20)
        mark = board.observer.mark()
        media.unlink()
        staged = tmp_path / "staged"
        staged.mkdir()
        (staged / "usb.json").write_bytes(good_playlist(2, "usb"))
        media.mkdir()
        staged.rename(inbox)  # the whole folder at once, like a mount
        board.wait_accepted(2, start=mark)  # (the broker's item keeps its long turn)
        assert board.agent.alive()
    finally:
        board.close()
        remove_tree(inbox)
        shutil.rmtree(media, ignore_errors=True)
