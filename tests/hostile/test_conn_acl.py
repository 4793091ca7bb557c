"""A broker ACL that denies the board's writes: every PUBACK says "Not authorized". The
board must say so in its log (once per topic, at WARNING), in its heartbeat
(`mqtt.denied`) and in systemd's STATUS= (issue 10, "Silent field failures")."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile.conn_fakes import (
    ACL_NO_COMMAND_READS,
    ACL_NO_WRITES,
    DASHBOARD_PASSWORD,
    acl_broker,
    board_login,
)
from tests.support import (
    BOARD,
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    playlist,
    text_item,
    wait_until,
    write_config,
)
from tests.test_sdnotify import NotifySocket

pytestmark = pytest.mark.e2e
HEARTBEAT = board_topic("heartbeat")
EXAMPLE_ACL = Path(__file__).parents[2] / "examples" / "mosquitto" / "signage.acl"


@dataclass
class AclBoard:
    agent: AgentProcess
    dashboard: Observer
    notify: NotifySocket


@contextlib.contextmanager
def acl_board(tmp_path: Path, acl: str, agents: list[AgentProcess]) -> Iterator[AclBoard]:
    """A board logged in with its own account on a Mosquitto with this ACL, systemd's
    notify socket and the dashboard watching the board's topics; all stopped after."""
    broker = acl_broker(tmp_path / "broker", acl)
    notify = NotifySocket(tmp_path / "notify.sock")
    dashboard = Observer(broker.port, [board_topic("#")])
    dashboard.client.username_pw_set("dashboard", DASHBOARD_PASSWORD)
    try:
        dashboard.connect()
        config = write_config(
            tmp_path, port=broker.port, heartbeat_s=1, mqtt_extra=board_login(tmp_path)
        )
        agent = AgentProcess(
            config, tmp_path / "agent.log", env={"NOTIFY_SOCKET": str(notify.path)}
        ).start()
        agents.append(agent)
        yield AclBoard(agent, dashboard, notify)
    finally:
        dashboard.close()
        notify.close()
        broker.kill()


def test_denied_writes_are_logged_once_per_topic_counted_and_shown_in_status(
    tmp_path: Path, agents: list[AgentProcess]
) -> None:
    with acl_board(tmp_path, ACL_NO_WRITES, agents) as board:
        agent, dashboard, notify = board.agent, board.dashboard, board.notify
        status_topic = board_topic("status")
        agent.wait_log(f"MQTT broker denies write {status_topic}: Not authorized", timeout=20)
        # Events are denied too: content makes some (content.accepted, playback.started).
        dashboard.publish(COMMUNE_TOPIC, playlist(1, [text_item("a", "Tin", duration_s=600)]))
        events = board_topic("events")
        agent.wait_log(f"MQTT broker denies write {events}: Not authorized", timeout=20)

        # The heartbeat topic is allowed here: the dashboard sees the denials counted.
        def denied_beat() -> int:
            beats = dashboard.find(lambda m: m.topic == HEARTBEAT)
            return max((b.json()["mqtt"]["denied"] for b in beats), default=0)

        wait_until(lambda: denied_beat() >= 3, 20, "heartbeats counting denials")
        beat = dashboard.find(lambda m: m.topic == HEARTBEAT)[-1].json()
        assert "broker denies write" in beat["mqtt"]["last_error"]
        notify.wait_for(f"broker denies write {events}", timeout=20)
        assert "STATUS=online; " in notify.received[notify.wait_for("broker denies")][1]
        # Once per topic, however often the broker says no.
        log = agent.log()
        warning = "WARNING agent.link: MQTT broker denies write"
        assert log.count(f"{warning} {events}:") == 1, log
        assert log.count(f"{warning} {status_topic}:") == 1
        assert BOARD["id"] in status_topic
        assert agent.alive()


def test_an_acl_that_denies_reading_commands_is_found_by_the_boards_own_probe(
    tmp_path: Path, agents: list[AgentProcess]
) -> None:
    """Mosquitto grants the SUBACK of a cmd topic its ACL denies reading, then never
    delivers: the board's probe (accepted, never back) says so in log, heartbeat, STATUS=."""
    with acl_board(tmp_path, ACL_NO_COMMAND_READS, agents) as board:
        agent, dashboard = board.agent, board.dashboard
        command = board_topic("cmd")
        agent.wait_log(f"WARNING agent.link: MQTT broker denies read {command}:", timeout=20)
        board.notify.wait_for(f"broker denies read {command}", timeout=20)

        def denying_beat() -> bool:
            beats = [b.json()["mqtt"] for b in dashboard.find(lambda m: m.topic == HEARTBEAT)]
            return any(b["denied"] >= 1 and command in (b["last_error"] or "") for b in beats)

        wait_until(denying_beat, 20, "a heartbeat counting the denied command reads")
        assert agent.alive()


def test_the_example_acl_leaves_command_reads_untestable_and_reports_no_denial(
    tmp_path: Path, agents: list[AgentProcess]
) -> None:
    """The example ACL lets a board read but not write its cmd topic: the probe is
    refused, which is no denial; a dashboard's command still arrives and is answered."""
    with acl_board(tmp_path, EXAMPLE_ACL.read_text(), agents) as board:
        agent, dashboard = board.agent, board.dashboard
        agent.wait_log("MQTT read permission on commands not testable", timeout=20)
        ping = {"type": "command", "id": "p-1", "command": "ping", "args": {}}
        dashboard.publish(board_topic("cmd"), json.dumps(ping))
        dashboard.wait_for(lambda m: m.topic == board_topic("cmd/result"), timeout=20)
        wait_until(lambda: len(dashboard.find(lambda m: m.topic == HEARTBEAT)) >= 2, 20, "beats")
        beats = dashboard.find(lambda m: m.topic == HEARTBEAT)
        assert all(b.json()["mqtt"]["denied"] == 0 for b in beats), beats[-1].json()["mqtt"]
        assert "broker denies" not in agent.log()


def test_on_an_open_broker_the_probe_comes_back_and_is_never_taken_for_a_command(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess]
) -> None:
    dashboard = Observer(broker.port, [board_topic("#")]).connect()
    try:
        config = write_config(tmp_path, port=broker.port, heartbeat_s=1)
        agent = AgentProcess(config, tmp_path / "agent.log").start()
        agents.append(agent)
        agent.wait_log("MQTT read permission on commands proven", timeout=20)
        probes = dashboard.find(lambda m: m.topic == board_topic("cmd"))
        assert len(probes) == 1
        assert probes[0].json()["type"] == "probe"
        wait_until(lambda: len(dashboard.find(lambda m: m.topic == HEARTBEAT)) >= 2, 20, "beats")
        assert not dashboard.find(lambda m: m.topic == board_topic("cmd/result"))
        assert not dashboard.find(lambda m: b"content.rejected" in m.payload)
        assert "content.rejected" not in agent.log()
    finally:
        dashboard.close()
