from __future__ import annotations

from pathlib import Path

from agent.outbox import Outbox


class FakeClient:
    """Stands in for paho's publish: records what was handed over, gives message ids."""

    def __init__(self) -> None:
        self.handed: list[tuple[int, str, bytes]] = []
        self.refuse = False

    def publish(self, topic: str, payload: bytes) -> int | None:
        if self.refuse:
            return None
        mid = len(self.handed) + 1
        self.handed.append((mid, topic, payload))
        return mid


def messages(n: int, start: int = 0) -> list[bytes]:
    return [f'{{"seq": {i}}}'.encode() for i in range(start, start + n)]


def test_online_messages_are_handed_over_without_touching_the_disk(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish)
    outbox.link_up()
    for payload in messages(3):
        outbox.submit("hb", payload)
    assert [p for _, _, p in client.handed] == messages(3)
    assert not outbox.spool.exists()
    for mid, _, _ in client.handed:
        outbox.delivered(mid)
    assert len(outbox) == 0


def test_offline_messages_survive_a_restart_and_go_out_oldest_first(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, FakeClient().publish)
    for payload in messages(5):
        outbox.submit("hb", payload)
    assert outbox.spool.exists()
    client = FakeClient()
    again = Outbox(tmp_path, client.publish)  # the agent restarted during the outage
    assert len(again) == 5
    again.link_up()
    assert [p for _, _, p in client.handed] == messages(5)
    for mid, _, _ in client.handed:
        again.delivered(mid)
    assert not again.spool.exists()  # all arrived: the spool is gone


def test_unacknowledged_messages_are_spooled_when_the_link_drops(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish)
    outbox.link_up()
    outbox.submit("hb", b'{"seq": 1}')
    outbox.link_down()
    assert len(Outbox(tmp_path, FakeClient().publish)) == 1  # a restart now loses nothing
    outbox.link_up()  # same process: the client resends it itself; not handed twice
    assert len(client.handed) == 1
    outbox.delivered(client.handed[0][0])
    assert not outbox.spool.exists()


def test_window_limits_what_is_handed_over_at_once(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish, window=2)
    for payload in messages(5):
        outbox.submit("hb", payload)
    outbox.link_up()
    assert len(client.handed) == 2
    outbox.delivered(1)
    assert [p for _, _, p in client.handed] == messages(3)


def test_refused_messages_wait_for_the_next_chance(tmp_path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(tmp_path, client.publish)
    client.refuse = True
    outbox.link_up()
    outbox.submit("hb", b"{}")
    assert client.handed == []
    client.refuse = False
    outbox.link_up()
    assert len(client.handed) == 1


def test_bound_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, FakeClient().publish, bound=10)
    for payload in messages(25):
        outbox.submit("hb", payload)
    assert len(outbox) <= 10
    assert outbox.dropped == 25 - len(outbox)
    again = Outbox(tmp_path, FakeClient().publish, bound=10)
    assert again.dropped == outbox.dropped
    client = FakeClient()
    again.publish = client.publish
    again.link_up()
    assert [p for _, _, p in client.handed] == messages(len(outbox), start=25 - len(outbox))


def test_damaged_spool_line_is_skipped(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, FakeClient().publish)
    outbox.submit("hb", b'{"seq": 1}')
    with outbox.spool.open("ab") as spool:
        spool.write(b'{"topic": "hb", "payl')  # power cut mid-write
    assert len(Outbox(tmp_path, FakeClient().publish)) == 1
