from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from tests.support import AgentProcess, Broker, Observer, board_topic


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
