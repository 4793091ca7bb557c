"""The renderer alone: frame times per built-in layout, and CPU while a board shows one.

1. Frame time of `Renderer.draw` for every built-in layout at `--size` (default 1920×1080;
   3840x2160 for a 4K board) and 128×32, with
   the text changed on every frame (a new item: no fitting cache helps), median and p99.
2. Frame time of `Renderer.animate` for headline's running ticker (what each frame
   costs while it scrolls), and of `Renderer.step` (the agent's loop since issue 18:
   the same frame, the scene known unchanged, the band's pixels moved in place).
3. CPU share over `--seconds` of a loop that does what the agent's core does between
   scene changes: sleep until `refresh_at` (at most 1 s), then `animate`. Once for a
   static layout (target ≤ 1 % of one core) and once for headline with a running ticker
   at 30 fps (target ≤ 10 % of one core). Headless: presenting the frame to a screen
   is not included.

Usage: python bench/render.py [--frames 200] [--seconds 10] [--size 3840x2160]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from agent.core import IDLE_WAIT_S  # noqa: E402
from bench._harness import machine, percentile  # noqa: E402
from display_layouts import samples  # noqa: E402
from display_layouts.catalog import BUILTIN_LAYOUTS  # noqa: E402
from display_layouts.image_formats import is_data_uri  # noqa: E402
from display_layouts.render import Renderer, Scene  # noqa: E402

LED_SIZE = (128, 32)
MAX_WAIT_S = IDLE_WAIT_S  # the core wakes at least this often (without a watchdog)


def varied(fields: dict[str, str], n: int) -> dict[str, str]:
    """The sample notice with a counter in each text: a new item every frame."""
    return {k: v if is_data_uri(v) else f"{v} {n}" for k, v in fields.items()}


def timed(action: Callable[[], object], frames: int) -> list[float]:
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def draw_times(layout: str, size: tuple[int, int], frames: int) -> list[float]:
    renderer = Renderer(size)
    surface = pygame.Surface(size)
    base = samples.text_notice(layout)
    counter = iter(range(10**9))

    def draw() -> None:
        n = next(counter)
        fields = varied(base, n) if base else {}
        renderer.draw(surface, Scene(layout, fields, f"Bảng tin {n}", samples.NOW))

    draw()  # fonts loaded, images decoded: what a running board already has
    return timed(draw, frames)


def animate_times(frames: int, size: tuple[int, int]) -> list[float]:
    renderer = Renderer(size)
    surface = pygame.Surface(size)
    scene = Scene("headline", samples.notices()["headline"], "B", samples.NOW, samples.NOW)
    renderer.draw(surface, scene)
    step = iter(range(1, 10**9))

    def animate() -> None:
        now = samples.NOW + timedelta(seconds=next(step) / 30)
        renderer.animate(surface, Scene(scene.layout, scene.fields, "B", now, samples.NOW))

    return timed(animate, frames)


def step_times(frames: int, size: tuple[int, int] = (1920, 1080)) -> list[float]:
    renderer = Renderer(size)
    surface = pygame.Surface(size)
    scene = Scene("headline", samples.text_notice("headline"), "B", samples.NOW, samples.NOW)
    renderer.draw(surface, scene)
    step = iter(range(1, 10**9))

    def stepped() -> None:
        renderer.step(surface, samples.NOW + timedelta(seconds=next(step) / 30))

    return timed(stepped, frames)


def cpu_share(
    layout: str, fields: dict[str, str], seconds: float, size: tuple[int, int] = (1920, 1080)
) -> tuple[float, int]:
    """(share of one core, frames animated) for a loop like the core's, on real time."""
    renderer = Renderer(size, fps=30)
    surface = pygame.Surface(size)
    zone = samples.NOW.tzinfo
    started = datetime.now(zone)
    renderer.draw(surface, Scene(layout, fields, "B", started, started))
    frames = 0
    cpu_before, wall_before = time.process_time(), time.monotonic()
    while time.monotonic() - wall_before < seconds:
        now = datetime.now(zone)
        scene = Scene(layout, fields, "B", now, started)
        due = renderer.refresh_at(scene)
        wait = MAX_WAIT_S if due is None else (due - now).total_seconds()
        time.sleep(max(0.0, min(wait, MAX_WAIT_S)))
        scene = Scene(layout, fields, "B", datetime.now(zone), started)
        if renderer.animate(surface, scene):
            frames += 1
    cpu = time.process_time() - cpu_before
    return cpu / (time.monotonic() - wall_before), frames


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--size", default="1920x1080", help="WxH of the LCD board")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.lower().split("x"))
    size = (width, height)
    print(f"machine: {machine()}")
    print(f"Renderer.draw, text changed every frame, {args.frames} frames each:")
    print(f"  {'layout':16} {'size':>9} {'median':>9} {'p99':>9}")
    for drawn in (size, LED_SIZE):
        for layout in BUILTIN_LAYOUTS:
            if layout == "video":  # its notice is a clip: bench/video.py measures it
                continue
            times = draw_times(layout, drawn, args.frames)
            median, p99 = percentile(times, 50), percentile(times, 99)
            label = f"{drawn[0]}x{drawn[1]}"
            print(f"  {layout:16} {label:>9} {median:6.2f} ms {p99:6.2f} ms")
    times = animate_times(args.frames, size)
    print(
        f"Renderer.animate, headline ticker {args.size}: median {percentile(times, 50):.2f} ms, "
        f"p99 {percentile(times, 99):.2f} ms"
    )
    times = step_times(args.frames, size)
    print(
        f"Renderer.step, headline ticker {args.size}: median {percentile(times, 50):.2f} ms, "
        f"p99 {percentile(times, 99):.2f} ms"
    )
    static, _ = cpu_share(
        "fullscreen_text", samples.text_notice("fullscreen_text"), args.seconds, size
    )
    print(
        f"CPU, fullscreen_text (static) {args.size} for {args.seconds:g} s: "
        f"{static:.2%} of one core"
        "   (target ≤ 1 %)"
    )
    ticker, frames = cpu_share("headline", samples.text_notice("headline"), args.seconds, size)
    print(
        f"CPU, headline {args.size} with a running ticker at 30 fps for {args.seconds:g} s: "
        f"{ticker:.2%} of one core, {frames / args.seconds:.1f} frames/s   (target ≤ 10 %)"
    )


if __name__ == "__main__":
    main()
