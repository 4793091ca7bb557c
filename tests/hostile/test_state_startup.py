"""A board always starts, whatever is found in its state directory (issue 10 "State that
survives anything", issue 20 "A corrupted outbox spool stops every start", issue 21
"heartbeat.seq goes backwards", "a damaged cache file is not sent as storage.error").

Each case damages one state file of a real state dir, starts a real agent against a real
Mosquitto, and asserts: it comes online and heartbeats, it still shows what it could keep
(a good cached channel), and one `storage.error` names the damaged file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import (
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    write_config,
)

pytestmark = pytest.mark.e2e

EVENTS, HEARTBEAT = board_topic("events"), board_topic("heartbeat")
CITY = playlist(7, [text_item("giu-lai", "Nội dung còn giữ")])
ALERT = {
    "type": "alert",
    "id": "bao-so-3",
    "msg_type": "alert",
    "status": "actual",
    "sender": "hanoi-civil-defense",
    "sent": "2026-11-27T14:05:00+07:00",
    "expires": "2099-11-27T14:05:00+07:00",
    "severity": "minor",
    "urgency": "immediate",
    "headline": "Thông báo",
    "description": "Mô tả.",
}

Damage = Callable[[Path], None]


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff\xfe garbage {{{")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def directory(path: Path) -> None:
    path.mkdir()
    (path / "x").write_text("x")


def fifo(path: Path) -> None:
    os.mkfifo(path)


def link_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def a_file(path: Path) -> None:
    path.write_text("a file where a folder belongs")


def poisoned_spool(path: Path) -> None:
    lines = [
        {"topic": 5, "payload": "{}"},
        {"topic": "", "payload": "{}"},
        {"topic": "signage/v1/board/+/events", "payload": "{}"},
        {"topic": "signage/v1/alert/city/injected", "payload": json.dumps(ALERT)},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


CASES: dict[str, tuple[str, Damage]] = {
    "content cache garbage": ("content/commune.json", garbage),
    "content cache empty": ("content/commune.json", empty),
    "content cache is a folder": ("content/commune.json", directory),
    "cached alert garbage": ("alerts/bao-so-3.json", garbage),
    "cached alert is a FIFO": ("alerts/bao-so-3.json", fifo),
    "seq garbage": ("heartbeat.seq", garbage),
    "seq is a FIFO": ("heartbeat.seq", fifo),
    "command ids garbage": ("commands.seen", garbage),
    "command ids are a folder": ("commands.seen", directory),
    "drop count garbage": ("outbox.dropped", garbage),
    "spool poisoned": ("outbox.jsonl", poisoned_spool),
    "spool links to /dev/zero": ("outbox.jsonl", link_to_dev_zero),
    "spool is a folder": ("outbox.jsonl", directory),
    "alerts folder is a file": ("alerts", a_file),
    "assets folder is a file": ("assets", a_file),
}


def start_with_damage(tmp_path: Path, broker: Broker, name: str, damage: Damage) -> AgentProcess:
    state = tmp_path / "state"
    (state / "content").mkdir(parents=True)
    (state / name).parent.mkdir(parents=True, exist_ok=True)
    city = json.loads(CITY)
    (state / "content" / "city.json").write_text(json.dumps(city), encoding="utf-8")
    damage(state / name)
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1)
    return AgentProcess(config, tmp_path / "agent.log").start()


@pytest.mark.parametrize(("name", "damage"), list(CASES.values()), ids=list(CASES))
def test_a_damaged_state_file_is_reported_and_the_board_starts(
    tmp_path: Path,
    broker: Broker,
    agents: list[AgentProcess],
    name: str,
    damage: Damage,
) -> None:
    everything = Observer(broker.port, ["signage/v1/#"]).connect()
    try:
        agent = start_with_damage(tmp_path, broker, name, damage)
        agents.append(agent)
        wait_online(everything, timeout=20)
        said = everything.wait_for(
            lambda m: event_matcher(EVENTS, "storage.error")(m) and name in m.json()["message"],
            timeout=20,
        )
        beat = everything.wait_for(lambda m: m.topic == HEARTBEAT, timeout=20)
        assert agent.alive()
        assert beat.json()["content"]["city"] == {"version": 7, "items": 1}  # still shown
        errors = everything.find(event_matcher(EVENTS, "storage.error"))
        assert sum(name in m.json()["message"] for m in errors) == 1, errors  # said once
        assert "Traceback" not in agent.log()
        assert not everything.find(lambda m: "injected" in m.topic)  # never published
        assert said.json()["message"].startswith("state file")
    finally:
        everything.close()


def test_seq_continues_above_the_heartbeats_sent_before_a_damaged_seq_file(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess], observer: Observer
) -> None:
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1)
    agent = AgentProcess(config, tmp_path / "first.log").start()
    agents.append(agent)
    observer.wait_for(lambda m: m.topic == HEARTBEAT and m.json()["seq"] >= 4, timeout=20)
    assert agent.terminate() == 0
    before = max(m.json()["seq"] for m in observer.find(lambda m: m.topic == HEARTBEAT))
    (tmp_path / "state" / "heartbeat.seq").write_text("-3\n")
    mark = observer.mark()
    again = AgentProcess(config, tmp_path / "again.log").start()
    agents.append(again)
    beat = observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=20, start=mark)
    assert beat.json()["seq"] > before
    observer.wait_for(event_matcher(EVENTS, "storage.error"), timeout=10, start=mark)
