"""`doctor`'s alert-feed lines, against real local HTTPS servers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import doctor
from agent.config import AgentConfig, load_config
from agent.doctor import Outcome
from agent.doctor.feeds import check_feeds
from tests.feed_server import (
    Certificates,
    FeedServer,
    Route,
    atom_feed,
    atom_link_entry,
    cap_alert,
    feed_server,
    make_tls,
)
from tests.support import free_port, write_config
from tests.test_doctor import assert_every_failure_says_what_to_do, config_with, lines


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_tls(tmp_path_factory.mktemp("doctor-feed-tls"))


@pytest.fixture
def server(tls: Certificates) -> Iterator[FeedServer]:
    with feed_server(tls.server) as running:
        yield running


def board_with(tmp_path: Path, *feeds: str) -> AgentConfig:
    listed = ", ".join(f'"{url}"' for url in feeds)
    return load_config(
        write_config(tmp_path, port=None, extra=f"[alerts]\nfeeds = [{listed}]\n"), env={}
    )


def test_a_feed_and_its_first_cap_link_pass(
    tmp_path: Path, server: FeedServer, tls: Certificates
) -> None:
    server.routes["/cap/1.xml"] = Route(cap_alert("kttv-1"))
    server.routes["/feed"] = Route(atom_feed(atom_link_entry("urn:e1", "/cap/1.xml")))
    [check] = check_feeds(board_with(tmp_path, server.url("/feed")), tls=tls.client)
    assert check.outcome is Outcome.PASSED
    assert check.what.startswith(f"alert feed {server.url('/feed')}: an Atom feed, 1 entry")
    assert "its first CAP link is a CAP 1.2 document" in check.what


def test_each_feed_gets_its_own_line_saying_what_is_wrong_and_what_to_do(
    tmp_path: Path, server: FeedServer, tls: Certificates
) -> None:
    server.routes["/alert.xml"] = Route(cap_alert("single"))
    server.routes["/junk"] = Route(b"<html>Bao tri</html>")
    server.routes["/bad-link"] = Route(atom_feed(atom_link_entry("urn:x", "/junk")))
    down = f"https://127.0.0.1:{free_port()}/feed"
    config = board_with(
        tmp_path, server.url("/alert.xml"), server.url("/junk"), server.url("/bad-link"), down
    )
    checks = check_feeds(config, tls=tls.client)
    report = lines(checks)
    single, junk, bad_link, unreachable = checks
    assert single.outcome is Outcome.PASSED
    assert "a CAP 1.2 document, read in" in single.what
    assert junk.outcome is Outcome.FAILED
    assert "not a CAP feed" in junk.what
    assert "open it in a browser" in junk.fix
    assert bad_link.outcome is Outcome.FAILED
    assert "its first CAP link" in bad_link.what
    assert "not a CAP 1.2 alert" in bad_link.what
    assert unreachable.outcome is Outcome.FAILED
    assert "unreachable" in unreachable.what
    assert "firewall" in unreachable.fix
    assert_every_failure_says_what_to_do(report)


def test_a_certificate_the_board_does_not_trust_is_explained(
    tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/feed"] = Route(atom_feed())
    [check] = check_feeds(board_with(tmp_path, server.url("/feed")))  # the system's CAs
    assert check.outcome is Outcome.FAILED
    assert "certificate of 127.0.0.1 is not trusted" in check.what
    assert "CA certificates" in check.fix


def test_a_board_without_feeds_has_no_feed_line(tmp_path: Path) -> None:
    assert check_feeds(load_config(write_config(tmp_path, port=None), env={})) == []


def test_doctor_runs_the_feed_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.doctor.host.clock_synced", lambda: True)
    down = f"https://127.0.0.1:{free_port()}/feed"
    path = config_with(tmp_path, port=None, extra=f'[alerts]\nfeeds = ["{down}"]\n')
    out = io.StringIO()
    assert doctor.run_doctor(path, out, probe_loader=lambda: None) == 1
    assert f"✗ alert feed {down}: unreachable" in out.getvalue()
    assert out.getvalue().endswith("1 problem(s): fix the ✗ lines, then run doctor again.\n")
