"""Shared set-up for benchmarks: a real Mosquitto, a real agent process, an observer."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from tests.support import AgentProcess, Broker, Observer, board_topic, write_config  # noqa: E402


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
    )


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def board(
    size: tuple[int, int],
    heartbeat_s: float = 30,
    extra: str = "",
    before: Callable[[Path], object] | None = None,
    keepalive_s: int = 5,
) -> Iterator[tuple[Observer, AgentProcess]]:
    """A broker, an observer and an agent; `extra`: config sections added ("{dir}" is
    the temporary folder), `before`: called with that folder before the agent starts;
    `keepalive_s`: the tests' 5 s unless a bench wants the board's own 30 s."""
    with tempfile.TemporaryDirectory(prefix="signage-bench-") as tmp:
        directory = Path(tmp)
        broker = Broker(directory)
        broker.start()
        observer = Observer(broker.port, [board_topic("#")]).connect()
        config = write_config(
            directory,
            port=broker.port,
            heartbeat_s=heartbeat_s,
            size=size,
            extra=extra.replace("{dir}", str(directory)),
            keepalive_s=keepalive_s,
        )
        if before is not None:
            before(directory)
        agent = AgentProcess(config, directory / "agent.log").start()
        try:
            observer.wait_for(lambda m: m.topic == board_topic("status"), timeout=20)
            yield observer, agent
        finally:
            agent.kill()
            observer.close()
            broker.kill()
