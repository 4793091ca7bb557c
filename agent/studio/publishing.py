"""Handing a playlist to `signage-fleet publish` (CONTRACT §9), the city's own publisher.

It runs as a child process of the same Python (`python -m fleet.cli publish`), not
imported: `agent` never imports `fleet`, not even inside a function (tests/test_layers.py:
a board must not be one edit away from loading the city's side). The studio is one more
user of that command, with its checks, signing and topic table unchanged.

The studio passes `--bump`: a content manager publishing again expects boards to take
it, so the version is raised above the one the broker holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from agent.studio import problems_vi

# signage-fleet publish's exit statuses (fleet/defaults.py): 69 the broker cannot be
# reached or refused (the set-up's to fix); the others are the playlist's or target's.
_EX_UNAVAILABLE = 69
# Connecting, asking the broker for the held version, publishing: seconds, not minutes.
PUBLISH_TIMEOUT_S = 60.0
_MAX_SAID_CHARS = 4000


class PublishRefused(Exception):
    def __init__(self, status: int, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.status = status
        self.problems = [problems_vi.problem("$", line) for line in lines]


@dataclass
class Publisher:
    broker: str  # HOST:PORT, checked when the studio started
    key: Path | None = None
    layouts_dir: Path | None = None
    # One publish at a time: two --bump runs at once could pick the same version.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def command(self, path: Path, to: str) -> list[str]:
        argv = [sys.executable, "-m", "fleet.cli", "publish", "playlist", str(path)]
        argv += ["--broker", self.broker, f"--to={to}", "--bump"]
        if self.key is not None:
            argv.append(f"--key={self.key.resolve()}")
        if self.layouts_dir is not None:
            argv.append(f"--layouts-dir={self.layouts_dir.resolve()}")
        return argv

    def publish(self, document: dict[str, object], to: str) -> str:
        """What `signage-fleet publish playlist FILE --to TO --bump` printed; raises
        PublishRefused with its error lines when it failed."""
        data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        with self._lock, tempfile.TemporaryDirectory(prefix="studio-publish-") as folder:
            path = Path(folder) / "playlist.json"
            path.write_bytes(data)
            try:
                done = subprocess.run(
                    self.command(path, to),
                    capture_output=True,
                    timeout=PUBLISH_TIMEOUT_S,
                    check=False,
                    env=_child_env(),
                )
            except subprocess.TimeoutExpired:
                raise PublishRefused(
                    504, [f"signage-fleet publish took more than {PUBLISH_TIMEOUT_S:g} s"]
                ) from None
            said = done.stdout.decode("utf-8", "replace").strip()[:_MAX_SAID_CHARS]
            errors = done.stderr.decode("utf-8", "replace")
        if done.returncode == 0:
            return said
        # Its lines name the file it read: a temporary one the page knows nothing of.
        lines = [line.removeprefix(f"{path}: ") for line in errors.splitlines() if line.strip()][
            :20
        ]
        status = 502 if done.returncode == _EX_UNAVAILABLE else 400
        raise PublishRefused(
            status, lines or [f"signage-fleet publish failed (exit status {done.returncode})"]
        )


def _child_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    # The child imports fleet from where this agent came from (a source checkout run
    # from its folder has it on sys.path only through the current directory).
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    env.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    return env
