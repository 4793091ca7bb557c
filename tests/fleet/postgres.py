"""A real PostgreSQL server for the fleet's store tests, started by the test session.

Debian's `postgresql` package (installed by ./scripts/test) gives
/usr/lib/postgresql/<version>/bin/initdb; the cluster is made in a temporary folder owned
by the `postgres` user (the server refuses to run as root), listens on a free loopback
port with its socket in that folder, and is stopped and removed at the session's end.
Each test gets a database of its own (`new_database`), dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support import free_port


def initdb_binary() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1] if found else None


class PostgresServer:
    """One throwaway cluster: `start()`, `new_database()`, `drop_database()`, `stop()`;
    `stop_server()` and `start_server()` take it away and bring it back."""

    def __init__(self, initdb: Path) -> None:
        self.bin = initdb.parent
        self.port = free_port()
        # Not pytest's tmp_path: its parents are private to root, and the server runs as
        # `postgres`, which must reach its data folder.
        self.directory = Path(tempfile.mkdtemp(prefix="fleet-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)
        # As root, the server and initdb run as `postgres`; as anyone else, as themselves.
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)

    def start(self) -> None:
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "--pgdata",
                str(self.data),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # a throwaway cluster: no need to wait for the disk
            ],
            check=True,
            capture_output=True,
            cwd=self.directory,
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
        )
        self.start_server()

    def start_server(self) -> None:
        """The server on the cluster made by `start()` (again, after `stop_server()`)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.directory),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=log,
                stderr=log,
                cwd=self.directory,
                user=self._user,
                group=self._user,
                extra_groups=[] if self._user else None,
            )
        self._wait_ready(30)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text(errors='replace')}")
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """The `--db` URL of a database on this server."""
        return self._dsn(database)

    def new_database(self) -> str:
        name = f"fleet_{next(self._names)}"
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.directory, ignore_errors=True)

    def stop_server(self) -> None:
        """Stops the server and keeps its data: a database that goes away for a while."""
        if self.process is not None:
            # SIGINT: PostgreSQL's "fast" shutdown, which ends the clients' sessions (the
            # "smart" one, SIGTERM, would wait for the tests' pooled connections).
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None
