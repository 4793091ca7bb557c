from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.inbox import (
    InboxFile,
    InboxWatcher,
    Unreadable,
    read_inbox_file,
    update_sidecar,
)
from agent.inbox.files import _read_bounded
from tests.support import REPO


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


# --- reading: regular files only, never through a link, bounded ---------------------------

LIMIT = 1024


def test_a_regular_file_up_to_the_limit_is_read(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_bytes(b"x" * LIMIT)
    assert read_inbox_file(tmp_path / "ok.json", LIMIT) == b"x" * LIMIT
    (tmp_path / "big.json").write_bytes(b"x" * (LIMIT + 1))
    big = read_inbox_file(tmp_path / "big.json", LIMIT)
    assert isinstance(big, Unreadable)
    assert f"{LIMIT + 1} bytes; limit {LIMIT}" in big.reason


def _entries(tmp_path: Path) -> dict[str, str]:
    """Each kind of entry that is not a regular file with one name, and what it is called."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text('{"type": "playlist"}')
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "out.json").symlink_to(outside / "secret.json")
    (inbox / "zero.json").symlink_to("/dev/zero")
    (inbox / "dangling.json").symlink_to(tmp_path / "nothing")
    os.mkfifo(inbox / "pipe.json")
    (inbox / "dir.json").mkdir()
    os.link(outside / "secret.json", inbox / "hard.json")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(inbox / "sock.json"))
    sock.close()
    return {
        "out.json": "symbolic link",
        "zero.json": "symbolic link",
        "dangling.json": "symbolic link",
        "pipe.json": "named pipe",
        "dir.json": "a folder",
        "hard.json": "hard link",
        "sock.json": "a socket",
    }


@pytest.mark.timeout(30)  # a FIFO or /dev/zero read the old way never returns
def test_links_pipes_folders_devices_and_hard_links_are_not_read(tmp_path: Path) -> None:
    for name, what in _entries(tmp_path).items():
        result = read_inbox_file(tmp_path / "inbox" / name, LIMIT)
        assert isinstance(result, Unreadable), name
        assert what in result.reason
        assert name in result.reason
        assert not result.gone


def test_an_empty_file_is_refused_not_taken_as_clear_the_channel(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_bytes(b"")
    result = read_inbox_file(tmp_path / "empty.json", LIMIT)
    assert isinstance(result, Unreadable)
    assert "empty" in result.reason


def test_a_file_gone_before_it_is_read_says_so(tmp_path: Path) -> None:
    result = read_inbox_file(tmp_path / "vanished.json", LIMIT)
    assert isinstance(result, Unreadable)
    assert result.gone


def test_reading_stops_after_the_limit_even_if_the_size_lied() -> None:
    # A pipe: no size to check first, and more bytes than the limit behind it.
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"y" * (LIMIT + 100))
        os.close(write_end)
        result = _read_bounded(read_end, "grows.json", LIMIT)
        assert isinstance(result, Unreadable)
        assert f"limit {LIMIT}" in result.reason
    finally:
        os.close(read_end)


NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_a_file_without_read_permission_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    locked = tmp_path / "locked.json"
    locked.write_text("{}")
    locked.chmod(0)
    script = (
        "import sys; from pathlib import Path; from agent.inbox import read_inbox_file; "
        "print(read_inbox_file(Path(sys.argv[1]), 1024))"
    )
    if os.geteuid() == 0:  # root reads anything: run without the capabilities that allow it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no way to make open() fail")
        command = [*NO_DAC, sys.executable, "-c", script, str(locked)]
    else:
        command = [sys.executable, "-c", script, str(locked)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    if "Operation not permitted" in result.stderr and "setpriv" in result.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert "Unreadable" in result.stdout
    assert "no permission" in result.stdout


# --- the sidecar: never through a link ----------------------------------------------------


def test_the_sidecar_is_written_beside_the_file_and_removed_when_fixed(tmp_path: Path) -> None:
    path = tmp_path / "notice.json"
    update_sidecar(path, ["version: Input should be a valid integer"])
    sidecar = tmp_path / "notice.json.error.txt"
    assert sidecar.read_text() == "version: Input should be a valid integer\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notice.json.error.txt"]  # no temp left
    update_sidecar(path, [])
    assert not sidecar.exists()


def test_the_sidecar_never_writes_through_a_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # The temp name the old writer used, and the sidecar itself, both links to outside.
    (inbox / ".a.json.error.txt.tmp").symlink_to(victim)
    (inbox / "a.json.error.txt").symlink_to(victim)
    (inbox / "b.json.error.txt").symlink_to(outside / "created.txt")
    (inbox / "c.json.error.txt").mkdir()
    update_sidecar(inbox / "a.json", ["$: bad"])
    update_sidecar(inbox / "b.json", ["$: bad"])
    update_sidecar(inbox / "c.json", ["$: bad"])
    assert victim.read_text() == "precious"
    assert not (outside / "created.txt").exists()
    assert (inbox / "a.json.error.txt").is_symlink()
    assert (inbox / "b.json.error.txt").is_symlink()
    assert "a.json.error.txt not written: it is a symbolic link" in caplog.text
    assert "c.json.error.txt not written: it is a folder" in caplog.text
    # Fixed files: a link in the sidecar's place is left alone, and so is its target.
    update_sidecar(inbox / "a.json", [])
    assert (inbox / "a.json.error.txt").is_symlink()
    assert victim.read_text() == "precious"


# --- the watcher: moves, mounts, late folders, bounds -------------------------------------


def _drain(reports: queue.Queue[Any], until: Callable[[InboxFile], bool]) -> list[InboxFile]:
    """Reports up to and including the first one `until` accepts (10 s at most each)."""
    seen: list[InboxFile] = []
    while True:
        report = reports.get(timeout=10)
        seen.append(report)
        if until(report):
            return seen


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, queue.Queue[Any], InboxWatcher]]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    reports: queue.Queue[Any] = queue.Queue()
    watcher = InboxWatcher(inbox, reports, max_files=3, rescan_s=0.3)
    # The watcher's first scan reports whatever is there at once, complete or not: the
    # tests write their files after it (a file written during it may come twice).
    (inbox / "ready.json").write_text("{}")
    watcher.start()
    assert reports.get(timeout=10) == InboxFile(inbox / "ready.json")
    (inbox / "ready.json").unlink()
    assert reports.get(timeout=10) == InboxFile(inbox / "ready.json", deleted=True)
    yield inbox, reports, watcher
    watcher.stop()


def test_a_file_moved_in_is_reported(
    watched: tuple[Path, queue.Queue[Any], InboxWatcher], tmp_path: Path
) -> None:
    inbox, reports, _ = watched
    (tmp_path / "staged.json").write_text("{}")
    (tmp_path / "staged.json").rename(inbox / "moved.json")
    assert reports.get(timeout=10) == InboxFile(inbox / "moved.json")
    (inbox / "moved.json").rename(inbox / "renamed.json")
    got = {reports.get(timeout=10), reports.get(timeout=10)}
    assert got == {InboxFile(inbox / "moved.json", deleted=True), InboxFile(inbox / "renamed.json")}


def test_a_special_file_is_reported_once_however_many_rescans(
    watched: tuple[Path, queue.Queue[Any], InboxWatcher],
) -> None:
    inbox, reports, _ = watched
    os.mkfifo(inbox / "pipe.json")
    assert reports.get(timeout=10) == InboxFile(inbox / "pipe.json")
    for n in range(3):  # each marker is reported after at least one more rescan
        (inbox / f"marker-{n}.json").write_text("{}")
        assert reports.get(timeout=10) == InboxFile(inbox / f"marker-{n}.json")
        (inbox / f"marker-{n}.json").unlink()
        assert reports.get(timeout=10) == InboxFile(inbox / f"marker-{n}.json", deleted=True)


def test_a_folder_swapped_in_whole_is_read_and_the_old_files_are_gone(
    watched: tuple[Path, queue.Queue[Any], InboxWatcher], tmp_path: Path
) -> None:
    inbox, reports, _ = watched
    (inbox / "old.json").write_text("{}")
    assert reports.get(timeout=10) == InboxFile(inbox / "old.json")
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "usb.json").write_text("{}")
    inbox.rename(tmp_path / "unplugged")
    stick.rename(inbox)  # no event in the watched folder: like a mount over it
    got = _drain(reports, lambda r: r == InboxFile(inbox / "usb.json"))
    assert InboxFile(inbox / "old.json", deleted=True) in got


def test_a_missing_folder_is_one_problem_until_it_appears(tmp_path: Path) -> None:
    (tmp_path / "media").write_text("a file, not the mount point")
    inbox = tmp_path / "media" / "usb"
    reports: queue.Queue[Any] = queue.Queue()
    watcher = InboxWatcher(inbox, reports, rescan_s=0.2)
    watcher.start()
    try:
        problem = reports.get(timeout=10)
        assert problem.path == inbox
        assert problem.problem is not None
        assert "does not exist and cannot be made" in problem.problem
        (tmp_path / "media").unlink()
        (tmp_path / "media").mkdir()
        staged = tmp_path / "staged"
        staged.mkdir()
        (staged / "usb.json").write_text("{}")
        staged.rename(inbox)
        assert reports.get(timeout=10) == InboxFile(inbox / "usb.json")  # no second problem
    finally:
        watcher.stop()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.symlink_to(p.parent), "is a symbolic link: not followed"),
        (lambda p: p.write_text("{}"), "is not a folder"),
    ],
    ids=["symlink", "file"],
)
def test_an_inbox_that_is_not_a_real_folder_is_one_problem(
    tmp_path: Path, make: Callable[[Path], Any], words: str
) -> None:
    inbox = tmp_path / "inbox"
    make(inbox)
    (tmp_path / "outside.json").write_text("{}")
    reports: queue.Queue[Any] = queue.Queue()
    watcher = InboxWatcher(inbox, reports, rescan_s=0.2)
    watcher.start()
    try:
        problem = reports.get(timeout=10)
        assert problem.problem is not None
        assert words in problem.problem
        with pytest.raises(queue.Empty):  # nothing read through it, no repeat
            reports.get(timeout=1)
    finally:
        watcher.stop()


def test_at_most_max_files_are_reported_with_one_problem(
    watched: tuple[Path, queue.Queue[Any], InboxWatcher],
) -> None:
    inbox, reports, _ = watched
    for n in range(5):
        (inbox / f"f{n}.json").write_text("{}")
    got = _drain(reports, lambda r: r.problem is not None)
    while True:  # the rest that were due
        try:
            got.append(reports.get(timeout=1.5))
        except queue.Empty:
            break
    files = {r.path.name for r in got if r.problem is None}
    assert files <= {"f0.json", "f1.json", "f2.json"}
    assert "f4.json" not in files
    problems = [r.problem for r in got if r.problem is not None]
    assert len(problems) == 1
    assert "more than 3 content files" in problems[0]


def test_a_file_still_being_written_waits_for_its_close(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    reports: queue.Queue[Any] = queue.Queue()
    (inbox / "first.json").write_text("{}")
    watcher = InboxWatcher(inbox, reports, rescan_s=60)  # only inotify's close counts here
    watcher.start()
    try:
        assert reports.get(timeout=10) == InboxFile(inbox / "first.json")  # first scan done
        with (inbox / "slow.json").open("wb") as slow:
            slow.write(b'{"type": ')
            slow.flush()
            (inbox / "marker.json").write_text("{}")  # proof a scan saw the half file
            assert reports.get(timeout=10) == InboxFile(inbox / "marker.json")
            slow.write(b'"playlist"}')
        assert reports.get(timeout=10) == InboxFile(inbox / "slow.json")
    finally:
        watcher.stop()


def test_names_that_cannot_go_into_an_event_are_ignored_and_logged_once(
    watched: tuple[Path, queue.Queue[Any], InboxWatcher], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, reports, _ = watched
    # The name is bytes on purpose (not UTF-8), which a Path does not hold as such.
    with open(os.path.join(os.fsencode(inbox), b"\xff\xfe.json"), "wb") as f:  # noqa: PTH118, PTH123
        f.write(b"{}")  # not UTF-8
    (inbox / "two\nlines.json").write_text("{}")  # would forge a log line
    for n in range(2):  # a marker after the odd names, and one after another rescan
        (inbox / f"marker-{n}.json").write_text("{}")
        assert reports.get(timeout=10) == InboxFile(inbox / f"marker-{n}.json")
    assert reports.empty()
    odd = [r for r in caplog.records if "not a printable UTF-8 name" in r.getMessage()]
    assert len(odd) == 2
