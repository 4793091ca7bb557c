"""A damaged or poisoned outbox spool never stops a start and never publishes anywhere.

Regression tests of issue 20 ("A corrupted outbox spool stops every start") and issue 21
("The outbox publishes anywhere").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.outbox_spool import MAX_SPOOL_FILE_BYTES
from agent.storage import StorageHealth
from tests.test_outbox_bounds import OWN, FakeClient

EV = OWN[1]


def good_line(n: int, topic: str = EV) -> bytes:
    return json.dumps({"topic": topic, "payload": json.dumps({"n": n})}).encode() + b"\n"


class Said:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def health(self) -> StorageHealth:
        return StorageHealth(self.messages.append)


BAD_LINES = {
    "topic is a number": b'{"topic": 5, "payload": "{}"}\n',
    "topic is empty": b'{"topic": "", "payload": "{}"}\n',
    "topic has +": b'{"topic": "r/board/+/events", "payload": "{}"}\n',
    "topic has #": b'{"topic": "r/#", "payload": "{}"}\n',
    "foreign topic": b'{"topic": "signage/v1/alert/city/injected", "payload": "{}"}\n',
    "payload not text": b'{"topic": "r/board/b/events", "payload": 7}\n',
    "payload not JSON": b'{"topic": "r/board/b/events", "payload": "not json"}\n',
    "lone surrogate": b'{"topic": "r/board/b/events", "payload": "\\ud800"}\n',
    "not an object": b"[1, 2, 3]\n",
    "not UTF-8": b'{"topic": "\xff\xfe", "payload": "{}"}\n',
    "urgent not a bool": b'{"topic": "r/board/b/events", "payload": "{}", "urgent": "yes"}\n',
    "torn line": b'{"topic": "r/board/b/ev',
}


@pytest.mark.parametrize("bad", list(BAD_LINES.values()), ids=list(BAD_LINES))
def test_a_bad_spool_line_is_quarantined_and_the_good_ones_are_sent(
    tmp_path: Path, bad: bytes
) -> None:
    spool = tmp_path / "outbox.jsonl"
    spool.write_bytes(
        good_line(1) + bad + (b"\n" if not bad.endswith(b"\n") else b"") + good_line(2)
    )
    said = Said()
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, topics=OWN, health=said.health())
    outbox.link_up()  # paho raises on a wildcard topic: this must not be reached
    assert [b["n"] for b in client.bodies()] == [1, 2]
    assert {topic for _, topic, _ in client.handed} == {EV}
    assert outbox.quarantined == 1
    assert len(said.messages) == 1
    assert str(spool) in said.messages[0]
    kept_aside = list(tmp_path.glob("outbox.jsonl.bad-*"))
    assert len(kept_aside) == 1
    assert bad.rstrip(b"\n") in kept_aside[0].read_bytes()
    # The spool was cleaned: the next start finds nothing to report.
    said_again = Said()
    Outbox(tmp_path, FakeClient().publish, topics=OWN, health=said_again.health())
    assert said_again.messages == []


def test_an_absurdly_long_spool_line_is_skipped_without_being_kept(tmp_path: Path) -> None:
    (tmp_path / "outbox.jsonl").write_bytes(b"x" * 5_000_000 + b"\n" + good_line(1))
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, topics=OWN)
    outbox.link_up()
    assert [b["n"] for b in client.bodies()] == [1]
    assert outbox.quarantined == 1


def test_a_spool_that_is_a_directory_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "outbox.jsonl").mkdir()
    said = Said()
    outbox = Outbox(tmp_path, FakeClient().publish, topics=OWN, health=said.health())
    assert len(outbox) == 0
    assert len(said.messages) == 1
    assert "outbox.jsonl" in said.messages[0]
    assert "directory" in said.messages[0]
    outbox.submit(EV, b'{"n": 1}')  # and the spool works again
    assert len(Outbox(tmp_path, FakeClient().publish, topics=OWN)) == 1


def test_a_spool_that_is_a_fifo_does_not_block_the_start(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "outbox.jsonl")
    said = Said()
    outbox = Outbox(tmp_path, FakeClient().publish, topics=OWN, health=said.health())
    assert len(outbox) == 0
    assert "FIFO" in said.messages[0]


def test_a_spool_linked_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "outbox.jsonl").symlink_to("/dev/zero")
    said = Said()
    outbox = Outbox(tmp_path, FakeClient().publish, topics=OWN, health=said.health())
    assert len(outbox) == 0
    assert "symbolic link" in said.messages[0]


def test_a_garbage_drop_count_is_reported_and_starts_again(tmp_path: Path) -> None:
    (tmp_path / "outbox.dropped").write_bytes(b"\x00garbage")
    said = Said()
    outbox = Outbox(tmp_path, FakeClient().publish, topics=OWN, health=said.health())
    assert outbox.dropped == 0
    assert len(said.messages) == 1
    assert "outbox.dropped" in said.messages[0]


def test_the_highest_heartbeat_seq_in_the_spool_is_known(tmp_path: Path) -> None:
    hb = OWN[0]
    lines = [
        json.dumps({"topic": hb, "payload": json.dumps({"type": "heartbeat", "seq": s})})
        for s in (3, 4)
    ]
    (tmp_path / "outbox.jsonl").write_text("\n".join(lines) + "\n")
    assert Outbox(tmp_path, FakeClient().publish, topics=OWN).highest_seq == 4


def test_a_huge_spool_is_set_aside_unread(tmp_path: Path) -> None:
    spool = tmp_path / "outbox.jsonl"
    with spool.open("wb") as f:
        f.truncate(MAX_SPOOL_FILE_BYTES + 1)  # sparse: costs no disk, would cost the read
    said = Said()
    outbox = Outbox(tmp_path, FakeClient().publish, topics=OWN, health=said.health())
    assert len(outbox) == 0
    assert "bytes" in said.messages[0]
    assert list(tmp_path.glob("outbox.jsonl.bad-*"))
