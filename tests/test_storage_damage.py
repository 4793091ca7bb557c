"""Every state file may be found damaged at start-up: the agent sets it aside, says which
file and what it did instead, and goes on (issue 10 "State that survives anything", issue 21
"heartbeat.seq goes backwards", "a damaged cache file is not sent as storage.error")."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from agent.caches import AlertStore, ContentStore, cached_content_limit
from agent.commands import SeenCommands
from agent.core import Agent
from agent.heartbeat_seq import SeqCounter
from agent.link_messages import Received
from agent.output import HeadlessOutput
from agent.storage import BAD_COPIES_KEPT, StorageHealth, atomic_write, quarantine
from tests.test_alerts import alert as make_alert
from tests.test_core import FakeClock, events, make_config
from tests.test_storage import sample_playlist

Damage = Callable[[Path], None]


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff garbage \x9c")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def link_to_dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


DAMAGES: dict[str, Damage] = {
    "garbage": garbage,
    "empty": empty,
    "truncated": truncated,
    "directory": directory,
    "fifo": fifo,
    "link to /dev/zero": link_to_dev_zero,
}


class Said:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.health = StorageHealth(self.messages.append)


@pytest.mark.parametrize("damage", list(DAMAGES.values()), ids=list(DAMAGES))
def test_a_damaged_content_cache_file_is_set_aside_and_reported(
    tmp_path: Path, damage: Damage
) -> None:
    ContentStore(tmp_path).save("city", sample_playlist(1))
    ContentStore(tmp_path).save("board", sample_playlist(2))
    damage(tmp_path / "content" / "board.json")
    said = Said()
    assert set(ContentStore(tmp_path, said.health).load_all()) == {"city"}
    assert len(said.messages) == 1
    assert "content/board.json" in said.messages[0]
    assert list((tmp_path / "content").glob("board.json.bad-*"))
    assert not os.path.lexists(tmp_path / "content" / "board.json")


@pytest.mark.parametrize("damage", list(DAMAGES.values()), ids=list(DAMAGES))
def test_a_damaged_alert_file_is_set_aside_and_reported(tmp_path: Path, damage: Damage) -> None:
    store = AlertStore(tmp_path)
    store.save(make_alert("a1"))
    store.save(make_alert("a2"))
    damage(tmp_path / "alerts" / "a2.json")
    said = Said()
    assert [a.id for a in AlertStore(tmp_path, said.health).load_all()] == ["a1"]
    assert len(said.messages) == 1
    assert "alerts/a2.json" in said.messages[0]


def test_a_state_folder_that_is_a_file_is_set_aside_and_made_again(tmp_path: Path) -> None:
    (tmp_path / "content").write_text("not a folder")
    said = Said()
    store = ContentStore(tmp_path, said.health)
    store.save("city", sample_playlist(1))
    assert set(store.load_all()) == {"city"}
    assert "content" in said.messages[0]
    assert "not a folder" in said.messages[0]


@pytest.mark.parametrize(
    "content", [b"garbage", b"", b"-5", b"0", b"\xff\xfe", b"99999999999999999999999"]
)
def test_a_damaged_seq_file_never_makes_seq_go_back(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "heartbeat.seq"
    counter = SeqCounter(path)
    sent = [counter.next() for _ in range(4)]
    counter.close()
    path.write_bytes(content)
    said = Said()
    again = SeqCounter(path, said.health)
    assert again.next() > max(sent)
    assert len(said.messages) == 1
    assert "heartbeat.seq" in said.messages[0]
    following = [again.next() for _ in range(3)]
    assert following == sorted(following)
    assert len(set(following)) == 3
    again.close()
    assert SeqCounter(path).next() == following[-1] + 1  # the file is good again


@pytest.mark.parametrize(
    "damage", [directory, fifo, link_to_dev_zero], ids=["directory", "fifo", "link"]
)
def test_a_seq_file_that_is_not_a_file_never_makes_seq_go_back(
    tmp_path: Path, damage: Damage
) -> None:
    path = tmp_path / "heartbeat.seq"
    counter = SeqCounter(path)
    sent = [counter.next() for _ in range(4)]
    counter.close()
    damage(path)
    said = Said()
    assert SeqCounter(path, said.health).next() > max(sent)
    assert "heartbeat.seq" in said.messages[0]


def test_seq_never_goes_below_the_heartbeats_still_in_the_outbox(tmp_path: Path) -> None:
    counter = SeqCounter(tmp_path / "heartbeat.seq")
    counter.at_least(41)
    assert counter.next() == 41


def test_seq_follows_the_clock_once_when_it_cannot_be_saved(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    path = tmp_path / "state" / "heartbeat.seq"
    said = Said()
    counter = SeqCounter(path, said.health, wall_ms=lambda: 10_000_000)
    path.mkdir()  # every write now fails (the target is a folder)
    first = counter.next()
    assert first == 10_000_000
    assert [counter.next() for _ in range(3)] == [first + 1, first + 2, first + 3]
    assert len(said.messages) == 1  # once, not per heartbeat


@pytest.mark.parametrize(
    "content", [b"garbage", b"", b'{"not": "a list"}', b"[1, 2]", b"\xff"], ids=repr
)
def test_damaged_command_ids_are_set_aside_and_reported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "commands.seen"
    path.write_bytes(content)
    said = Said()
    seen = SeenCommands(path, said.health)
    assert len(said.messages) == 1
    assert "commands.seen" in said.messages[0]
    assert seen.first_time("c1")
    assert not SeenCommands(path).first_time("c1")


def test_failing_command_id_writes_are_said_once(tmp_path: Path) -> None:
    path = tmp_path / "commands.seen"
    path.mkdir()
    said = Said()
    seen = SeenCommands(path, said.health)  # set aside; now make writes fail again
    path.mkdir()
    for n in range(5):
        assert seen.first_time(f"c{n}")
    assert len(said.messages) == 2  # the damaged file, then the failing writes once


def test_a_failed_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.mkdir()  # os.replace onto a folder fails
    with pytest.raises(OSError):  # noqa: PT011 (which error does not matter: the clean-up does)
        atomic_write(target, b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_only_the_newest_bad_copies_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.seq"
    for n in range(BAD_COPIES_KEPT + 3):
        path.write_text(f"bad {n}")
        quarantine(path)
    assert len(list(tmp_path.glob("heartbeat.seq.bad-*"))) == BAD_COPIES_KEPT


# --- through the agent: storage.error is sent, and the board starts ----------------------


def test_damaged_state_files_are_sent_as_storage_errors_and_the_agent_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    state = tmp_path / "state"
    ContentStore(state).save("city", sample_playlist(1))
    (state / "content" / "board.json").write_bytes(b'{"type": "playl')
    (state / "heartbeat.seq").write_bytes(b"garbage")
    (state / "commands.seen").mkdir()
    hb = "signage/v1/board/hn-01/heartbeat"
    spool: list[dict[str, object]] = [
        {"topic": hb, "payload": json.dumps({"type": "heartbeat", "seq": 4})}
    ]
    spool.append({"topic": 5, "payload": "{}"})
    (state / "outbox.jsonl").write_text("".join(json.dumps(line) + "\n" for line in spool))
    agent = Agent(make_config(tmp_path), clock=FakeClock(), output=HeadlessOutput((320, 180)))
    agent.link = None
    try:
        agent.start()
        said = [e["message"] for e in events(caplog, "storage.error")]
        for name in ("content/board.json", "heartbeat.seq", "commands.seen", "outbox.jsonl"):
            assert sum(name in m for m in said) == 1, (name, said)
        assert set(agent.playlists) == {"city"}  # what could be kept is shown
        assert agent.heartbeat().seq > 4
    finally:
        agent.fetcher.stop()
        agent.seq.close()


def test_alert_events_go_to_the_outbox_as_urgent(tmp_path: Path) -> None:
    agent = Agent(make_config(tmp_path), clock=FakeClock(), output=HeadlessOutput((320, 180)))
    agent.link = None
    try:
        assert agent.outbox is not None
        handed: list[bytes] = []

        def publish(_topic: str, payload: bytes) -> int:
            handed.append(payload)
            return len(handed)

        agent.outbox.publish = publish
        agent.outbox.window = 1
        agent.outbox.link_up()
        for n in range(5):
            agent.send(agent.topics.command_result, json.dumps({"id": f"r{n}"}))
        alert = make_alert("storm").model_dump_json().encode()
        agent.handle(Received("signage/v1/alert/city/storm", alert, retained=True))
        agent.outbox.delivered(1)
        assert json.loads(handed[1]).get("kind") == "alert.started"
    finally:
        agent.fetcher.stop()
        agent.seq.close()


@pytest.mark.parametrize(
    "damage", [truncated, garbage, directory], ids=["truncated", "garbage", "folder"]
)
def test_a_damaged_cached_image_is_deleted_reported_and_fetched_again(
    tmp_path: Path, damage: Damage
) -> None:
    from agent.assets import AssetCache
    from agent.messages import ImageRef
    from tests.test_assets import png

    data = png()
    sha = hashlib.sha256(data).hexdigest()
    AssetCache(tmp_path).put(sha, data)
    damage(AssetCache(tmp_path).path(sha))
    said = Said()
    cache = AssetCache(tmp_path, health=said.health)
    ref = ImageRef(url="http://127.0.0.1/x.png", sha256=sha)
    assert cache.get(ref) is None  # never drawn broken; the fetcher downloads it again
    assert not os.path.lexists(cache.path(sha))
    assert len(said.messages) == 1
    assert sha in said.messages[0]
    cache.put(sha, data)
    assert cache.get(ref) == cache.path(sha)


def test_a_huge_content_cache_file_is_set_aside_unread(tmp_path: Path) -> None:
    ContentStore(tmp_path).save("city", sample_playlist(1))
    with (tmp_path / "content" / "board.json").open("wb") as f:
        f.truncate(10 * 1024 * 1024)  # sparse
    said = Said()
    store = ContentStore(tmp_path, said.health, max_bytes=cached_content_limit(1024 * 1024))
    assert set(store.load_all()) == {"city"}
    assert "bytes" in said.messages[0]
    assert "board.json" in said.messages[0]


def test_a_cached_alert_that_expired_while_off_is_said_once_not_at_every_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from agent.alert_desk import AlertDesk
    from tests.test_alerts import T0

    AlertStore(tmp_path).save(make_alert("old", expires=T0 + timedelta(minutes=1)))
    later = T0 + timedelta(hours=1)
    first = AlertDesk(AlertStore(tmp_path), lambda _m: None).load(later)
    assert [e.kind for e in first] == ["alert.ignored"]  # type: ignore[attr-defined]
    assert AlertDesk(AlertStore(tmp_path), lambda _m: None).load(later) == []


def test_heartbeats_count_oversize_and_quarantined_messages(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "outbox.jsonl").write_text('{"topic": "x/#", "payload": "{}"}\n')
    agent = Agent(make_config(tmp_path), clock=FakeClock(), output=HeadlessOutput((320, 180)))
    try:
        assert agent.outbox is not None
        agent.send(agent.topics.events, "{" + " " * 70_000 + "}")
        mqtt = agent.heartbeat().mqtt
        assert mqtt is not None
        assert (mqtt.outbox_oversize, mqtt.outbox_quarantined) == (1, 1)
    finally:
        agent.fetcher.stop()
        agent.seq.close()
