"""`output = "screen"` with no usable display (issue 10, silent field failures): SDL falls
back to its offscreen driver without a word. The agent must say so: one `display.error`
at start, and the heartbeat's `display.driver` names the driver. Run as a real agent
process with SDL_VIDEODRIVER unset, and set to `offscreen` (asked for: no error)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    REPO,
    AgentProcess,
    Broker,
    Observer,
    board_topic,
    event_matcher,
    wait_online,
    write_config,
)

pytestmark = pytest.mark.e2e
EVENTS, HEARTBEAT = board_topic("events"), board_topic("heartbeat")


def has_real_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or any(
        Path("/dev/dri").glob("card*")
    )


class ScreenAgent(AgentProcess):
    """An agent whose environment has no SDL_VIDEODRIVER at all unless `driver` is given
    (AgentProcess always sets `dummy`), and no X11/Wayland session."""

    def __init__(self, config: Path, log: Path, driver: str | None) -> None:
        super().__init__(config, log)
        self.driver = driver

    def start(self) -> ScreenAgent:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")
        }
        env["PYTHONUNBUFFERED"] = "1"
        if self.driver is not None:
            env["SDL_VIDEODRIVER"] = self.driver
        self.log_path.write_bytes(b"")
        with self.log_path.open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                env=env,
                cwd=REPO,
            )
        return self


@pytest.fixture
def broker_and_observer(tmp_path: Path) -> Iterator[tuple[Broker, Observer]]:
    broker = Broker(tmp_path)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    yield broker, observer
    observer.close()
    broker.kill()


def screen_config(directory: Path, port: int) -> Path:
    config = write_config(directory, port=port, heartbeat_s=1)
    text = config.read_text(encoding="utf-8").replace('output = "headless"', 'output = "screen"')
    config.write_text(text + "\n", encoding="utf-8")
    return config


def test_the_fallback_rule() -> None:
    from agent.output import sdl_fallback

    assert sdl_fallback("offscreen", None) is not None
    assert sdl_fallback("dummy", "") is not None
    assert sdl_fallback("offscreen", "offscreen") is None
    assert sdl_fallback("dummy", "x11,dummy") is None
    assert sdl_fallback("x11", None) is None
    assert sdl_fallback("KMSDRM", None) is None


@pytest.mark.skipif(has_real_display(), reason="this machine has a display SDL would use")
def test_no_usable_display_is_said_by_an_event_and_the_heartbeat(
    tmp_path: Path, broker_and_observer: tuple[Broker, Observer], agents: list[AgentProcess]
) -> None:
    broker, observer = broker_and_observer
    agent = ScreenAgent(screen_config(tmp_path, broker.port), tmp_path / "agent.log", None)
    agents.append(agent.start())
    wait_online(observer, timeout=30)
    error = observer.wait_for(event_matcher(EVENTS, "display.error"), timeout=30).json()
    assert "SDL fell back to its offscreen driver" in error["message"]
    beat = observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=30).json()
    assert beat["display"]["output"] == "screen"
    assert beat["display"]["driver"] == "offscreen"
    assert beat["errors_total"] >= 1
    assert "SDL fell back to its offscreen driver" in agent.log()


def test_an_offscreen_driver_asked_for_is_no_error(
    tmp_path: Path, broker_and_observer: tuple[Broker, Observer], agents: list[AgentProcess]
) -> None:
    broker, observer = broker_and_observer
    agent = ScreenAgent(screen_config(tmp_path, broker.port), tmp_path / "agent.log", "offscreen")
    agents.append(agent.start())
    wait_online(observer, timeout=30)
    mark = observer.mark()
    beat = observer.wait_for(lambda m: m.topic == HEARTBEAT, timeout=30, start=mark).json()
    assert beat["display"]["driver"] == "offscreen"
    assert not observer.find(event_matcher(EVENTS, "display.error"))
