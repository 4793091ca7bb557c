"""Real file system faults under a running board (issue 10 "State that survives anything"):
a full state dir (a small tmpfs), a state dir remounted read-only, and a state file the
agent's user may not read (the agent run as `nobody`; chmod means nothing to root).

Each: the board keeps running and showing new content, heartbeats keep arriving in order
(also across an outage, from memory), and each problem is one `storage.error`, not one per
heartbeat. Skipped where the machine does not allow mounts or user switches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    COMMUNE_TOPIC,
    REPO,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e

EVENTS, HEARTBEAT = board_topic("events"), board_topic("heartbeat")
NOBODY = 65534


def _mount(target: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs: the board's SD card, small enough to fill."""
    target = tmp_path / "sdcard"
    target.mkdir()
    if not _mount(target, "2m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("ab") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def remount(target: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(target)], check=True)


def heartbeat_seqs(observer: Observer) -> list[int]:
    return [m.json()["seq"] for m in observer.find(lambda m: m.topic == HEARTBEAT)]


def storage_errors(observer: Observer) -> list[str]:
    return [m.json()["message"] for m in observer.find(event_matcher(EVENTS, "storage.error"))]


def new_content_is_shown_and_reported(observer: Observer, version: int) -> None:
    mark = observer.mark()
    observer.publish(COMMUNE_TOPIC, playlist(version, [text_item("moi", "Nội dung mới")]))
    observer.wait_for(event_matcher(EVENTS, "content.accepted", version=version), start=mark)
    observer.wait_for(
        lambda m: (
            m.topic == HEARTBEAT
            and (m.json()["content"]["commune"] or {}).get("version") == version
        ),
        timeout=10,
        start=mark,
    )


def outage_then_everything_arrives(broker: Broker, agent: AgentProcess, seconds: float) -> Observer:
    before = agent.log().count("connection lost")
    broker.kill()
    agent.wait_log("connection lost" if before == 0 else "reconnect attempt")
    time.sleep(seconds)  # heartbeats pile up; the spool cannot take them
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    wait_online(observer, timeout=20)
    return observer


def test_a_full_state_dir_costs_nothing_but_restart_safety(
    tmp_path: Path, small_fs: Path, broker: Broker, agents: list[AgentProcess]
) -> None:
    config = write_config(small_fs, port=broker.port, heartbeat_s=1, reconnect_s=(1.0, 2.0))
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    observer = Observer(broker.port, [board_topic("#")]).connect()
    wait_online(observer, timeout=20)
    observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=20)
    # What was spooled before the first connection is delivered and its file deleted
    # (which frees space): only then is the disk filled.
    wait_until(lambda: not (small_fs / "state" / "outbox.jsonl").exists(), 20, "an empty spool")
    filler = fill(small_fs)
    new_content_is_shown_and_reported(observer, 2)
    observer.wait_for(event_matcher(EVENTS, "storage.error"), timeout=10)
    last = max(heartbeat_seqs(observer))
    said_before = storage_errors(observer)
    observer.close()

    # Long enough for the spool to need a new page of the full file system.
    after = outage_then_everything_arrives(broker, agent, 6)
    try:
        # Heartbeats produced in the outage were kept in memory and arrive, in order.
        live = after.wait_for(lambda m: m.topic == HEARTBEAT, timeout=15).json()["seq"]
        after.wait_for(lambda m: m.topic == HEARTBEAT and m.json()["seq"] >= live + 5, timeout=20)
        seqs = heartbeat_seqs(after)  # (at least once: the last ones before may come again)
        assert seqs == sorted(seqs)
        assert set(range(last + 1, max(seqs) + 1)) <= set(seqs)
        assert "cannot write the outbox" in agent.log()
        said = said_before + storage_errors(after)
        assert any("outbox" in m for m in said), said  # said while offline, sent later
        assert len(said) == len(set(said)) <= 3, said  # one per problem, not per heartbeat
        filler.unlink()  # space again: content is saved again
        new_content_is_shown_and_reported(after, 3)
        assert agent.alive()
        assert "Traceback" not in agent.log()
    finally:
        after.close()
    assert agent.terminate() == 0
    assert json.loads((small_fs / "state" / "content" / "commune.json").read_text())["version"] == 3


def test_a_state_dir_that_turns_read_only_keeps_the_board_running(
    tmp_path: Path, small_fs: Path, broker: Broker, agents: list[AgentProcess]
) -> None:
    config = write_config(small_fs, port=broker.port, heartbeat_s=1, reconnect_s=(1.0, 2.0))
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    observer = Observer(broker.port, [board_topic("#")]).connect()
    wait_online(observer, timeout=20)
    remount(small_fs, "ro")
    try:
        new_content_is_shown_and_reported(observer, 2)
        observer.wait_for(
            lambda m: (
                event_matcher(EVENTS, "storage.error")(m) and "commune" in m.json()["message"]
            ),
            timeout=10,
        )
        observer.close()
        after = outage_then_everything_arrives(broker, agent, 2)
        try:
            live = after.wait_for(lambda m: m.topic == HEARTBEAT, timeout=15).json()["seq"]
            after.wait_for(
                lambda m: m.topic == HEARTBEAT and m.json()["seq"] >= live + 4, timeout=20
            )
            messages = storage_errors(after)
            assert len(messages) == len(set(messages)) <= 3, messages
            assert agent.alive()
            assert "Traceback" not in agent.log()
        finally:
            after.close()
        assert agent.terminate() == 0  # a clean stop that cannot save anything
    finally:
        remount(small_fs, "rw")


def test_a_board_starts_on_a_read_only_state_dir(
    tmp_path: Path, small_fs: Path, broker: Broker, agents: list[AgentProcess], observer: Observer
) -> None:
    config = write_config(small_fs, port=broker.port, heartbeat_s=1)
    state = small_fs / "state"
    (state / "content").mkdir(parents=True)
    city = playlist(5, [text_item("giu", "Nội dung đã lưu")])
    (state / "content" / "city.json").write_bytes(city)
    (state / "heartbeat.seq").write_text("100\n")
    remount(small_fs, "ro")
    try:
        agent = AgentProcess(config, tmp_path / "agent.log").start()
        agents.append(agent)
        wait_online(observer, timeout=20)
        beat = observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=20).json()
        assert beat["content"]["city"] == {"version": 5, "items": 1}
        assert beat["seq"] >= 100  # the reservation cannot be written: the clock rule
        observer.wait_for(
            lambda m: (
                event_matcher(EVENTS, "storage.error")(m) and "heartbeat.seq" in m.json()["message"]
            ),
            timeout=10,
        )
        assert agent.terminate() == 0
    finally:
        remount(small_fs, "rw")


class NobodyAgent(AgentProcess):
    """The agent as an unprivileged user, as systemd runs it: permissions mean something."""

    def start(self) -> AgentProcess:
        env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYTHONUNBUFFERED="1", HOME="/tmp")
        self.log_path.write_bytes(b"")
        with self.log_path.open("ab") as log:
            drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
            self.process = subprocess.Popen(
                [*drop, sys.executable, "-m", "agent", "run", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                env=env,
                cwd=REPO,
            )
        return self


def test_a_state_file_the_agent_may_not_read_is_reported_and_set_aside(
    broker: Broker, agents: list[AgentProcess], observer: Observer
) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the agent as another user")
    base = Path(tempfile.mkdtemp(prefix="signage-nobody-"))
    try:
        base.chmod(0o755)
        config = write_config(base, port=broker.port, heartbeat_s=1)
        state = base / "state"
        (state / "content").mkdir(parents=True)
        (state / "content" / "city.json").write_bytes(playlist(5, [text_item("c", "Giữ lại")]))
        secret = state / "content" / "commune.json"
        secret.write_bytes(playlist(6, [text_item("x", "Không đọc được")]))
        for path in [state, *state.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
        os.chown(secret, 0, 0)
        secret.chmod(0o000)
        agent = NobodyAgent(config, base / "agent.log").start()
        agents.append(agent)
        wait_online(observer, timeout=20)
        said = observer.wait_for(
            lambda m: (
                event_matcher(EVENTS, "storage.error")(m) and "commune.json" in m.json()["message"]
            ),
            timeout=20,
        )
        assert "cannot be opened" in said.json()["message"]
        beat = observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=20).json()
        assert beat["content"]["city"] == {"version": 5, "items": 1}
        assert list((state / "content").glob("commune.json.bad-*"))
        assert agent.terminate() == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)
