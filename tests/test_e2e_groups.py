"""End to end through a real Mosquitto (CONTRACT §8): a remote assignment moves a board
between groups with no restart and holds across a restart without the broker; a board
without a district works, one with a district still gets its channel."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import (
    BOARD,
    ROOT,
    AgentProcess,
    Broker,
    Message,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    write_config,
)

pytestmark = pytest.mark.e2e

EVENTS = board_topic("events")
HEARTBEAT = board_topic("heartbeat")
ASSIGNMENT = board_topic("assignment")


def group_topic(group: str) -> str:
    return f"{ROOT}/content/group/{group}"


def start_agent(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess], **kw: object
) -> AgentProcess:
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1, **kw)  # type: ignore[arg-type]
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    return agent


def next_heartbeat(observer: Observer) -> dict[str, object]:
    mark = observer.mark()
    beat: dict[str, object] = observer.wait_for(lambda m: m.topic == HEARTBEAT, start=mark).json()
    return beat


def showing(channel: str, item_id: str) -> Callable[[Message], bool]:
    def match(m: Message) -> bool:
        if m.topic != HEARTBEAT:
            return False
        now = m.json()["now_showing"]
        return now is not None and now["channel"] == channel and now["item_id"] == item_id

    return match


def test_an_assignment_moves_the_board_between_groups_and_holds_across_a_restart(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    observer.publish(group_topic("nhom-a"), playlist(1, [text_item("a-1", "Nhóm A")]), retain=True)
    observer.publish(group_topic("nhom-b"), playlist(1, [text_item("b-1", "Nhóm B")]), retain=True)
    agent = start_agent(tmp_path, broker, agents, board_extra='groups = ["nhom-a"]')
    wait_online(observer)
    observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id="a-1", channel="group:nhom-a")
    )

    mark = observer.mark()
    body = {"type": "assignment", "version": 2, "groups": ["nhom-b"]}
    observer.publish(ASSIGNMENT, json.dumps(body), retain=True)
    accepted = observer.wait_for(event_matcher(EVENTS, "assignment.accepted"), start=mark)
    assert accepted.json()["left"] == ["nhom-a"]
    observer.wait_for(event_matcher(EVENTS, "content.cleared", channel="group:nhom-a"), start=mark)
    # The new group's retained content arrives by the new subscription: no restart.
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="group:nhom-b"), start=mark)
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="b-1"), start=mark)
    beat = observer.wait_for(showing("group:nhom-b", "b-1"), start=mark).json()
    assert beat["assignment"] == {
        "version": 2,
        "groups": ["nhom-b"],
        "district": "ba-dinh",
        "commune": "phuc-xa",
        "area_codes": [],
        "area_codes_count": 0,
        "location": None,
    }
    assert "group:nhom-a" not in beat["content"]
    assert beat["content"]["group:nhom-b"] == {"version": 1, "items": 1}
    # The old group's content no longer reaches the board.
    mark = observer.mark()
    observer.publish(group_topic("nhom-a"), playlist(2, [text_item("a-2", "Nhóm A")]), retain=True)
    next_heartbeat(observer)
    next_heartbeat(observer)
    assert observer.find(event_matcher(EVENTS, "content.accepted"), start=mark) == []
    # …because the link unsubscribed it, not because the core threw it away on arrival.
    assert "does not handle" not in agent.log()
    assert "subscriptions changed" in agent.log()
    assert agent.terminate() == 0

    # A restart with no broker at all: the board still belongs to nhom-b and shows b-1.
    broker.kill()
    restarted = start_agent(tmp_path, broker, agents, board_extra='groups = ["nhom-a"]')
    restarted.wait_log("assignment version 2 restored")
    restarted.wait_log("showing b-1 (group:nhom-b)")
    # A broker back without any retained message (no persistence): the kept assignment
    # and content are what the board reports.
    broker.start()
    mark = observer.mark()
    beat = observer.wait_for(showing("group:nhom-b", "b-1"), start=mark, timeout=20).json()
    assert beat["assignment"] == {
        "version": 2,
        "groups": ["nhom-b"],
        "district": "ba-dinh",
        "commune": "phuc-xa",
        "area_codes": [],
        "area_codes_count": 0,
        "location": None,
    }
    restarted.terminate()
    restarted.check_no_traceback()


def test_a_board_without_district_works_and_one_with_a_district_gets_its_channel(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    district_topic = f"{ROOT}/content/district/{BOARD['district']}"
    observer.publish(district_topic, playlist(4, [text_item("d-1", "Quận")]), retain=True)
    observer.publish(
        f"{ROOT}/content/city", playlist(1, [text_item("c-1", "Thành phố")]), retain=True
    )

    (tmp_path / "without").mkdir()
    without = start_agent(tmp_path / "without", broker, agents, district=None)
    wait_online(observer)
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="city"))
    beat = next_heartbeat(observer)
    content = beat["content"]
    assert isinstance(content, dict)
    assert content["district"] is None
    assert content["city"] == {"version": 1, "items": 1}
    assert observer.find(event_matcher(EVENTS, "content.accepted", channel="district")) == []
    assert without.terminate() == 0

    mark = observer.mark()
    (tmp_path / "with").mkdir()
    with_district = start_agent(tmp_path / "with", broker, agents)
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="district"), start=mark)
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="city"), start=mark)
    with_district.terminate()
    without.check_no_traceback()
