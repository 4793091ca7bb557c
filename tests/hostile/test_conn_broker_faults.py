"""Broker faults beyond a clean restart (issue 10): a frozen broker (SIGSTOP: half-open
TCP, and a listener that accepts TCP but never answers), a broker restarting every few
seconds, and the clean stop."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support import (
    AgentProcess,
    Broker,
    Message,
    Observer,
    board_topic,
    is_online,
    wait_online,
    write_config,
)
from tests.test_sdnotify import NotifySocket

pytestmark = pytest.mark.e2e
HEARTBEAT = board_topic("heartbeat")
KEEPALIVE_S = 5  # write_config's


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_frozen_broker_is_left_within_1_5_keepalives_and_rejoined_when_it_thaws(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    config = write_config(
        tmp_path, port=broker.port, heartbeat_s=1, mqtt_extra="connect_timeout_s = 2\n"
    )
    notify = NotifySocket(tmp_path / "notify.sock")
    agent = AgentProcess(
        config, tmp_path / "agent.log", env={"NOTIFY_SOCKET": str(notify.path)}
    ).start()
    agents.append(agent)
    wait_online(observer, timeout=15)
    time.sleep(1.5)  # some traffic, so that the freeze comes between keepalives
    assert broker.process is not None
    pid = broker.process.pid
    os.kill(pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        agent.wait_log("broker silent for", timeout=3 * KEEPALIVE_S)
        left_after = time.monotonic() - frozen_at
        assert left_after <= 1.5 * KEEPALIVE_S + 0.5, left_after  # + this test's polling
        # The kernel still accepts TCP for the frozen broker: CONNACK never comes.
        agent.wait_log("no CONNACK within 2 s", timeout=15)
        # systemctl status says why the board is offline.
        notify.wait_for("last error: no CONNACK within 2 s", timeout=10)
    finally:
        mark = observer.mark()
        os.kill(pid, signal.SIGCONT)
        notify.close()
    observer.wait_for(is_online, start=mark, timeout=30)

    # The heartbeats made after the outage say what it was (the spooled ones before them
    # were made while the link was still taken for alive, or already down).
    def after_outage(m: Message) -> bool:
        return (
            m.topic == HEARTBEAT
            and m.json()["mqtt"]["connected_since"] is not None
            and (m.json()["mqtt"]["reconnects"] >= 2)
        )

    beat = observer.wait_for(after_outage, start=mark, timeout=15).json()
    assert beat["mqtt"]["last_error"], beat["mqtt"]
    assert agent.alive()
    assert "falling back" not in agent.log()  # MQTT 5 spoken before: no fallback later


def test_a_broker_restarting_every_few_seconds_leaves_no_seq_gaps_and_no_growth(
    tmp_path: Path, agents: list[AgentProcess]
) -> None:
    # Persistence and a graceful stop keep the dashboard's session (and what was queued
    # for it) across restarts: every heartbeat the broker acknowledged reaches it.
    broker = Broker(
        tmp_path, f"allow_anonymous true\npersistence true\npersistence_location {tmp_path}/\n"
    )
    broker.start()
    seen: list[Message] = []
    dashboard = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="dashboard-flap", clean_session=False
    )
    dashboard.on_connect = lambda c, *_a: c.subscribe(HEARTBEAT, 1)
    dashboard.on_message = lambda _c, _u, m: seen.append(
        Message(m.topic, bytes(m.payload), bool(m.retain), time.monotonic())
    )
    # paho annotates the delays int, but uses them as float seconds: sub-second ones work.
    dashboard.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
    dashboard.connect("127.0.0.1", broker.port)
    dashboard.loop_start()
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1)
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    try:
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            time.sleep(0.1)
        assert seen, "no heartbeat before the restarts"
        assert agent.process is not None
        rss = []
        for _ in range(6):
            assert broker.process is not None
            broker.process.send_signal(signal.SIGTERM)  # graceful: persistence is saved
            broker.process.wait(10)
            time.sleep(0.5)
            broker.start()
            time.sleep(2.5)
            rss.append(rss_kb(agent.process.pid))
        count = len(seen)
        deadline = time.monotonic() + 20
        while len(seen) < count + 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        seqs = [m.json()["seq"] for m in seen]
        unique = sorted(set(seqs))
        missing = sorted(set(range(unique[0], unique[-1] + 1)) - set(unique))
        assert not missing, f"seq gaps: {missing}"
        assert agent.log().count("connection lost") >= 6
        assert rss[-1] - rss[0] < 5 * 1024, rss  # no growth after the first cycle
    finally:
        dashboard.disconnect()
        dashboard.loop_stop()
        broker.kill()


def test_a_clean_stop_warns_of_nothing_and_dates_its_offline_status(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    agent = AgentProcess(write_config(tmp_path, port=broker.port), tmp_path / "agent.log").start()
    agents.append(agent)
    wait_online(observer, timeout=15)
    mark = observer.mark()
    assert agent.terminate(timeout=5) == 0
    offline = observer.wait_for(lambda m: m.topic == board_topic("status"), start=mark)
    body = offline.json()
    assert body["state"] == "offline"
    assert body["reason"] == "shutdown"
    assert body["since"]  # when it went offline
    log = agent.log()
    assert "WARNING agent.link" not in log, log
    assert "Normal disconnection" not in log
    assert "MQTT disconnected (clean stop)" in log
