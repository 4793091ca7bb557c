from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from tests.support import AgentProcess, Broker, Observer, board_topic


class _ExceptionRecords(logging.Handler):
    """Keeps every record at ERROR or above that carries an exception (a traceback)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_log_exception(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails any test in which the agent logs an exception with a traceback (Home
    Assistant's habit): a traceback is a bug, never how bad input is handled.

    In-process code: a handler on the root logger records ERROR+ records with exc_info;
    the test fails at teardown. Agent processes (tests/support.py AgentProcess): `kill()`,
    which the `agents` fixture and the module fixtures call, fails when the process log
    holds "Traceback (most recent call last)".

    A test that provokes a traceback on purpose says so with `@pytest.mark.allow_traceback`
    (also as a module's `pytestmark`, which covers its module-scoped agents); a single
    agent can be let off with `agent.allow_traceback = True`.
    """
    allowed = request.node.get_closest_marker("allow_traceback") is not None
    # Not reset at teardown: module fixtures kill their agents after the module's last
    # test, and a module's pytestmark applies to that test too.
    AgentProcess.tracebacks_allowed = allowed
    recorder = _ExceptionRecords()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield
    finally:
        root.removeHandler(recorder)
    if recorder.records and not allowed:
        shown = "\n".join(
            f"{r.name}: {r.getMessage()}\n{logging.Formatter().formatException(r.exc_info)}"
            for r in recorder.records[:3]
            if r.exc_info
        )
        pytest.fail(f"{len(recorder.records)} exception(s) logged with a traceback:\n{shown}")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    yield b
    b.kill()


@pytest.fixture
def observer(broker: Broker) -> Iterator[Observer]:
    o = Observer(broker.port, [board_topic("#")]).connect()
    yield o
    o.close()


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[AgentProcess]]:
    """Agent processes started by a test; all are killed at the end."""
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.kill()
