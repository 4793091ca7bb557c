"""End to end through a real Mosquitto: a layout published on `{root}/layout/{name}`
(CONTRACT §8) reaches a board that never had its file; a bad one is rejected with its
line, and the board keeps drawing with the last good one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import (
    COMMUNE_TOPIC,
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

EVENTS = board_topic("events")
LAYOUT_TOPIC = "signage/v1/layout/bus_times"
BUS_TIMES = """\
name: bus_times
purpose: The next buses at this stop.
background: navy
zones:
  - name: route
    type: text
    box: [0, 0, 100, 100]
    text: "{route}"
"""
# Line 6: a zone type no board knows.
BAD_BUS_TIMES = BUS_TIMES.replace("type: text", "type: marquee")
BUS_ITEM = {"id": "xe-buyt", "layout": "bus_times", "duration_s": 2, "fields": {"route": "32"}}


def test_a_layout_from_the_broker_is_used_and_a_bad_one_leaves_the_good_one(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path, port=broker.port)
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    wait_online(observer)

    # A playlist naming a layout the board has not got: accepted, the item waits (said
    # once), the rest of the rotation shows.
    notice = text_item("thong-bao", "Mất điện từ 8 giờ", duration_s=2)
    observer.publish(COMMUNE_TOPIC, playlist(3, [BUS_ITEM, notice]), retain=True)
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="commune", version=3))
    warning = observer.wait_for(event_matcher(EVENTS, "content.warning", channel="commune"))
    (said,) = warning.json()["warnings"]
    assert said["path"] == "items.0.layout"
    assert "bus_times" in said["message"]
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="thong-bao"))
    assert not observer.find(event_matcher(EVENTS, "playback.started", item_id="xe-buyt"))

    # The layout arrives: the waiting item shows with it, with no restart.
    mark = observer.mark()
    observer.publish(LAYOUT_TOPIC, BUS_TIMES, retain=True)
    started = observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id="xe-buyt"), start=mark, timeout=15
    )
    assert started.json()["layout"] == "bus_times"
    assert (tmp_path / "state" / "layouts" / "bus_times.yaml").read_text() == BUS_TIMES

    # A bad version: rejected naming the topic, the problem and its line; the good one stays.
    mark = observer.mark()
    observer.publish(LAYOUT_TOPIC, BAD_BUS_TIMES, retain=True)
    rejected = observer.wait_for(
        event_matcher(EVENTS, "content.rejected", topic=LAYOUT_TOPIC), start=mark
    )
    assert rejected.json()["channel"] is None
    messages = [e["message"] for e in rejected.json()["errors"]]
    assert any("marquee" in m and "(line 6)" in m for m in messages), messages
    again = observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id="xe-buyt"), start=mark, timeout=15
    )
    assert again.json()["layout"] == "bus_times"
    assert (tmp_path / "state" / "layouts" / "bus_times.yaml").read_text() == BUS_TIMES

    # A built-in layout's name is refused: one sent over MQTT never replaces it.
    mark = observer.mark()
    idle_topic = "signage/v1/layout/idle"
    observer.publish(idle_topic, BUS_TIMES.replace("bus_times", "idle"), retain=False)
    refused = observer.wait_for(
        event_matcher(EVENTS, "content.rejected", topic=idle_topic), start=mark
    )
    assert "built-in layout" in refused.json()["errors"][0]["message"]

    # Kept on disk: a restart without a broker draws it at once.
    agent.terminate()
    alone = write_config(tmp_path, port=None)
    offline = AgentProcess(alone, tmp_path / "offline.log").start()
    agents.append(offline)
    offline.wait_log("layouts received earlier: bus_times")
    offline.wait_log("xe-buyt", timeout=15)
    offline.check_no_traceback()
