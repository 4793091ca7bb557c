"""`signage-agent demo`: the whole agent on a bundled sample config, no broker needed."""

from __future__ import annotations

import logging
import os
import select
import shutil
import signal
import tempfile
import threading
from importlib import resources
from pathlib import Path

from agent.config import AgentConfig, load_config, validate_config
from agent.output import display_available

log = logging.getLogger(__name__)


def missing_for_demo() -> str | None:
    """Why this system cannot run the demo, or None. Its content comes through the local
    inbox, which lists its folder through a directory fd and waits on `poll` and a wake-up
    pipe: POSIX calls Windows does not have (preview and validate need none of them)."""
    needed = {
        "os.O_DIRECTORY": hasattr(os, "O_DIRECTORY"),
        "os.pipe2": hasattr(os, "pipe2"),
        "select.poll": hasattr(select, "poll"),
    }
    missing = [name for name, present in needed.items() if not present]
    if not missing:
        return None
    return (
        f"the demo's local inbox needs {', '.join(missing)}, which this system lacks; "
        "`preview` and `validate` work here"
    )


def prepare_demo(state_dir: Path | None) -> tuple[AgentConfig, Path]:
    """The demo config and the file each headless frame is written to.

    The state dir is temporary unless given; its inbox is filled with the sample content,
    so the content reaches the board the way a USB-stick update does.
    """
    samples = resources.files("agent") / "samples"
    base = (state_dir or Path(tempfile.mkdtemp(prefix="signage-demo-"))).resolve()
    inbox = base / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for sample in (samples / "inbox").iterdir():
        if sample.name.endswith(".json"):
            with resources.as_file(sample) as source:
                shutil.copyfile(source, inbox / sample.name)
    with resources.as_file(samples / "demo.toml") as path:
        data = load_config(path, env={}).model_dump()
    data["storage"] = {"state_dir": base / "state"}
    data["inbox"] = {"dir": inbox}
    frame_file = base / "frame.png"
    if display_available():
        data["display"].update(output="screen", width=1280, height=720)
        log.info("display found: showing the demo in a window")
    else:
        log.info("no display: rendering headless; each new frame is written to %s", frame_file)
    log.info("demo state in %s; drop playlist files into %s to show them", base, inbox)
    return validate_config(data, "demo config", {}), frame_file


def stop_after(seconds: float) -> None:
    """Stop the demo cleanly after `seconds` (the same path as Ctrl-C or SIGTERM).

    Raised in this process, not sent with `os.kill`: on Windows `os.kill` with SIGTERM
    ends the process at once, while `raise_signal` runs the installed handler."""
    timer = threading.Timer(seconds, signal.raise_signal, args=(signal.SIGTERM,))
    timer.daemon = True
    timer.start()
