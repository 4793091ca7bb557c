"""Under a real systemd (a Bookworm root booted with systemd-nspawn), a board whose disk
holds a poisoned outbox spool, a layout bomb and a FIFO in its inbox, all at once,
comes up by itself, shows content and reports all three (issue 20).

The board is installed the way a technician installs one: systemd/install.sh inside the
booted system, from wheels of this checkout; the unit is the shipped one. The broker is
a Mosquitto on a loopback port of the host (the container shares the host's network).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import nspawn
from tests.support import (
    BOARD,
    COMMUNE_TOPIC,
    REPO,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]
EVENTS = board_topic("events")
STATE = "/var/lib/signage-agent"
LAYOUT_BOMB = "deep.yaml"
FIFO = "notice.json"


@pytest.fixture(scope="module")
def base_root() -> Path:
    try:
        return nspawn.base_root()
    except nspawn.Unavailable as exc:
        pytest.skip(f"no systemd container on this machine: {exc}")


def agent_toml(port: int) -> str:
    return textwrap.dedent(
        f"""\
        [board]
        id = "{BOARD["id"]}"
        district = "{BOARD["district"]}"
        commune = "{BOARD["commune"]}"
        name = "Bảng tin phường Phúc Xá"

        [mqtt]
        host = "127.0.0.1"
        port = {port}
        keepalive_s = 5
        reconnect_min_s = 0.5
        reconnect_max_s = 2

        [display]
        output = "headless"
        width = 320
        height = 180
        layouts_dir = "/etc/signage-agent/layouts"

        [health]
        heartbeat_interval_s = 1

        [inbox]
        dir = "{STATE}/inbox"
        """
    )


def poisoned_spool() -> str:
    """A spool line with a wildcard topic: it made every start exit 1."""
    line = {"topic": f"signage/v1/board/{BOARD['id']}/#", "payload": "{}"}
    return json.dumps(line) + "\n"


# The whole scenario runs inside the booted container, as root, like a technician would.
SCENARIO = f"""\
#!/bin/bash
set -u
exec >/out/scenario.log 2>&1
wheel=$(ls /wheels/signage_agent-*.whl)
/src/systemd/install.sh --source "$wheel" --wheels /wheels --config /cfg/agent.toml \\
    --no-start --no-doctor || {{ echo "install failed: $?"; exit 1; }}
# The poison, put in place before the first start.
install -d {STATE}/inbox /etc/signage-agent/layouts
cp /cfg/outbox.jsonl {STATE}/outbox.jsonl
cp /cfg/{LAYOUT_BOMB} /etc/signage-agent/layouts/{LAYOUT_BOMB}
mkfifo {STATE}/inbox/{FIFO}
chown -R signage-agent:signage-agent {STATE}
systemctl start --no-block signage-agent.service
echo started > /out/started
# What systemd knows about the service, for the test to read.
while true; do
    systemctl show -p ActiveState -p SubState -p NRestarts -p StatusText \\
        signage-agent.service > /out/service.tmp && mv /out/service.tmp /out/service
    journalctl -u signage-agent.service -n 40 --no-pager > /out/journal.tmp 2>&1 \\
        && mv /out/journal.tmp /out/journal
    sleep 0.5
done
"""

SCENARIO_UNIT = """\
[Unit]
Description=install a board and poison its disk (test scenario)
After=multi-user.target
[Service]
Type=simple
ExecStart=/cfg/scenario.sh
[Install]
WantedBy=multi-user.target
"""


def service_state(out: Path) -> dict[str, str]:
    try:
        lines = (out / "service").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture
def container(base_root: Path, tmp_path: Path) -> Iterator[tuple[Path, Broker, Observer]]:
    broker = Broker(tmp_path)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    # Content waits on the broker (retained), as a city publishes it.
    observer.publish(
        COMMUNE_TOPIC,
        playlist(1, [text_item("thong-bao", "Lịch tiêm chủng tuần này", duration_s=3600)]),
        retain=True,
    )
    wheels = nspawn.wheels(tmp_path / "wheels", Path(sys.executable))
    cfg, out = tmp_path / "cfg", tmp_path / "out"
    cfg.mkdir()
    out.mkdir()
    (cfg / "agent.toml").write_text(agent_toml(broker.port), encoding="utf-8")
    (cfg / "outbox.jsonl").write_text(poisoned_spool())
    (cfg / LAYOUT_BOMB).write_text("name: deep\nzones: " + "[" * 20000 + "]" * 20000 + "\n")
    (cfg / "scenario.sh").write_text(SCENARIO)
    (cfg / "scenario.sh").chmod(0o755)
    with nspawn.overlay(base_root, tmp_path / "overlay") as root:
        units = root / "etc/systemd/system"
        (units / "board-scenario.service").write_text(SCENARIO_UNIT)
        wants = units / "multi-user.target.wants"
        wants.mkdir(exist_ok=True)
        (wants / "board-scenario.service").symlink_to("/etc/systemd/system/board-scenario.service")
        box = nspawn.Container(
            root,
            tmp_path / "container.log",
            binds={REPO: "/src", wheels: "/wheels", cfg: "/cfg"},
            writable={out: "/out"},
        ).boot()
        try:
            yield out, broker, observer
        finally:
            box.stop()
            observer.close()
            broker.kill()


def test_a_poisoned_board_comes_up_under_systemd_and_reports_each_poison(
    container: tuple[Path, Broker, Observer],
) -> None:
    out, _broker, observer = container

    def scenario_log() -> str:
        path = out / "scenario.log"
        return path.read_text(errors="replace") if path.exists() else "(no scenario log)"

    def journal() -> str:
        path = out / "journal"
        return path.read_text(errors="replace") if path.exists() else "(no journal yet)"

    try:
        wait_until((out / "started").exists, 240, "the install inside the container")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{scenario_log()}") from None
    try:
        wait_online(observer, timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nservice: {service_state(out)}\n{journal()}") from None
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="thong-bao"), timeout=30)

    storage = observer.wait_for(event_matcher(EVENTS, "storage.error"), timeout=30).json()
    assert "outbox" in storage["message"], storage
    display = observer.wait_for(
        lambda m: event_matcher(EVENTS, "display.error")(m) and LAYOUT_BOMB in m.json()["message"],
        timeout=30,
    ).json()
    assert LAYOUT_BOMB in display["message"]
    rejected = observer.wait_for(
        lambda m: event_matcher(EVENTS, "content.rejected")(m) and FIFO in m.json()["topic"],
        timeout=30,
    ).json()
    assert rejected["channel"] == "local", rejected

    # systemd's own view: running, never restarted, and its status line says what it shows.
    state = wait_until(
        lambda: "thong-bao" in (s := service_state(out)).get("StatusText", "") and s,
        30,
        "the status line naming what is shown",
    )
    assert state["ActiveState"] == "active", state
    assert state["SubState"] == "running", state
    assert state["NRestarts"] == "0", state
    assert state["StatusText"].startswith("online; showing commune/thong-bao"), state
    # Still heartbeating after all that.
    mark = observer.mark()
    observer.wait_for(lambda m: m.topic == board_topic("heartbeat"), timeout=10, start=mark)
