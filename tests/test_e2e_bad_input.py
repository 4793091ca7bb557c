"""Every kind of bad payload, through a real broker: one content.rejected each, with the
field path, and the board keeps showing the last good item."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.bad_payloads import BAD_PAYLOADS, WAITS_ON_A_BOARD
from tests.support import (
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    write_config,
)

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Observer, AgentProcess]]:
    directory = tmp_path_factory.mktemp("bad-input")
    broker = Broker(directory)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    config = write_config(directory, port=broker.port, heartbeat_s=1)
    agent = AgentProcess(config, directory / "agent.log").start()
    observer.wait_for(lambda m: m.topic == board_topic("status") and m.json()["state"] == "online")
    observer.publish(
        COMMUNE_TOPIC, playlist(1, [text_item("good", "Nước sinh hoạt", duration_s=3600)])
    )
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="good"))
    yield observer, agent
    agent.kill()
    observer.close()
    broker.kill()


REJECTED = [case for case in BAD_PAYLOADS if case[0] not in WAITS_ON_A_BOARD]


@pytest.mark.parametrize(("name", "payload", "path"), REJECTED, ids=[c[0] for c in REJECTED])
def test_bad_payload_gets_one_rejection_naming_the_field(
    board: tuple[Observer, AgentProcess], name: str, payload: bytes, path: str
) -> None:
    observer, agent = board
    mark = observer.mark()
    observer.publish(COMMUNE_TOPIC, payload)
    rejected = observer.wait_for(event_matcher(EVENTS, "content.rejected"), start=mark).json()
    assert rejected["topic"] == COMMUNE_TOPIC
    assert rejected["channel"] == "commune"
    assert path in [e["path"] for e in rejected["errors"]], rejected["errors"]
    # Exactly one: a ping answered after it proves the agent is through with the payload.
    ping_id = f"after-{mark}"
    observer.publish(
        board_topic("cmd"), json.dumps({"type": "command", "id": ping_id, "command": "ping"})
    )
    observer.wait_for(
        lambda m: m.topic == board_topic("cmd/result") and m.json()["id"] == ping_id, start=mark
    )
    assert len(observer.find(event_matcher(EVENTS, "content.rejected"), start=mark)) == 1
    assert not observer.find(event_matcher(EVENTS, "playback.started"), start=mark)
    assert agent.alive()


def test_after_all_bad_input_the_last_good_item_is_still_on_screen(
    board: tuple[Observer, AgentProcess],
) -> None:
    observer, agent = board
    mark = observer.mark()
    beat = observer.wait_for(lambda m: m.topic == board_topic("heartbeat"), start=mark).json()
    assert beat["now_showing"]["item_id"] == "good"
    assert beat["content"]["commune"]["version"] == 1
    assert beat["errors_total"] >= len(REJECTED)
    assert agent.alive()
    assert "Traceback" not in agent.log()
