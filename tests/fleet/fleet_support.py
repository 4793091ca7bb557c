"""`signage-fleet serve` as a real process for end-to-end tests (any helper's).

    fleet = FleetProcess(tmp_path, broker.port).start()   # waits for the web port
    fleet.wait_subscribed()                                # its MQTT subscriptions stand
    with fleet.store() as store: ...                       # read what it stored
    assert fleet.terminate() == 0                          # SIGTERM; clean exit
    fleet.start()                                          # again, same database and id

The log is appended across restarts; `wait_log` looks only at what came after the last
`start()` (or a `mark()`). `kill()` (also at teardown) fails the test when the fleet
logged a traceback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fleet.store.db import Store
from tests.support import REPO, ROOT, TRACEBACK, free_port, wait_until


class FleetProcess:
    def __init__(
        self,
        directory: Path,
        broker_port: int,
        *,
        db_url: str | None = None,
        root: str = ROOT,
        args: list[str] | None = None,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.broker_port = broker_port
        self.http_port = free_port()
        self.db_url = db_url or f"sqlite:///{directory / 'fleet.db'}"
        self.root = root
        self.args = args or []
        # Stable across this fleet's restarts (the broker keeps its session), distinct
        # from any other fleet process on the same broker.
        self.client_id = f"signage-fleet-test-{self.http_port}"
        self.log_path = directory / "fleet.log"
        self.log_path.write_bytes(b"")
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        self.allow_traceback = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "fleet.cli",
            "serve",
            "--broker",
            f"127.0.0.1:{self.broker_port}",
            "--db",
            self.db_url,
            "--listen",
            f"127.0.0.1:{self.http_port}",
            "--root",
            self.root,
            "--client-id",
            self.client_id,
            *self.args,
        ]

    def start(self, timeout: float = 30) -> FleetProcess:
        self.mark()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=log, env=env, cwd=REPO
            )
        wait_until(self._listening, timeout, f"signage-fleet serving on port {self.http_port}")
        return self

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"signage-fleet exited ({self.process.returncode}):\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2):
                return True
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def mark(self) -> None:
        """From now on, `wait_log` looks only at what the fleet logs after this."""
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0

    def wait_log(self, needle: str, timeout: float = 15) -> str:
        def found() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"signage-fleet exited:\n{self.log()}")
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                return needle in log.read().decode("utf-8", errors="replace")

        wait_until(found, timeout, f"{needle!r} in the fleet's log")
        return self.log()

    def wait_subscribed(self, timeout: float = 15) -> None:
        self.wait_log("subscribed to", timeout)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The fleet's database, opened by the test (no migration: the fleet did that)."""
        store = Store(self.db_url)
        try:
            yield store
        finally:
            store.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 20) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.check_no_traceback()
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.check_no_traceback()

    def check_no_traceback(self) -> None:
        log = self.log() if self.log_path.exists() else ""
        at = log.find(TRACEBACK)
        if at >= 0 and not self.allow_traceback:
            excerpt = log[max(0, at - 600) : at + 2400]
            raise AssertionError(f"signage-fleet logged a traceback ({self.log_path}):\n{excerpt}")
