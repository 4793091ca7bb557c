"""Hostile layout files: nothing in `display.layouts_dir` may stop, hang or crash a board.

A bad file is left out and named (display.error, validate, doctor); the board starts, and
reloads, with every other layout.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from agent.core import Agent
from agent.output import HeadlessOutput
from agent.validate import validate_files
from display_layouts.library import scan_library
from display_layouts.loader import MAX_DEPTH, load_layout_file
from display_layouts.problems import LayoutError
from tests.support import playlist, text_item
from tests.test_core import FakeClock, events, make_config, publish, shown

T = TypeVar("T")

# A good custom layout, to show that the rest of the folder still loads.
NOTICE = """\
name: notice
purpose: A notice with a title.
zones:
  - {name: title, type: text, box: [0, 0, 100, 20], text: "{title}"}
  - {name: body, type: text, box: [0, 20, 100, 80], text: "{body}"}
"""

HEAD = (
    "name: bomb\npurpose: x\nzones:\n"
    "  - {name: t, type: text, box: [0, 0, 100, 100], text: '{a}'}\n"
)
DEPTH = 100_000  # a quarter of a megabyte of brackets: far past any recursion limit
BOMBS = {
    "deep-flow": "name: bomb\npurpose: x\nzones: " + "[" * DEPTH + "]" * DEPTH + "\n",
    "deep-mapping": "name: bomb\npurpose: x\nzones: " + "{a: " * 20_000 + "1" + "}" * 20_000,
    "deep-block": "name: bomb\npurpose: x\nzones:\n"
    + "".join(" " * (i + 2) + "- \n" for i in range(300)),
    "many-values": HEAD + "variants: [" + ", ".join(["0"] * 60_000) + "]\n",
    "billion-laughs": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "merge-alias": "base: &b {x: 1}\nname: bomb\npurpose: x\n<<: *b\nzones: []\n",
    "huge-int": HEAD + "speed: " + "9" * 5000 + "\n",
    "long-string": HEAD.replace("'{a}'", "'" + "x" * 200_000 + "'"),
    "nan-box": HEAD.replace("[0, 0, 100, 100]", "[.nan, 0, 100, 100]"),
}


@pytest.mark.parametrize("text", BOMBS.values(), ids=BOMBS.keys())
def test_a_layout_bomb_is_a_layout_error_not_a_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LayoutError) as caught:
        load_layout_file(path)
    assert caught.value.problems
    assert all(p.startswith(f"{path}: ") for p in caught.value.problems)
    assert len(caught.value.problems) <= 5  # one clear bounded error, not one per value


def test_nesting_within_the_bound_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    nested = "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3)
    path.write_text(HEAD + f"variants: {nested}\n", encoding="utf-8")
    with pytest.raises(LayoutError) as caught:
        load_layout_file(path)
    assert "nested more than" not in str(caught.value)  # an ordinary problem, not the bound


def _special_files(folder: Path) -> list[Path]:
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)
    (folder / "folder.yaml").mkdir()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "dangling.yaml").symlink_to(folder / "nowhere")
    huge = folder / "huge.yaml"
    with huge.open("wb") as file:
        file.truncate(1 << 30)  # 1 GiB, sparse
    return [fifo, folder / "folder.yaml", folder / "zero.yaml", folder / "dangling.yaml", huge]


def _in_thread(call: Callable[[], T], timeout: float = 20) -> T:
    """Run `call` where a hang fails the test instead of blocking it forever."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked on a layout file"
    return result[0]


def test_special_files_are_reported_and_never_block(tmp_path: Path) -> None:
    specials = _special_files(tmp_path)
    (tmp_path / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    scan = _in_thread(lambda: scan_library(tmp_path))
    assert "notice" in scan.library
    skipped = {file.path: file.problems for file in scan.skipped}
    assert set(skipped) == set(specials)
    assert "not a regular file" in skipped[tmp_path / "fifo.yaml"][0]
    assert "larger than 256 KiB" in skipped[tmp_path / "huge.yaml"][0]


def test_an_unreadable_layout_file_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    locked = tmp_path / "locked.yaml"
    locked.write_text(NOTICE.replace("notice", "locked"), encoding="utf-8")
    locked.chmod(0)
    (tmp_path / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    scan = scan_library(tmp_path)
    assert "notice" in scan.library
    assert "locked" not in scan.library
    assert "cannot read" in scan.skipped[0].summary()


def test_every_bad_file_is_skipped_and_the_rest_is_used(tmp_path: Path) -> None:
    for name, text in BOMBS.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    (tmp_path / "headline.yaml").write_text(NOTICE.replace("notice", "headline"))  # no override
    scan = scan_library(tmp_path)
    assert "notice" in scan.library
    assert "headline" in scan.library
    assert scan.library.get("headline") is not None
    assert scan.library.specs["headline"].slots[0].name == "title"  # still the built-in one
    assert scan.library.specs["headline"].slots[1].name == "body"
    assert len(scan.skipped) == len(BOMBS) + 1
    for file in scan.skipped:
        assert str(file.path) in file.summary()
        assert len(file.summary()) < 1000


def test_a_missing_layouts_folder_leaves_the_builtin_layouts(tmp_path: Path) -> None:
    scan = scan_library(tmp_path / "nowhere")
    assert "headline" in scan.library
    assert "cannot read the layouts folder" in scan.problems[0]


# --- the board ---------------------------------------------------------------------------


def board(tmp_path: Path, clock: FakeClock, layouts: Path) -> Agent:
    config = make_config(
        tmp_path,
        display={"output": "headless", "width": 320, "height": 180, "layouts_dir": str(layouts)},
    )
    agent = Agent(config, clock=clock, output=HeadlessOutput((320, 180)))
    agent.link = None  # in-process: events go to the log only
    return agent


@pytest.fixture
def layouts(tmp_path: Path) -> Path:
    folder = tmp_path / "layouts"
    folder.mkdir()
    (folder / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    (folder / "bomb.yaml").write_text(BOMBS["deep-flow"], encoding="utf-8")
    (folder / "nan_box.yaml").write_text(BOMBS["nan-box"].replace("bomb", "nan_box"))
    return folder


def test_a_board_starts_with_a_layout_bomb_in_its_folder(
    tmp_path: Path, layouts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agent = board(tmp_path, FakeClock(), layouts)
    try:
        agent.start()
        assert agent.screen.frames >= 1
        assert "notice" in agent.library
        messages = [e["message"] for e in events(caplog, "display.error")]
        assert len(messages) == 2
        assert str(layouts / "bomb.yaml") in messages[0]
        assert "nested more than" in messages[0]
        assert str(layouts / "nan_box.yaml") in messages[1]
        assert "not a finite" in messages[1]
        item = {"id": "n", "layout": "notice", "fields": {"title": "T", "body": "B"}}
        publish(agent, playlist(1, [item]))
        assert shown(agent) == "n"
        assert not [r for r in caplog.records if r.exc_info]  # no traceback
    finally:
        agent._shutdown()


def test_reload_skips_a_bad_file_and_loads_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "layouts"
    folder.mkdir()
    agent = board(tmp_path, FakeClock(), folder)
    try:
        agent.start()
        publish(agent, playlist(1, [text_item("a", "A")]))
        caplog.clear()
        caplog.set_level(logging.INFO)
        (folder / "notice.yaml").write_text(NOTICE, encoding="utf-8")
        (folder / "bomb.yaml").write_text(BOMBS["deep-flow"], encoding="utf-8")
        problem = agent.reload()
        assert problem is not None
        assert "bomb.yaml" in problem
        assert "notice" in agent.library
        assert shown(agent) == "a"
        [error] = events(caplog, "display.error")
        assert str(folder / "bomb.yaml") in error["message"]
        assert not [r for r in caplog.records if r.exc_info]  # no traceback
    finally:
        agent._shutdown()


def test_validate_names_the_bomb_and_its_problem(tmp_path: Path) -> None:
    out = io.StringIO()
    paths = []
    for name, text in BOMBS.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    assert validate_files(paths, out) == 1
    lines = out.getvalue().splitlines()
    for path in paths:
        mine = [line for line in lines if line.startswith(f"{path}: ")]
        assert 1 <= len(mine) <= 5, (path, lines)


def _fault(kind: str, path: Path) -> None:
    """Replace the layout file at `path` by one kind of damage."""
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(NOTICE.encode()[: len(NOTICE) // 2])
    elif kind == "garbage":
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "huge":
        with path.open("wb") as file:
            file.truncate(1 << 30)
    elif kind == "no-permission":
        path.write_text(NOTICE, encoding="utf-8")
        path.chmod(0)


FAULTS = ["empty", "truncated", "garbage", "directory", "fifo", "dev-zero", "huge"]
FAULTS += [] if os.geteuid() == 0 else ["no-permission"]  # root reads every file


@pytest.mark.parametrize("kind", FAULTS)
def test_each_kind_of_damaged_layout_file_is_named_and_the_board_shows_its_content(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    folder = tmp_path / "layouts"
    folder.mkdir()
    (folder / "other.yaml").write_text(NOTICE.replace("notice", "other"), encoding="utf-8")
    _fault(kind, folder / "notice.yaml")
    clock = FakeClock()
    agent = board(tmp_path, clock, folder)
    try:
        _in_thread(agent.start)
        publish(agent, playlist(1, [text_item("a", "A")]))
        assert shown(agent) == "a"
        assert agent.screen.frames >= 2
        [error] = events(caplog, "display.error")
        assert f"layout file {folder / 'notice.yaml'} skipped" in error["message"]
        assert "other" in agent.library
        assert "notice" not in agent.library
        assert agent.heartbeat().errors_total >= 1
    finally:
        agent._shutdown()


def test_doctor_names_each_skipped_layout_file(tmp_path: Path, layouts: Path) -> None:
    from agent.doctor.display import DisplayDoctor

    config = make_config(
        tmp_path,
        display={"output": "headless", "width": 320, "height": 180, "layouts_dir": str(layouts)},
    )
    checks = DisplayDoctor(config).checks()
    out = io.StringIO()
    for check in checks:
        check.show(out)
    text = out.getvalue()
    assert f"✓ layouts folder {layouts}: notice besides the built-in ones" in text
    assert f"✗ layout file {layouts / 'bomb.yaml'} skipped: not valid YAML: nested more" in text
    assert f"✗ layout file {layouts / 'nan_box.yaml'} skipped" in text
    assert "signage-agent validate" in text
    assert [c.ok for c in checks].count(False) == 2


def test_a_folder_of_many_big_files_is_read_within_a_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many files near the per-file limit must not delay the first frame by minutes: the
    folder as a whole has a budget; past it, files are skipped and named."""
    from display_layouts import library

    near_limit = HEAD + "variants: [" + ", ".join(["0"] * 9_000) + "]\n"
    for index in range(12):
        (tmp_path / f"big{index:02}.yaml").write_text(near_limit, encoding="utf-8")
    (tmp_path / "zz_notice.yaml").write_text(NOTICE.replace("notice", "zz_notice"))
    scan = scan_library(tmp_path)
    starved = [f for f in scan.skipped if "too many values in all" in f.summary()]
    assert starved
    assert len(scan.skipped) == 13  # every big file, and the notice after them
    assert sum(1 for f in scan.skipped if "variants" in f.summary()) == 13 - len(starved)
    monkeypatch.setattr(library, "MAX_FILES", 5)
    scan = scan_library(tmp_path)
    [folder] = [f for f in scan.skipped if f.path == tmp_path]
    assert "13 layout files: only the first 5 by name are read" in folder.summary()


@pytest.mark.allow_traceback  # injects a fault on purpose
def test_a_bug_in_the_loader_leaves_one_file_out_not_the_board(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from display_layouts import library

    real = load_layout_file  # what the library calls (it imports it from the loader)

    def buggy(path: Path, **kwargs: object) -> object:
        if path.name == "bad.yaml":
            raise MemoryError("the loader's own bug")
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(library, "load_layout_file", buggy)
    (tmp_path / "bad.yaml").write_text(NOTICE.replace("notice", "bad"), encoding="utf-8")
    (tmp_path / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    scan = scan_library(tmp_path)
    assert "notice" in scan.library
    assert "bad" not in scan.library
    assert "cannot be read: MemoryError: the loader's own bug" in scan.skipped[0].summary()
