"""Groups and the remote assignment (CONTRACT §8), in-process with an injected clock:
version rules, bad assignments, persistence and its damage, group channels on disk and
in the rotation."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.assignment import ASSIGNMENT_FILE
from agent.caches import ContentStore
from agent.content import parse_playlist
from agent.core import Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
from agent.playback import rotation_order
from agent.topics import Topics
from agent.trust.verify import Route, route_of
from tests.support import playlist, text_item
from tests.test_core import FakeClock, alert_payload, events, make_config, shown

ROOT = "signage/v1"
ASSIGNMENT = f"{ROOT}/board/hn-01/assignment"


def group_topic(group: str) -> str:
    return f"{ROOT}/content/group/{group}"


def assignment(version: int, groups: list[str], **extra: Any) -> bytes:
    return json.dumps(
        {"type": "assignment", "version": version, "groups": groups, **extra}
    ).encode()


def board(tmp_path: Path, clock: FakeClock, **board_keys: Any) -> Agent:
    keys = {"id": "hn-01", "district": "ba-dinh", "commune": "phuc-xa", "name": "Phúc Xá"}
    keys.update(board_keys)
    made = Agent(make_config(tmp_path, board=keys), clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None  # in-process: events go to the log only
    return made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    made: list[Agent] = []
    yield made
    for agent in made:
        agent.fetcher.stop()
        agent.seq.close()


def started(tmp_path: Path, clock: FakeClock, agents: list[Agent], **board_keys: Any) -> Agent:
    agent = board(tmp_path, clock, **board_keys)
    agents.append(agent)
    agent.start()
    return agent


def send(agent: Agent, topic: str, body: bytes) -> None:
    agent.handle(Received(topic, body, retained=True))
    agent.tick()


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


# --- topics -----------------------------------------------------------------------------


def test_a_board_without_district_has_no_district_or_commune_topics() -> None:
    topics = Topics(ROOT, None, "phuc-xa", "hn-01", ("truong-hoc",))
    subscribed = topics.subscriptions(alerts=True)
    assert not [topic for topic in subscribed if "/district/" in topic or "/commune/" in topic]
    assert f"{ROOT}/content/group/truong-hoc" in subscribed
    assert f"{ROOT}/alert/group/truong-hoc/+" in subscribed
    assert topics.route(f"{ROOT}/content/district/ba-dinh") is None


def test_a_group_routes_only_while_the_board_belongs_to_it() -> None:
    topics = Topics(ROOT, "ba-dinh", "phuc-xa", "hn-01", ("nhom-a",))
    assert topics.route(group_topic("nhom-a")) is not None
    topics.assign(("nhom-b",))
    assert topics.route(group_topic("nhom-a")) is None
    assert topics.route(group_topic("nhom-b")) is not None
    assert f"{ROOT}/content/group/nhom-a" not in topics.subscriptions(alerts=True)


# --- the rotation and the store ---------------------------------------------------------


def test_groups_take_turns_after_the_fixed_channels_by_name() -> None:
    order = rotation_order(["group:zeta", "board", "group:alpha", "city"])
    assert order == ["city", "board", "group:alpha", "group:zeta"]


def test_a_group_channel_is_kept_under_its_own_file_in_the_content_folder(
    tmp_path: Path,
) -> None:
    store = ContentStore(tmp_path)

    kept = parse_playlist(playlist(3, [text_item("a", "Trường học")]), max_bytes=1 << 20)
    store.save("group:truong-hoc", kept)
    assert (tmp_path / "content" / "group.truong-hoc.json").is_file()
    assert set(ContentStore(tmp_path).load_all()) == {"group:truong-hoc"}


def test_a_channel_that_is_not_a_slug_never_becomes_a_path(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(ValueError, match="not a channel"):
        store.clear("group:../../etc")


# --- groups rotate with the fixed channels ----------------------------------------------


def test_group_content_rotates_with_the_fixed_channels(
    tmp_path: Path, clock: FakeClock, agents: list[Agent], caplog_info: pytest.LogCaptureFixture
) -> None:
    agent = started(tmp_path, clock, agents, groups=["nhom-a", "nhom-b"])
    send(agent, group_topic("nhom-a"), playlist(1, [text_item("a-1", "A", duration_s=5)]))
    send(agent, group_topic("nhom-b"), playlist(1, [text_item("b-1", "B", duration_s=5)]))
    send(agent, f"{ROOT}/content/city", playlist(1, [text_item("c-1", "C", duration_s=5)]))
    seen = []
    for _turn in range(6):
        seen.append(shown(agent))
        clock.advance(5)
        agent.tick()
    assert set(seen) == {"a-1", "b-1", "c-1"}
    accepted = events(caplog_info, "content.accepted")
    assert {event["channel"] for event in accepted} == {"group:nhom-a", "group:nhom-b", "city"}
    content = agent.heartbeat().content
    assert content["group:nhom-a"] is not None


# --- version rules ----------------------------------------------------------------------


def test_a_newer_assignment_moves_the_board_and_an_equal_or_older_one_is_ignored(
    tmp_path: Path, clock: FakeClock, agents: list[Agent], caplog_info: pytest.LogCaptureFixture
) -> None:
    agent = started(tmp_path, clock, agents, groups=["nhom-a"])
    send(agent, group_topic("nhom-a"), playlist(1, [text_item("a-1", "A")]))
    assert shown(agent) == "a-1"
    send(agent, ASSIGNMENT, assignment(5, ["nhom-b"], name="Cổng trường"))
    assert shown(agent) is None  # nhom-a's content went with the group
    [cleared] = events(caplog_info, "content.cleared")
    assert cleared["channel"] == "group:nhom-a"
    [accepted] = events(caplog_info, "assignment.accepted")
    assert accepted["joined"] == ["nhom-b"]
    assert accepted["left"] == ["nhom-a"]
    assert agent.presenter.board_name == "Cổng trường"
    send(agent, ASSIGNMENT, assignment(5, ["nhom-a"]))
    send(agent, ASSIGNMENT, assignment(4, ["nhom-a"]))
    reasons = [event["reason"] for event in events(caplog_info, "assignment.ignored")]
    assert reasons == ["already held", "older than the held version 5"]
    assert agent.topics.groups == ("nhom-b",)
    beat = agent.heartbeat()
    assert beat.assignment.version == 5
    assert beat.assignment.groups == ["nhom-b"]
    assert "group:nhom-a" not in beat.content
    assert beat.content["group:nhom-b"] is None


def test_a_group_left_gets_no_more_content(
    tmp_path: Path, clock: FakeClock, agents: list[Agent], caplog_info: pytest.LogCaptureFixture
) -> None:
    agent = started(tmp_path, clock, agents, groups=["nhom-a"])
    send(agent, ASSIGNMENT, assignment(1, []))
    send(agent, group_topic("nhom-a"), playlist(2, [text_item("late", "A")]))
    assert shown(agent) is None
    assert events(caplog_info, "content.accepted") == []


# --- bad assignments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b'{"type": "assignment", "version": "2", "groups": []}', "version"),
        (b'{"type": "assignment", "version": 2, "groups": ["Nhom A"]}', "groups.0"),
        (b'{"type": "assignment", "version": 2, "groups": ["a", "a"]}', "groups"),
        (b'{"type": "assignment", "version": 2, "groups": [], "grups": 1}', "grups"),
        (b'{"type": "assignment", "version": 2, "groups": [], "location": [91, 0]}', "location.0"),
        (b'{"type": "assignment", "version": 2}', "groups"),
        (b'{"type": "assignment", "version": 0, "groups": []}', "version"),
        (b"not json", "$"),
    ],
)
def test_a_bad_assignment_is_rejected_naming_the_field_and_changes_nothing(
    tmp_path: Path,
    agents: list[Agent],
    caplog_info: pytest.LogCaptureFixture,
    body: bytes,
    path: str,
) -> None:
    agent = started(tmp_path, FakeClock(), agents, groups=["nhom-a"])
    send(agent, ASSIGNMENT, body)
    [rejected] = events(caplog_info, "content.rejected")
    assert rejected["topic"] == ASSIGNMENT
    assert [error["path"] for error in rejected["errors"]] == [path]
    assert agent.topics.groups == ("nhom-a",)
    assert not (tmp_path / "state" / ASSIGNMENT_FILE).exists()
    assert events(caplog_info, "assignment.accepted") == []


def test_an_unsigned_assignment_is_refused_when_signatures_are_required(
    tmp_path: Path, clock: FakeClock, agents: list[Agent], caplog_info: pytest.LogCaptureFixture
) -> None:
    from agent.cli import main

    assert main(["keys", "generate", "ops", "--out", str(tmp_path)]) == 0
    trust = {
        "require_signatures": True,
        "keys": [
            {"kid": "ops", "public_key": str(tmp_path / "ops.pub.jwk"), "may_sign": ["playlist"]}
        ],
    }
    config = make_config(
        tmp_path,
        board={"id": "hn-01", "commune": "phuc-xa", "name": "Phúc Xá", "groups": ["nhom-a"]},
        trust=trust,
    )
    agent = Agent(config, clock=clock, output=HeadlessOutput((320, 180)))
    agent.link = None
    agents.append(agent)
    agent.start()
    send(agent, ASSIGNMENT, assignment(1, ["nhom-b"]))
    [rejected] = events(caplog_info, "content.rejected")
    assert rejected["errors"][0]["message"].startswith("unsigned")
    assert agent.topics.groups == ("nhom-a",)


# --- persistence ------------------------------------------------------------------------


def test_an_assignment_survives_a_restart_without_a_broker(
    tmp_path: Path, clock: FakeClock, agents: list[Agent]
) -> None:
    first = started(tmp_path, clock, agents, groups=["nhom-a"])
    send(first, ASSIGNMENT, assignment(3, ["nhom-b"], area_codes=["00004"]))
    send(first, group_topic("nhom-b"), playlist(1, [text_item("b-1", "B")]))
    again = started(tmp_path, clock, agents, groups=["nhom-a"])
    assert again.topics.groups == ("nhom-b",)
    assert again.alert_desk.settings.area_codes == ("00004",)
    assert shown(again) == "b-1"
    assert again.heartbeat().assignment.version == 3


def test_a_damaged_saved_assignment_is_set_aside_reported_once_and_the_config_used(
    tmp_path: Path, clock: FakeClock, agents: list[Agent], caplog_info: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / ASSIGNMENT_FILE).write_text('{"type": "assignment", "version": 3, "gro', "utf-8")
    agent = started(tmp_path, clock, agents, groups=["nhom-a"])
    assert agent.topics.groups == ("nhom-a",)
    assert agent.heartbeat().assignment.version is None
    [report] = events(caplog_info, "storage.error")
    assert ASSIGNMENT_FILE in report["message"]
    assert "config's [board] values" in report["message"]
    assert not (state / ASSIGNMENT_FILE).exists()
    assert [p.name for p in state.iterdir() if p.name.startswith(ASSIGNMENT_FILE + ".bad-")]
    again = started(tmp_path, clock, agents, groups=["nhom-a"])
    assert again.topics.groups == ("nhom-a",)
    assert len(events(caplog_info, "storage.error")) == 1  # said once, not at every start


def test_content_of_a_group_left_before_a_restart_does_not_come_back(
    tmp_path: Path, clock: FakeClock, agents: list[Agent]
) -> None:
    first = started(tmp_path, clock, agents, groups=["nhom-a"])
    send(first, group_topic("nhom-a"), playlist(1, [text_item("a-1", "A")]))
    send(first, ASSIGNMENT, assignment(1, ["nhom-b"]))
    assert not (tmp_path / "state" / "content" / "group.nhom-a.json").exists()
    again = started(tmp_path, clock, agents, groups=["nhom-a"])
    assert shown(again) is None


def test_verify_tells_the_assignment_and_group_topics(tmp_path: Path) -> None:
    board_keys = {"id": "hn-01", "commune": "phuc-xa", "name": "Phúc Xá", "groups": ["nhom-a"]}
    config = make_config(tmp_path, board=board_keys)
    assert route_of(config, ASSIGNMENT, b"") == Route("assignment", None, scoped=True)
    assert route_of(config, group_topic("nhom-a"), b"") == Route(
        "playlist", "group:nhom-a", scoped=True
    )
    assert isinstance(route_of(config, f"{ROOT}/content/district/ba-dinh", b""), str)


def test_the_alerts_of_a_group_left_end(
    tmp_path: Path, clock: FakeClock, agents: list[Agent], caplog_info: pytest.LogCaptureFixture
) -> None:
    agent = started(tmp_path, clock, agents, groups=["nhom-a", "nhom-b"])
    send(agent, f"{ROOT}/alert/group/nhom-a/bao-so-3", alert_payload())
    send(agent, f"{ROOT}/alert/group/nhom-b/mua-lon", alert_payload(id="mua-lon"))
    assert sorted(agent.heartbeat().alerts_active) == ["bao-so-3", "mua-lon"]
    send(agent, ASSIGNMENT, assignment(1, ["nhom-b"]))
    [ended] = events(caplog_info, "alert.ended")
    assert ended["alert_id"] == "bao-so-3"
    assert ended["reason"] == "deleted"
    assert agent.heartbeat().alerts_active == ["mua-lon"]


def test_the_heartbeat_says_where_the_board_is_with_the_codes_bounded(
    tmp_path: Path, clock: FakeClock, agents: list[Agent]
) -> None:
    agent = started(
        tmp_path,
        clock,
        agents,
        groups=["nhom-a"],
        area_codes=["00001"],
        location={"lat": 21.0, "lon": 105.8},
    )
    place = agent.heartbeat().assignment
    assert (place.district, place.commune) == ("ba-dinh", "phuc-xa")
    assert (place.area_codes, place.area_codes_count) == (["00001"], 1)
    assert place.location == (21.0, 105.8)
    # An assignment's codes and location replace the config's; a heartbeat names the first
    # 16 codes and how many there are, so it stays small.
    codes = [f"{n:05d}" for n in range(40)]
    send(agent, ASSIGNMENT, assignment(2, ["nhom-b"], area_codes=codes, location=[21.1, 105.9]))
    place = agent.heartbeat().assignment
    assert (place.area_codes, place.area_codes_count) == (codes[:16], 40)
    assert place.location == (21.1, 105.9)
    assert place.district == "ba-dinh"
    assert len(agent.heartbeat().model_dump_json()) < 1200
    # Long codes (64 characters each) are bounded by their characters too.
    long_codes = [f"{n:064d}" for n in range(20)]
    send(agent, ASSIGNMENT, assignment(3, ["nhom-b"], area_codes=long_codes))
    place = agent.heartbeat().assignment
    assert (place.area_codes, place.area_codes_count) == (long_codes[:4], 20)
    assert len(agent.heartbeat().model_dump_json()) < 1200
