"""Count the hops of two walks through the agent (docs/architecture.md, issue 11).

Method: the core runs in-process (injected clock, headless output, no broker: events go
into the outbox), and `sys.setprofile` records every call of a function defined in the
project's own files while one walk runs. A call into `display_layouts` or
`firmware_bridge` counts once (the renderer is one room; its drawing is not wiring).
Reported per walk: project calls; file hops (calls whose callee is in another file than
its caller); core re-entries (calls into agent/core.py from another file: a part
calling back into the core). The walks:

- playlist: `handle(Received(content))`, then the `tick` that emits `playback.started`;
- alert: `handle(Received(severe alert))` + `tick` (takeover, `playback.started` of
  `alert_full`), then `handle(Received(cancel))` + `tick` (the content comes back).

Run from a checkout: `python -m bench.hops` (works on the code before and after the split).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from agent.link_messages import Received
from agent.output import HeadlessOutput
from tests.support import COMMUNE_TOPIC, playlist, text_item
from tests.test_core import ALERT_TOPIC, FakeClock, alert_payload, make_config

ROOT = Path(__file__).resolve().parent.parent
LEAVES = ("display_layouts", "firmware_bridge")


def _room(filename: str) -> str | None:
    try:
        rel = Path(filename).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return None
    if rel.startswith(("agent/", "signage_base/")):
        return rel
    for leaf in LEAVES:
        if rel.startswith(leaf + "/"):
            return leaf
    return None


def count(walk: Callable[[], None]) -> dict[str, int]:
    calls = hops = reentries = 0
    stack: list[str | None] = []

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal calls, hops, reentries
        if event == "call":
            room = _room(frame.f_code.co_filename)
            caller = next((r for r in reversed(stack) if r is not None), None)
            counted = room is not None and not (room in LEAVES and caller == room)
            if counted:
                calls += 1
                if caller is not None and room != caller:
                    hops += 1
                    if room == "agent/core.py":
                        reentries += 1
            stack.append(room if counted or room in LEAVES else None)
        elif event == "return" and stack:
            stack.pop()

    sys.setprofile(profile)
    try:
        walk()
    finally:
        sys.setprofile(None)
    return {"calls": calls, "file hops": hops, "core re-entries": reentries}


def main() -> None:
    from agent.core import Agent

    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock()
        agent = Agent(make_config(Path(tmp)), clock=clock, output=HeadlessOutput((320, 180)))
        agent.link = None
        agent.start()
        clock.advance(1)
        content = playlist(1, [text_item("a", "Thông báo")])

        def playlist_walk() -> None:
            agent.handle(Received(COMMUNE_TOPIC, content, retained=False))
            agent.tick()

        print("playlist → playback.started:", count(playlist_walk))
        clock.advance(1)

        def takeover() -> None:
            agent.handle(Received(ALERT_TOPIC, alert_payload(), retained=False))
            agent.tick()

        cancel = alert_payload(msg_type="cancel", sent="2026-11-27T09:00:30+07:00")

        def give_back() -> None:
            agent.handle(Received(ALERT_TOPIC, cancel, retained=False))
            agent.tick()

        print("severe alert → takeover:", count(takeover))
        clock.advance(30)
        print("cancel → content back:", count(give_back))
        agent.fetcher.stop()
        agent.seq.close()


if __name__ == "__main__":
    main()
