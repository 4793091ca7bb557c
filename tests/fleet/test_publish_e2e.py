"""`signage-fleet publish` end to end: the command line as a city runs it, a real
Mosquitto, a real board (`signage-agent run`): each kind reaches the board and has the
effect the contract says (CONTRACT §2, §3, §6, §7, §8, §9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.trust.signing import generate_key_files
from tests.fleet.test_publish_refusals import run_publish
from tests.support import (
    BOARD,
    COMMUNE_TOPIC,
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
from tests.test_e2e_alerts import alert
from tests.test_e2e_feeds import storm_documents
from tests.test_e2e_layouts_mqtt import BUS_TIMES
from tests.trust_signer import trust_toml

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")
COMMUNE = f"commune/{BOARD['district']}/{BOARD['commune']}"


def start(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess], extra: str = ""
) -> AgentProcess:
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1, extra=extra)
    agent = AgentProcess(config, tmp_path / f"agent-{len(agents)}.log").start()
    agents.append(agent)
    return agent


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def ok(broker: Broker, *args: str) -> str:
    done = run_publish(*args, "--broker", f"127.0.0.1:{broker.port}")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_playlists_bumped_versions_layouts_and_clearing_reach_the_board(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    agent = start(tmp_path, broker, agents)
    wait_online(observer)
    notice = write(tmp_path, "notice.json", playlist(3, [text_item("tin", "Lịch cắt điện")]))
    said = ok(broker, "playlist", notice, "--to", COMMUNE)
    assert f"to {COMMUNE_TOPIC}: retained, QoS 1" in said
    assert "unsigned" in said
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="commune", version=3))

    # --bump: the held version plus one, though the file still says 3.
    for version in (4, 5):
        said = ok(broker, "playlist", notice, "--to", COMMUNE, "--bump")
        assert said.startswith(f"version {version} (held on {COMMUNE_TOPIC}: {version - 1})")
        observer.wait_for(
            event_matcher(EVENTS, "content.accepted", channel="commune", version=version)
        )

    # A layout, then a playlist naming it: the publisher finds it retained on the broker.
    layout = write(tmp_path, "bus_times.yaml", BUS_TIMES)
    said = ok(broker, "layout", layout)
    assert f"to {ROOT}/layout/bus_times: retained" in said
    agent.wait_log("layout bus_times received")
    bus = {"id": "xe-buyt", "layout": "bus_times", "fields": {"route": "32"}}
    buses = write(tmp_path, "buses.json", playlist(1, [bus]))
    ok(broker, "playlist", buses, "--to", "city")
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="city", version=1))
    shown = observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="xe-buyt"))
    assert shown.json()["layout"] == "bus_times"

    said = ok(broker, "clear", "-", "--to", f"content/{COMMUNE}")
    assert "empty payload" in said
    observer.wait_for(event_matcher(EVENTS, "content.cleared", channel="commune"))


def test_json_and_cap_alerts_start_and_cancel_and_clear_end_them(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start(tmp_path, broker, agents)
    wait_online(observer)
    storm = write(tmp_path, "bao.json", alert("bao-so-3"))
    said = ok(broker, "alert", storm, "--to", "city")
    assert f"to {ROOT}/alert/city/bao-so-3: retained" in said
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="bao-so-3"))
    said = ok(broker, "cancel", storm, "--to", "city")
    assert "cancel of alert bao-so-3" in said
    observer.wait_for(event_matcher(EVENTS, "alert.ended", alert_id="bao-so-3", reason="cancel"))

    cap = write(tmp_path, "storm.xml", storm_documents()["vn-storm-bao-so-3"])
    incident = "HN-PCTT-2026-0906-001"
    said = ok(broker, "alert", cap, "--to", "district/ba-dinh")
    assert f"to {ROOT}/alert/district/ba-dinh/{incident}: retained" in said
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id=incident))
    said = ok(broker, "cancel", cap, "--to", "district/ba-dinh")
    assert f"CAP Cancel of {incident}" in said
    observer.wait_for(event_matcher(EVENTS, "alert.ended", alert_id=incident, reason="cancel"))

    flood = write(tmp_path, "lu.json", alert("lu-quet", severity="moderate"))
    ok(broker, "alert", flood, "--to", "city")
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="lu-quet"))
    said = ok(broker, "clear", flood, "--to", "city")
    assert f"to {ROOT}/alert/city/lu-quet" in said
    observer.wait_for(event_matcher(EVENTS, "alert.ended", alert_id="lu-quet", reason="deleted"))


def test_an_assignment_moves_the_board_and_a_command_waits_for_its_result(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start(tmp_path, broker, agents)
    wait_online(observer)
    body = {"type": "assignment", "version": 2, "groups": ["truong-hoc"]}
    moves = write(tmp_path, "assignment.json", json.dumps(body))
    said = ok(broker, "assignment", moves, "--to", f"board/{BOARD['id']}")
    assert f"to {board_topic('assignment')}: retained" in said
    observer.wait_for(event_matcher(EVENTS, "assignment.accepted"))

    def moved(m: Message) -> bool:
        if m.topic != board_topic("heartbeat"):
            return False
        assignment = m.json().get("assignment", {})
        return bool(assignment.get("version") == 2 and assignment.get("groups") == ["truong-hoc"])

    observer.wait_for(moved)

    ping = write(tmp_path, "ping.json", json.dumps({"type": "command", "command": "ping"}))
    said = ok(broker, "command", ping, "--to", BOARD["id"], "--wait")
    sent, result = said.splitlines()
    assert f"to {board_topic('cmd')}: not retained" in sent
    answer = json.loads(result)
    assert answer["type"] == "command_result"
    assert answer["ok"] is True
    assert answer["id"] in sent  # the id the publisher filled in

    # A board that does not answer: EX_TEMPFAIL after --timeout.
    done = run_publish(
        "command", ping, "--to", "board/nobody", "--wait", "--timeout", "1",
        "--broker", f"127.0.0.1:{broker.port}",
    )  # fmt: skip
    assert done.returncode == 75, done.stderr
    assert "no result for command" in done.stderr


def test_signed_messages_are_accepted_unsigned_refused_and_a_keyring_adds_a_key(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    root = generate_key_files("hanoi-root", keys)
    content = generate_key_files("hanoi-content", keys)
    alerts = generate_key_files("pctt-2026", keys)
    trust = trust_toml(
        [
            (root.public, "hanoi-root", ["keyring", "command"]),
            (content.public, "hanoi-content", ["playlist"]),
        ]
    )
    start(tmp_path, broker, agents, extra=trust)
    wait_online(observer)

    notice = write(tmp_path, "notice.json", playlist(1, [text_item("tin", "Tiêm chủng")]))
    done = run_publish("playlist", notice, "--to", COMMUNE, "--broker", f"127.0.0.1:{broker.port}")
    assert done.returncode == 0  # published: refusing it is the board's decision
    rejected = observer.wait_for(event_matcher(EVENTS, "content.rejected", topic=COMMUNE_TOPIC))
    assert "unsigned" in json.dumps(rejected.json()["errors"])

    # The refused copy is held retained: --bump reads its version (1) and goes above it.
    said = ok(broker, "playlist", notice, "--to", COMMUNE, "--key", str(content.private), "--bump")
    assert said.startswith(f"version 2 (held on {COMMUNE_TOPIC}: 1)")
    assert "signed by hanoi-content" in said
    observer.wait_for(event_matcher(EVENTS, "content.accepted", channel="commune", version=2))

    public = json.loads(alerts.public.read_text())
    ring = {
        "type": "keyring",
        "version": 1,
        "keys": [{"kid": "pctt-2026", "public_key": public, "may_sign": ["alert"]}],
    }
    keyring = write(tmp_path, "keyring.json", json.dumps(ring))
    said = ok(broker, "keyring", keyring, "--key", str(root.private))
    assert f"to {ROOT}/trust: retained" in said
    observer.wait_for(event_matcher(EVENTS, "trust.keyring_accepted", version=1))
    # --bump reads the version inside the signed keyring the broker holds.
    said = ok(broker, "keyring", keyring, "--key", str(root.private), "--bump")
    assert said.startswith(f"version 2 (held on {ROOT}/trust: 1)")
    observer.wait_for(event_matcher(EVENTS, "trust.keyring_accepted", version=2))
    storm = write(tmp_path, "bao.json", alert("bao-so-3"))
    ok(broker, "alert", storm, "--to", "city", "--key", str(alerts.private))
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="bao-so-3"))
