"""`signage-fleet serve` as a process: one clear line and the right exit status for what
it cannot use; a broker that is down at start only delays ingest; SIGINT and SIGTERM
stop it cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.cli import EX_UNAVAILABLE, EX_USAGE
from fleet.store.models import Board
from tests.fleet.fleet_support import FleetProcess
from tests.support import (
    REPO,
    TRACEBACK,
    AgentProcess,
    Broker,
    free_port,
    wait_until,
    write_config,
)


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleet.cli", "serve", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        (["--broker", "localhost"], EX_USAGE, "--broker 'localhost' is not HOST:PORT"),
        (["--broker", "h:0"], EX_USAGE, "is not HOST:PORT (a port from 1 to 65535)"),
        (["--listen", "127.0.0.1:http"], EX_USAGE, "--listen '127.0.0.1:http' is not HOST:PORT"),
        (["--db", "not a url"], EX_USAGE, "--db: not a database URL"),
        (["--db", "mysql://fleet@db/fleet"], EX_USAGE, "not a database this fleet uses"),
        (["--db", "sqlite:///"], EX_USAGE, "an SQLite database needs a file"),
        (
            ["--db", "sqlite:////no/such/folder/fleet.db"],
            EX_UNAVAILABLE,
            "cannot open the database",
        ),
    ],
)
def test_what_serve_cannot_use_is_one_line_and_an_exit_status(
    args: list[str], status: int, said: str
) -> None:
    defaults = {"--broker": "127.0.0.1:1883", "--listen": f"127.0.0.1:{free_port()}"}
    for flag, value in defaults.items():
        if flag not in args:
            args = [*args, flag, value]
    done = serve(*args)
    assert done.returncode == status, done.stderr
    assert said in done.stderr
    assert TRACEBACK not in done.stderr
    assert done.stderr.count("signage-fleet serve:") == 1


def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://fleet:s3cret@127.0.0.1:{free_port()}/fleet"
    done = serve("--broker", "127.0.0.1:1883", "--db", url, "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == EX_UNAVAILABLE
    assert "cannot open the database postgresql://fleet:***@127.0.0.1" in done.stderr
    assert "s3cret" not in done.stderr
    assert TRACEBACK not in done.stderr


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve(
            "--broker",
            "127.0.0.1:1883",
            "--db",
            f"sqlite:///{tmp_path / 'fleet.db'}",
            "--listen",
            f"127.0.0.1:{port}",
        )
    assert done.returncode == EX_UNAVAILABLE
    assert f"--listen 127.0.0.1:{port}: cannot listen there" in done.stderr
    assert TRACEBACK not in done.stderr


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_a_broker_down_at_start_is_waited_for_and_sigint_stops_cleanly(tmp_path: Path) -> None:
    broker = Broker(tmp_path)  # not started yet
    fleet = FleetProcess(tmp_path / "fleet", broker.port)
    directory = tmp_path / "board"
    directory.mkdir()
    agent = AgentProcess(
        write_config(directory, port=broker.port, heartbeat_s=1), directory / "a.log"
    )
    try:
        fleet.start()  # serves the page although the broker is down
        fleet.wait_log("cannot reach it; retrying")
        broker.start()
        fleet.wait_subscribed(timeout=60)
        agent.start()
        fleet.wait_log("subscribed to")
        with fleet.store() as store:

            def online() -> bool:
                with store.session() as session:
                    board = session.get(Board, "hn-badinh-phucxa-01")
                    return board is not None and board.state == "online"

            wait_until(online, 30, "the board online in the fleet's database")
        assert fleet.process is not None
        fleet.process.send_signal(signal.SIGINT)
        assert fleet.process.wait(20) == 0
        assert "stopped by SIGINT" in fleet.log()
        fleet.check_no_traceback()
    finally:
        agent.kill()
        fleet.kill()
        broker.kill()
