"""What `signage-agent run` has imported by its first frame (issue 18: a Pi's RAM and
start-up time): every optional subsystem is loaded only when its section configures it.

Each case starts the real `run` in a fresh interpreter (agent.cli.main, the board's own
path) with systemd's READY=1 — sent right after the first frame — replaced by a print
of `sys.modules` and an exit, so what is seen is exactly what the first frame needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, free_port, write_config
from tests.trust_signer import SigningKey

PROBE = """
import json, os, sys
import agent.sdnotify
def ready(self, status):
    # An entry of None is an import refused (agent/lean_pygame.py), not a module.
    print(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)), flush=True)
    os._exit(0)
agent.sdnotify.Notifier.ready = ready
from agent.cli import main
main(["run", "--config", sys.argv[1]])
"""

# What a board with none of the optional sections must not load, by the section (or the
# payload) that would need it.
OPTIONAL = {
    "nacl": "[trust]",
    "cryptography": "the keys, sign and doctor commands (a board verifies with PyNaCl)",
    "defusedxml": "a CAP payload or [alerts] feeds",
    "agent.cap": "a CAP payload or [alerts] feeds",
    "agent.alert_feeds": "[alerts] feeds",
    "firmware_bridge.output": "[serial] with output = serial",
    "serial": "[serial] with output = serial",
    "av": "a clip in a playlist",
    "pygame.mixer": "a clip with [display] audio = true",
    "agent.video": "a clip in a playlist",
    "watchdog": "[inbox]",
    "agent.inbox.watcher": "[inbox]",
    "agent.inbox.inotify": "[inbox]",
    "agent.doctor": "the doctor command",
    "psutil": "the doctor command (the heartbeat reads /proc: agent/system_figures.py)",
    "agent.studio": "the studio command",
    "agent.preview": "the preview command",
    "fastapi": "the fleet service, never a board",
}


def loaded(modules: list[str], prefix: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for name in modules)


def first_frame_modules(config: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, SDL_VIDEODRIVER="dummy"),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert lines, result.stdout + result.stderr
    modules: list[str] = json.loads(lines[-1])
    return modules


def test_a_minimal_board_loads_no_optional_subsystem(tmp_path: Path) -> None:
    """A board with a broker (nobody listening) and none of the optional sections."""
    modules = first_frame_modules(write_config(tmp_path, port=free_port()))
    assert "agent.core" in modules  # the probe saw the agent
    assert "paho.mqtt.client" in modules  # [mqtt] is configured: the link is built
    found = {name: why for name, why in OPTIONAL.items() if loaded(modules, name)}
    assert found == {}, f"loaded without what needs them: {found}"


def test_each_optional_section_loads_its_subsystem(tmp_path: Path) -> None:
    """The same probe sees the subsystems when their sections are there: it can tell."""
    key = SigningKey("alerts-2026").write_jwk(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    extra = (
        f'[inbox]\ndir = "{inbox}"\n'
        '[alerts]\nfeeds = ["https://canhbao.example.vn/cap.atom"]\n'
        f'[trust]\n[[trust.keys]]\nkid = "alerts-2026"\npublic_key = "{key}"\n'
        'may_sign = ["alert"]\n'
    )
    modules = first_frame_modules(write_config(tmp_path, port=free_port(), extra=extra))
    for name in ("nacl", "agent.alert_feeds", "agent.inbox.watcher"):
        assert loaded(modules, name), name
    assert not loaded(modules, "cryptography"), "a board verifies with PyNaCl (2.2 MB, not 8.8)"


SOUND_PROBE = """
import json, sys
from agent.lean_pygame import import_pygame_without_sound
import_pygame_without_sound()
import pygame
before = sys.modules.get("pygame.mixer") is not None
pygame.quit()  # what pygame runs at exit: it imports each of its modules to quit it
at_exit = sys.modules.get("pygame.mixer") is not None
from agent.video.audio import open_mixer
print(json.dumps([before, at_exit, open_mixer() is not None, type(pygame.mixer).__name__]))
"""


def test_run_imports_pygame_without_sound_and_clip_audio_still_opens_the_mixer() -> None:
    """`run` leaves pygame.mixer out (2.7 MB), even from pygame's quit at exit; a board
    with [display] audio gets the real mixer when a clip's sound opens it (SDL's dummy
    audio driver here)."""
    pytest.importorskip("av")
    result = subprocess.run(
        [sys.executable, "-c", SOUND_PROBE],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy"),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [False, False, True, "module"]
