"""A broker ACL that denies the board's writes: every PUBACK says "Not authorized". The
board must say so in its log (once per topic, at WARNING), in its heartbeat
(`mqtt.denied`) and in systemd's STATUS= (issue 10, "Silent field failures")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conn_fakes import ACL_NO_WRITES, DASHBOARD_PASSWORD, acl_broker, board_login
from tests.support import (
    BOARD,
    COMMUNE_TOPIC,
    AgentProcess,
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


def test_denied_writes_are_logged_once_per_topic_counted_and_shown_in_status(
    tmp_path: Path, agents: list[AgentProcess]
) -> None:
    broker = acl_broker(tmp_path / "broker", ACL_NO_WRITES)
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
    finally:
        dashboard.close()
        notify.close()
        broker.kill()
