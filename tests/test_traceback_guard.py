"""The safety net itself (tests/conftest.py `fail_on_log_exception`, tests/support.py
`AgentProcess.check_no_traceback`): a test in which the agent logs a traceback fails."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, AgentProcess

pytest_plugins = ["pytester"]


def finished_agent(tmp_path: Path, log: str) -> AgentProcess:
    agent = AgentProcess(tmp_path / "agent.toml", tmp_path / "agent.log")
    agent.log_path.write_text(log, encoding="utf-8")
    agent.process = subprocess.Popen([sys.executable, "-c", "pass"])
    agent.process.wait(30)
    return agent


def test_killing_an_agent_that_logged_a_traceback_fails(tmp_path: Path) -> None:
    agent = finished_agent(
        tmp_path,
        "12:00 INFO starting\n12:01 ERROR agent.core: error handling Received\n"
        'Traceback (most recent call last):\n  File "agent/core.py", line 1\nValueError: x\n',
    )
    with pytest.raises(AssertionError, match="the agent logged a traceback"):
        agent.kill()
    agent.allow_traceback = True
    agent.kill()


def test_a_clean_agent_log_passes(tmp_path: Path) -> None:
    finished_agent(tmp_path, "12:00 INFO starting\n12:01 WARNING rejected x: $: bad\n").kill()


@pytest.mark.allow_traceback
def test_the_marker_lets_a_test_log_an_exception_on_purpose(tmp_path: Path) -> None:
    try:
        raise RuntimeError("on purpose")
    except RuntimeError:
        logging.getLogger("agent.core").exception("error handling Received")
    agent = finished_agent(tmp_path, "Traceback (most recent call last):\n")
    agent.kill()  # the marker covers agent processes too


def test_an_in_process_exception_fails_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the copied conftest imports tests.support
    pytester.makeconftest((REPO / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_logs="""
import logging

def test_swallows_an_exception():
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger("agent.core").exception("error handling Received")

def test_logs_an_error_without_traceback():
    logging.getLogger("agent.core").error("cannot save: disk full")
"""
    )
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    outcome.assert_outcomes(passed=2, errors=1)
    outcome.stdout.fnmatch_lines(
        ["*1 exception(s) logged with a traceback*", "*ZeroDivisionError*"]
    )
