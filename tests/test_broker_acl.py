"""examples/mosquitto/signage.acl against a real Mosquitto: a board's account (a leaked
board password) cannot write anything a board reads — content, alerts, commands, the
keyring — nor another board's reports; the accounts meant to can (docs/security.md)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import BOARD, REPO, Broker, Message, Observer

pytestmark = pytest.mark.e2e
ACL = REPO / "examples" / "mosquitto" / "signage.acl"
ROOT = "signage/v1"
ACCOUNTS = {
    BOARD["id"]: "board-pw",
    "hn-other-board-02": "other-pw",
    "dashboard": "dashboard-pw",
    "alerting-authority": "authority-pw",
    "trust-publisher": "trust-pw",
}
BOARD_READS = [
    f"{ROOT}/content/#",
    f"{ROOT}/alert/#",
    f"{ROOT}/board/{BOARD['id']}/cmd",
    f"{ROOT}/trust",
    f"{ROOT}/layout/#",
]


@pytest.fixture
def city_broker(tmp_path: Path) -> Iterator[Broker]:
    passwords = tmp_path / "passwd"
    for n, (user, password) in enumerate(ACCOUNTS.items()):
        create = ["-c"] if n == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", str(passwords), user, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    broker = Broker(tmp_path, f"allow_anonymous false\npassword_file {passwords}\nacl_file {ACL}\n")
    broker.start()
    yield broker
    broker.kill()


def client(broker: Broker, user: str, topics: list[str]) -> Observer:
    observer = Observer(broker.port, topics)
    observer.client.username_pw_set(user, ACCOUNTS[user])
    return observer.connect()


def real_on(topic: str) -> Callable[[Message], bool]:
    return lambda message: message.topic == topic and message.payload.startswith(b"real")


def test_a_board_account_cannot_write_what_boards_read(city_broker: Broker) -> None:
    board = client(city_broker, BOARD["id"], BOARD_READS)
    dashboard = client(city_broker, "dashboard", [f"{ROOT}/board/#"])
    try:
        forged = [
            f"{ROOT}/content/city",
            f"{ROOT}/content/board/{BOARD['id']}",
            f"{ROOT}/alert/city/fake-flood",
            f"{ROOT}/board/{BOARD['id']}/cmd",
            f"{ROOT}/trust",
            f"{ROOT}/board/hn-other-board-02/heartbeat",
            f"{ROOT}/board/{BOARD['id']}/assignment",
            f"{ROOT}/layout/bus_times",
        ]
        for topic in forged:
            board.publish(topic, b"forged", retain=True)
        # The accounts meant to write them can; their messages arrive after the forged
        # ones would have (each publish is acknowledged after the broker routed it).
        authority = client(city_broker, "alerting-authority", [f"{ROOT}/board/+/events"])
        publisher = client(city_broker, "trust-publisher", [f"{ROOT}/trust"])
        try:
            dashboard.publish(f"{ROOT}/content/city", b"real content")
            dashboard.publish(f"{ROOT}/board/{BOARD['id']}/cmd", b"real command")
            dashboard.publish(f"{ROOT}/layout/bus_times", b"real layout", retain=True)
            authority.publish(f"{ROOT}/alert/city/real", b"real alert")
            publisher.publish(f"{ROOT}/trust", b"real keyring", retain=True)
            board.publish(f"{ROOT}/board/{BOARD['id']}/heartbeat", b"own report")
            read = ("content/city", f"board/{BOARD['id']}/cmd", "alert/city/real", "trust")
            for topic in (*read, "layout/bus_times"):
                board.wait_for(real_on(f"{ROOT}/{topic}"))
            dashboard.wait_for(lambda m: m.payload == b"own report")
        finally:
            authority.close()
            publisher.close()
        assert board.find(lambda m: m.payload == b"forged") == []
        assert dashboard.find(lambda m: m.payload == b"forged") == []
    finally:
        board.close()
        dashboard.close()
