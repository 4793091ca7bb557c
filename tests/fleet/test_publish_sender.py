"""`MqttCommandSender`, the web page's way to a board's cmd topic: one connection shared
by many threads, each send confirmed by the broker's PUBACK; a broker that is gone is a
PublishFailed within the timeout (nothing queued to go off later), and the sender is back
once the broker is; a real board answers what it sent."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from fleet.commands import CommandSender, PublishFailed
from fleet.mqtt_publish import MqttCommandSender
from tests.support import (
    BOARD,
    ROOT,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    wait_online,
    wait_until,
    write_config,
)


def test_commands_from_many_threads_arrive_once_each(broker: Broker) -> None:
    observer = Observer(broker.port, [f"{ROOT}/board/+/cmd"]).connect()
    sender = MqttCommandSender("127.0.0.1", broker.port, ROOT)
    typed: CommandSender = sender  # the seam the web page uses
    failures: list[BaseException] = []

    def send(n: int) -> None:
        try:
            for i in range(10):
                typed.send_command(f"bang-{n}", f"c-{n}-{i}", "set_brightness", {"percent": i})
        except PublishFailed as exc:
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sender.close()
    assert failures == []
    wait_until(lambda: len(observer.messages) >= 40, 10, "40 commands")
    observer.close()
    bodies = [m.json() for m in observer.messages]
    assert sorted(b["id"] for b in bodies) == sorted(
        f"c-{n}-{i}" for n in range(4) for i in range(10)
    )
    assert all(not m.retain for m in observer.messages)
    first = next(m for m in observer.messages if m.json()["id"] == "c-2-7")
    assert first.topic == f"{ROOT}/board/bang-2/cmd"
    assert first.json()["args"] == {"percent": 7}
    assert "issued_at" in first.json()


def test_a_missing_broker_fails_in_time_and_the_sender_comes_back(broker: Broker) -> None:
    sender = MqttCommandSender("127.0.0.1", broker.port, ROOT, timeout=2)
    try:
        sender.send_command("bang-1", "c-1", "ping", {})
        broker.kill()
        with pytest.raises(PublishFailed):
            sender.send_command("bang-1", "c-2", "ping", {})
        broker.start()
        observer = Observer(broker.port, [f"{ROOT}/board/+/cmd"]).connect()

        def sent() -> bool:
            try:
                sender.send_command("bang-1", "c-3", "ping", {})
            except PublishFailed:
                return False
            return True

        wait_until(sent, 60, "the sender to reconnect")
        observer.wait_for(lambda m: m.json()["id"] == "c-3")
        observer.close()
    finally:
        sender.close()


def test_a_command_the_broker_never_acknowledged_is_not_sent_after_a_reconnect(
    tmp_path: Path,
) -> None:
    """A frozen broker takes the bytes but sends no PUBACK: the page is told it failed,
    so it must not go out later (paho would resend it after reconnecting)."""
    broker = Broker(tmp_path, "allow_anonymous true\nlog_type all\n")
    broker.start()
    sender = MqttCommandSender("127.0.0.1", broker.port, ROOT, timeout=2)
    try:
        sender.send_command("bang-1", "c-1", "ping", {})
        assert broker.process is not None
        os.kill(broker.process.pid, signal.SIGSTOP)
        with pytest.raises(PublishFailed, match="no acknowledgement"):
            sender.send_command("bang-2", "c-2", "ping", {})
        broker.kill()  # the bytes it had not read die with it
        restarted_at = len(broker.log.read_bytes())
        broker.start()

        def sent() -> bool:
            try:
                sender.send_command("bang-1", "c-3", "ping", {})
            except PublishFailed:
                return False
            return True

        wait_until(sent, 60, "the sender to reconnect")
        # paho resends what it holds at the CONNACK, before c-3: the log has it by now.
        since = broker.log.read_bytes()[restarted_at:].decode(errors="replace")
        assert f"'{ROOT}/board/bang-1/cmd'" in since
        assert "bang-2" not in since
    finally:
        sender.close()
        broker.kill()


def test_bad_commands_are_refused_before_they_are_sent(broker: Broker) -> None:
    sender = MqttCommandSender("127.0.0.1", broker.port, ROOT)
    try:
        with pytest.raises(PublishFailed, match="board id"):
            sender.send_command("Bang 1", "c-1", "ping", {})
        with pytest.raises(PublishFailed, match="not a valid command"):
            sender.send_command("bang-1", "c 1", "ping", {})
    finally:
        sender.close()


@pytest.mark.e2e
def test_a_board_answers_a_command_the_sender_sent(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path, port=broker.port)
    agents.append(AgentProcess(config, tmp_path / "agent.log").start())
    wait_online(observer)
    sender = MqttCommandSender("127.0.0.1", broker.port, ROOT)
    try:
        sender.send_command(BOARD["id"], "tu-trang-web-1", "ping", {})
    finally:
        sender.close()
    result = observer.wait_for(
        lambda m: m.topic == board_topic("cmd/result") and m.json()["id"] == "tu-trang-web-1"
    )
    assert json.loads(result.payload)["ok"] is True
