"""Hostile entries dropped into a running board's inbox (a USB stick, anyone who can write
the folder): each gets one `content.rejected` naming the file and why; the agent lives,
keeps showing the last good content, and never reads or writes outside the inbox."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator

import pytest

from tests.hostile.inbox_board import (
    LIMIT,
    InboxBoard,
    peak_rss_mb,
    ping,
    secret_playlist,
    start_board,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InboxBoard]:
    made = start_board(tmp_path_factory.mktemp("inbox-files"))
    made.wait_playing("good", timeout=30)
    yield made
    made.close()


def _symlink_out(board: InboxBoard) -> str:
    (board.outside / "secret.json").write_bytes(secret_playlist())
    (board.inbox / "link.json").symlink_to(board.outside / "secret.json")
    return "link.json"


def _fifo(board: InboxBoard) -> str:
    os.mkfifo(board.inbox / "pipe.json")
    return "pipe.json"


def _folder(board: InboxBoard) -> str:
    (board.inbox / "folder.json").mkdir()
    (board.inbox / "folder.json" / "inner.json").write_bytes(secret_playlist())
    return "folder.json"


def _dev_zero(board: InboxBoard) -> str:
    (board.inbox / "zero.json").symlink_to("/dev/zero")
    return "zero.json"


def _too_large(board: InboxBoard) -> str:
    (board.inbox / "big.json").write_bytes(b" " * (LIMIT + 1))
    return "big.json"


def _hard_link(board: InboxBoard) -> str:
    (board.outside / "secret.json").write_bytes(secret_playlist())
    os.link(board.outside / "secret.json", board.inbox / "hard.json")
    return "hard.json"


def _socket(board: InboxBoard) -> str:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(board.inbox / "sock.json"))
    server.close()  # the socket file stays
    return "sock.json"


def _garbage(board: InboxBoard) -> str:
    (board.inbox / "garbage.json").write_bytes(bytes(range(256)) * 4)
    return "garbage.json"


def _empty(board: InboxBoard) -> str:
    (board.inbox / "empty.json").write_bytes(b"")  # a copy that failed, a stick full
    return "empty.json"


def _truncated(board: InboxBoard) -> str:
    whole = secret_playlist()
    (board.inbox / "truncated.json").write_bytes(whole[: len(whole) // 2])
    return "truncated.json"


CASES: list[tuple[str, Callable[[InboxBoard], str], str]] = [
    ("symlink-out-of-the-inbox", _symlink_out, "symbolic link"),
    ("fifo", _fifo, "named pipe"),
    ("folder", _folder, "folder"),
    ("symlink-to-dev-zero", _dev_zero, "symbolic link"),
    ("larger-than-the-payload-limit", _too_large, f"limit {LIMIT}"),
    ("hard-link-to-an-outside-file", _hard_link, "hard link"),
    ("unix-socket", _socket, "socket"),
    ("garbage-bytes", _garbage, "UTF-8"),
    ("empty", _empty, "is empty"),
    ("truncated", _truncated, "JSON"),
]


@pytest.mark.parametrize(("name", "make", "why"), CASES, ids=[c[0] for c in CASES])
def test_hostile_entry_gets_one_rejection_and_the_good_content_stays(
    board: InboxBoard, name: str, make: Callable[[InboxBoard], str], why: str
) -> None:
    mark = board.observer.mark()
    entry = make(board)
    rejected = board.rejection(entry, start=mark)
    assert rejected["channel"] == "local"
    messages = " ".join(e["message"] for e in rejected["errors"])
    assert why in messages, rejected["errors"]
    # Several rescans later: still exactly one rejection, still the good item on show.
    beat = board.heartbeats_after(4)
    assert len(board.rejections(entry, start=mark)) == 1
    assert beat["now_showing"]["item_id"] == "good"
    assert beat["content"]["local"]["version"] == 1
    assert board.agent.alive()


def test_the_error_sidecar_is_never_written_through_a_link(board: InboxBoard) -> None:
    victim = board.outside / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    missing = board.outside / "created-by-the-agent.txt"
    # What the agent used to open for writing: its temp file, and the sidecar itself.
    (board.inbox / ".bad.json.error.txt.tmp").symlink_to(victim)
    (board.inbox / "bad.json.error.txt").symlink_to(missing)
    mark = board.observer.mark()
    (board.inbox / "bad.json").write_bytes(b"{not json")
    board.rejection("bad.json", start=mark)
    ping(board, f"after-bad-{mark}")
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not missing.exists()
    assert (board.inbox / "bad.json.error.txt").is_symlink()  # left alone, not replaced
    assert f"sidecar {board.inbox / 'bad.json.error.txt'} not written" in board.agent.log()
    # A bad file beside a plain sidecar path still gets its sidecar, in the inbox.
    (board.inbox / "worse.json").write_bytes(b"[1, 2]")
    board.rejection("worse.json", start=mark)
    ping(board, f"after-worse-{mark}")
    assert (board.inbox / "worse.json.error.txt").read_text(encoding="utf-8").strip()
    assert not (board.inbox / "worse.json.error.txt").is_symlink()


def test_a_1_gb_file_is_not_read_into_memory(board: InboxBoard) -> None:
    assert board.agent.process is not None
    before = peak_rss_mb(board.agent.process.pid)
    mark = board.observer.mark()
    with (board.inbox / "huge.json").open("wb") as f:
        f.truncate(1024**3)  # sparse: costs no disk, but reads as 1 GiB of zeros
    rejected = board.rejection("huge.json", start=mark)
    assert f"limit {LIMIT}" in rejected["errors"][0]["message"]
    assert peak_rss_mb(board.agent.process.pid) < before + 64
    assert board.heartbeats_after(1)["now_showing"]["item_id"] == "good"
