"""The command line run as on an OS without POSIX-only features and without a system
time-zone database (a content manager's Windows laptop), on this Linux machine.

A subprocess starts with a prelude that removes what Windows lacks before any of the
agent is imported: the `os` open flags and calls, the signals, the modules (`fcntl`,
`pwd`, …) and `select.poll`; PYTHONTZPATH names an empty folder and TZ is unset, so
`zoneinfo` finds no system database and must use the `tzdata` package (as on Windows);
output is in cp1252, as Windows writes into a pipe.
`tzdata=False` removes that package too: the command must then say so in one line.

`posix_removed` does the same inside the test process (for in-process tests, with
pytest's monkeypatch, undone after the test); what modules looked up when they were
imported is out of its reach, which is what the subprocess is for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO

OS_NAMES = (
    "O_DIRECTORY",
    "O_NOFOLLOW",
    "O_NONBLOCK",
    "O_CLOEXEC",
    "O_NOCTTY",
    "fork",
    "forkpty",
    "geteuid",
    "getuid",
    "getgid",
    "getegid",
    "getgroups",
    "getloadavg",
    "statvfs",
    "pipe2",
    "fchmod",
    "fchown",
    "chown",
    "mkfifo",
    "killpg",
    "setsid",
    "uname",
    "sync",
    "openpty",
    "ttyname",
    "sched_getaffinity",
)
SIGNAL_NAMES = ("SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGPIPE", "SIGQUIT", "SIGCHLD")
MODULES = ("fcntl", "pwd", "grp", "termios", "resource", "syslog")

PRELUDE = f"""\
import os, select, signal, socket, sys
for _name in {OS_NAMES!r}:
    if hasattr(os, _name):
        delattr(os, _name)
for _name in {SIGNAL_NAMES!r}:
    if hasattr(signal, _name):
        delattr(signal, _name)
for _name in ("poll", "epoll"):
    if hasattr(select, _name):
        delattr(select, _name)
if hasattr(socket, "AF_UNIX"):
    delattr(socket, "AF_UNIX")
for _name in {MODULES!r}:
    sys.modules[_name] = None
if sys.argv[1] == "no-tzdata":
    sys.modules["tzdata"] = None
sys.argv = ["signage-agent", *sys.argv[2:]]
import runpy
runpy.run_module("agent", run_name="__main__", alter_sys=True)
"""


def no_posix_env(empty_tz_dir: Path) -> dict[str, str]:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env["PYTHONTZPATH"] = str(empty_tz_dir)
    # What Windows gives output into a pipe or a file: the ANSI code page, no 'đ'.
    env["PYTHONIOENCODING"] = "cp1252"
    for name in ("TZ", "NOTIFY_SOCKET", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


def cli_without_posix(
    *args: str, tz_dir: Path, tzdata: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`signage-agent ARGS` with the POSIX-only features and the system time zones gone
    (and the `tzdata` package too when `tzdata` is False)."""
    tz_dir.mkdir(parents=True, exist_ok=True)
    mode = "tzdata" if tzdata else "no-tzdata"
    return subprocess.run(
        [sys.executable, "-c", PRELUDE, mode, *args],
        capture_output=True,
        encoding="cp1252",
        errors="replace",  # a byte cp1252 lacks must fail an assertion, not the harness
        cwd=REPO,
        env=no_posix_env(tz_dir),
        timeout=timeout,
        check=False,
    )


@contextmanager
def posix_removed(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Iterator[None]:
    """This process without POSIX-only features and with no system time zones (the
    `tzdata` package answers instead); `monkeypatch` puts the features back after the
    test, the time-zone path is put back on leaving. `folder`: for the empty zone path."""
    import select
    import signal

    for name in OS_NAMES:
        monkeypatch.delattr(os, name, raising=False)
    for name in SIGNAL_NAMES:
        if name != "SIGALRM":  # pytest-timeout's own, in this process
            monkeypatch.delattr(signal, name, raising=False)
    monkeypatch.delattr(select, "poll", raising=False)
    for name in MODULES:
        monkeypatch.setitem(sys.modules, name, None)
    empty = folder / "no-zoneinfo"
    empty.mkdir(exist_ok=True)
    zoneinfo.reset_tzpath(to=[str(empty)])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


def with_and_without_posix() -> Any:
    """A fixture `system` for a test module (`system = with_and_without_posix()`): each
    test that takes it runs twice, here and as on Windows (`posix_removed`)."""

    @pytest.fixture(name="system", params=["posix", "without POSIX"])
    def system(
        request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> Iterator[None]:
        if request.param == "posix":
            yield
            return
        with posix_removed(monkeypatch, tmp_path):
            yield

    return system
