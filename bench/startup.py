"""Start-up of `signage-agent run` to its first frame, from cache, with the broker down.

A board's state dir already holds a 20-item commune playlist (written by the agent's own
`ContentStore`, as the agent saves what it accepted); its `[mqtt]` names a port where
nothing listens. Each run starts `python -m agent run` afresh and measures from just
before the process is started to systemd's `READY=1` on a `NOTIFY_SOCKET` the bench
binds: the agent sends it right after its first frame is presented (agent/core.py
`start`), so no hook of the bench's own is needed. Then `python -X importtime` of the
same start (stopped after READY=1), summarised as a tree of the largest cumulative
imports.

Target: median ≤ 0.8 s over 10 runs. Usage:
    python bench/startup.py [--runs 10] [--size 1920x1080] [--tree 25] [--importtime FILE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

# Run as `python bench/startup.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import REPO, machine
from bench.importtree import parse_importtime, render_tree
from tests.support import free_port, playlist, text_item, write_config

FIRST_FRAME = '"kind":"playback.started"'
NOTICES = [
    "Lịch tiêm chủng tuần này: trạm y tế phường tiêm vắc-xin sởi cho trẻ từ 9 tháng tuổi.",
    "Mất điện khu vực tổ dân phố 5 từ 8 giờ đến 11 giờ để bảo dưỡng lưới điện.",
    "Cảnh báo ngập lụt: tránh các tuyến đường trũng thấp khi mưa lớn.",
    "Nước sinh hoạt được cấp lại từ 17 giờ. Đường Nguyễn Trãi thông xe.",
]


def cached_board(directory: Path, size: tuple[int, int]) -> Path:
    """A board's config (broker down) and a state dir holding an accepted playlist."""
    from agent.caches import ContentStore  # what the agent writes, written by its own code
    from agent.messages import Playlist

    items = [
        text_item(f"muc-{n}", f"{NOTICES[n % len(NOTICES)]} (mục {n + 1}/20)", duration_s=1)
        for n in range(20)
    ]
    ContentStore(directory / "state").save(
        "commune", Playlist.model_validate_json(playlist(1, items))
    )
    return write_config(directory, port=free_port(), size=size)


def agent_env(notify: Path, pycache: Path | None) -> dict[str, str]:
    """The agent's environment: SDL headless, systemd's socket, and bytecode cached in
    `pycache` as an installed board has it (pip compiles a wheel's modules), or, with
    None, every module compiled at each start (PYTHONDONTWRITEBYTECODE and no cache)."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", NOTIFY_SOCKET=str(notify))
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = str(notify.parent / "no-pycache")  # empty: compiled
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)  # the checkout itself stays clean
    return env


def fresh_state(directory: Path) -> None:
    """The state dir as the bench wrote it: every run starts from the same cache (a run
    adds its events to the outbox, which the next one would read)."""
    state, template = directory / "state", directory / "state.template"
    if not template.exists():
        shutil.copytree(state, template)
    shutil.rmtree(state)
    shutil.copytree(template, state)


def start_to_ready(
    config: Path,
    log: Path,
    env: dict[str, str],
    extra: list[str] | None = None,
    linger_s: float = 0.0,
) -> tuple[float, int, str]:
    """Seconds from spawning `run` to its READY=1, the process's peak RSS (kB) then, and
    its stderr."""
    fresh_state(config.parent)
    notify = Path(env["NOTIFY_SOCKET"])
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        notify.unlink(missing_ok=True)
        sock.bind(str(notify))
        sock.settimeout(30)
        with log.open("wb") as out:
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, *(extra or []), "-m", "agent", "run", "--config", str(config)],
                stdout=out,
                stderr=out,
                env=env,
                cwd=REPO,
            )
            try:
                while True:
                    message = sock.recv(4096).decode()
                    if "READY=1" in message.split("\n"):
                        elapsed = time.perf_counter() - started
                        break
                status = Path(f"/proc/{process.pid}/status").read_text()
                hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
                peak_kb = int(hwm.split()[1])
                time.sleep(linger_s)  # what it imports after the first frame, for the tree
            finally:
                process.terminate()
                process.wait(10)
    return elapsed, peak_kb, log.read_text(encoding="utf-8", errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--tree", type=int, default=25, help="lines of the import tree")
    parser.add_argument("--importtime", type=Path, help="keep the raw -X importtime output")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile every module at each start"
    )
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="signage-startup-") as tmp:
        directory = Path(tmp)
        config = cached_board(directory, (width, height))
        log = directory / "agent.log"
        pycache = None if args.no_bytecode else directory / "pycache"
        env = agent_env(directory / "notify.sock", pycache)
        start_to_ready(config, log, env)  # a warm-up: the page cache, the bytecode
        times, peaks = [], []
        for _ in range(args.runs):
            elapsed, peak_kb, _output = start_to_ready(config, log, env)
            times.append(elapsed)
            peaks.append(peak_kb)
        importtime = ["-X", "importtime"]
        _elapsed, _peak, raw = start_to_ready(config, log, env, importtime, linger_s=3)
    if args.importtime is not None:
        args.importtime.write_text(raw, encoding="utf-8")
    print(f"machine: {machine()}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    bytecode = "compiled at each start" if args.no_bytecode else "cached"
    print(
        f"start → first frame (READY=1), {args.size} headless, broker down, cached playlist, "
        f"bytecode {bytecode}:"
    )
    print(
        f"  {args.runs} runs: median {statistics.median(times):.3f} s, "
        f"max {max(times):.3f} s, min {min(times):.3f} s   (target: median ≤ 0.8 s)"
    )
    print(f"  runs: {' '.join(f'{t:.3f}' for t in times)}")
    print(f"  peak RSS at the first frame: median {statistics.median(peaks) / 1024:.1f} MB")
    # The agent logs the first frame's `playback.started` while it presents it; stderr is
    # written in order (importtime's lines unbuffered, logging's line by line).
    before, _, after = raw.partition(FIRST_FRAME)
    print("imports before the first frame (python -X importtime), largest cumulative:")
    print(render_tree(parse_importtime(before), limit=args.tree))
    later = parse_importtime(after)
    print(f"imported in the 3 s after it: {len(later)} top-level imports")
    print(render_tree(later, limit=12, depth=2))


if __name__ == "__main__":
    main()
