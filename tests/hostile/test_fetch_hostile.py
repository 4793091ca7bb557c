"""The image fetcher against hostile and broken servers (table-driven, real local servers).

Each case asserts the three things a board needs: the fetcher lives, other images still
arrive within their deadline, and one clear failure says why.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from agent.assets import (
    AssetCache,
    AssetFailure,
    AssetFetcher,
    AssetReady,
    FetchSettings,
    download,
)
from agent.messages import ImageRef
from tests.hostile.hostile_http import (
    HostileServer,
    bomb_png,
    corrupt_png,
    hostile_server,
    huge_png,
    truncated_png,
    valid_png,
)

DEADLINE_S = 4.0  # total per download; a good one takes milliseconds


def make_fetcher(cache: AssetCache, reports: queue.Queue[Any], **settings: Any) -> AssetFetcher:
    values: dict[str, Any] = {
        "connect_timeout_s": 2.0,
        "first_byte_timeout_s": 2.0,
        "deadline_s": DEADLINE_S,
        "workers": 3,
        "max_bytes": 1024 * 1024,
    }
    values.update(settings)
    return AssetFetcher(
        cache, reports, settings=FetchSettings(**values), retry_min_s=30, retry_max_s=60
    )


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with hostile_server(drip_interval_s=0.5) as server:
        yield server


@pytest.fixture
def good() -> Iterator[HostileServer]:
    """Another, well-behaved server: the images that must keep arriving."""
    with hostile_server() as server:
        yield server


@pytest.fixture
def reports() -> queue.Queue[Any]:
    return queue.Queue()


@pytest.fixture
def fetcher(tmp_path: Path, reports: queue.Queue[Any]) -> Iterator[AssetFetcher]:
    f = make_fetcher(AssetCache(tmp_path / "assets"), reports)
    yield f
    f.stop()


def ref(url: str, data: bytes) -> ImageRef:
    return ImageRef(url=url, sha256=hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # on the hostile server ("{port}" is replaced; absolute URLs are kept)
    body: bytes
    why: str  # what the failure must say


BODY = valid_png((200, 10, 10))
CASES = [
    Case("drip", "/drip/x", BODY, f"within the total deadline of {DEADLINE_S:g} s"),
    Case("drip-headers", "/drip-headers/x", BODY, "within the total deadline"),
    Case("silent", "/silent", BODY, "no answer within 2 s"),
    Case("malformed-status", "/bad-status", BODY, "malformed status line"),
    Case("broken-chunked", "/bad-chunked", BODY, "chunked"),
    Case("150-headers", "/many-headers/x", BODY, "more than 100 headers"),
    Case("redirect-away", "/redirect-away/x", BODY, "redirect to another host"),
    Case("reset", "/reset", BODY, "closed the connection"),
    Case("non-numeric-port", "http://127.0.0.1:http/x.png", BODY, "bad URL: the port"),
    Case("broken-ipv6", "http://[::1/x.png", BODY, "bad URL: broken IPv6"),
    Case("huge-dimensions", "/files/x", huge_png(), "30000×30000"),
    Case("corrupt-png", "/files/x", corrupt_png(), "damaged"),
    Case("decompression-bomb", "/files/x", bomb_png(), "4000×4000"),
    Case("truncated-png", "/files/x", truncated_png(), "truncated"),
]


def url_for(server: HostileServer, path: str) -> str:
    return path if "://" in path else server.url(path)


def collect(
    reports: queue.Queue[Any], done: Callable[[list[Any]], bool], timeout: float
) -> list[Any]:
    """Reports in order until `done` says enough (or the timeout says what was seen)."""
    seen: list[Any] = []
    end = time.monotonic() + timeout
    while not done(seen):
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out; reports so far: {seen}")
        try:
            seen.append(reports.get(timeout=remaining))
        except queue.Empty:
            continue
    return seen


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_server_costs_one_clear_failure_and_nothing_else(
    case: Case,
    hostile: HostileServer,
    good: HostileServer,
    fetcher: AssetFetcher,
    reports: queue.Queue[Any],
) -> None:
    hostile.files["x"] = case.body
    hostile.other_port = good.port
    good.files["x"] = case.body  # where /redirect-away points: it would verify there
    bad = ref(url_for(hostile, case.path), case.body)
    images = [valid_png((i * 40, 90, 200), (10 + i, 8)) for i in range(3)]
    for index, data in enumerate(images):
        good.files[f"g{index}"] = data
    first = ref(good.url("/files/g0"), images[0])

    started = time.monotonic()
    fetcher.want({bad.sha256: (bad, {"xau"}), first.sha256: (first, {"tot-0"})})
    ready = AssetReady(first.sha256)
    seen = collect(
        reports,
        lambda s: ready in s and any(isinstance(r, AssetFailure) for r in s),
        timeout=4 * DEADLINE_S,
    )
    failures = [r for r in seen if isinstance(r, AssetFailure)]
    assert len(failures) == 1, seen
    failure = failures[0]
    if case.name in _SLOW:  # the other server's image did not wait for this one
        assert seen.index(ready) < seen.index(failure), seen
    assert failure.item_ids == ("xau",)
    assert failure.url == bad.url
    assert case.why in failure.message, failure.message
    assert "Traceback" not in failure.message
    assert len(failure.message) < 300
    assert fetcher.cache.get(bad) is None  # never shown with a hole
    assert time.monotonic() - started < 3 * DEADLINE_S

    # The fetcher lives: later images still arrive.
    more = {
        r.sha256: (r, {f"tot-{i}"})
        for i, r in enumerate(ref(good.url(f"/files/g{i}"), images[i]) for i in range(3))
    }
    fetcher.want({bad.sha256: (bad, {"xau"}), **more})
    wanted = {AssetReady(sha) for sha in list(more)[1:]}
    collect(reports, lambda s: wanted <= set(s), timeout=2 * DEADLINE_S)
    assert fetcher.alive


# Failures that take a deadline to show: the good image must not wait for them.
_SLOW = {"drip", "drip-headers", "silent"}


def test_slow_but_valid_server_completes(
    hostile: HostileServer, fetcher: AssetFetcher, reports: queue.Queue[Any]
) -> None:
    data = valid_png((1, 2, 3), (40, 30))
    hostile.files["s"] = data
    slow = ref(hostile.url("/slow/s"), data)
    fetcher.want({slow.sha256: (slow, {"cham"})})
    assert reports.get(timeout=2 * DEADLINE_S) == AssetReady(slow.sha256)


def test_redirect_on_the_same_host_is_followed(
    hostile: HostileServer, fetcher: AssetFetcher, reports: queue.Queue[Any]
) -> None:
    data = valid_png((9, 9, 9))
    hostile.files["r"] = data
    moved = ref(hostile.url("/redirect-same/r"), data)
    fetcher.want({moved.sha256: (moved, {"doi"})})
    assert reports.get(timeout=2 * DEADLINE_S) == AssetReady(moved.sha256)
    assert hostile.requests == ["/redirect-same/r", "/files/r"]


def test_redirect_to_an_allowed_host_is_followed(
    tmp_path: Path, hostile: HostileServer, good: HostileServer, reports: queue.Queue[Any]
) -> None:
    data = valid_png((9, 90, 9))
    good.files["r"] = data
    hostile.other_port = good.port  # redirects to localhost:<good>
    fetcher = make_fetcher(
        AssetCache(tmp_path / "a"), reports, allowed_hosts=frozenset({"127.0.0.1", "localhost"})
    )
    try:
        moved = ref(hostile.url("/redirect-away/r"), data)
        fetcher.want({moved.sha256: (moved, {"doi"})})
        assert reports.get(timeout=2 * DEADLINE_S) == AssetReady(moved.sha256)
    finally:
        fetcher.stop()


def test_host_outside_the_allow_list_is_not_contacted(
    tmp_path: Path, good: HostileServer, reports: queue.Queue[Any]
) -> None:
    data = valid_png()
    good.files["a"] = data
    fetcher = make_fetcher(
        AssetCache(tmp_path / "a"), reports, allowed_hosts=frozenset({"cdn.example.vn"})
    )
    try:
        image = ref(good.url("/files/a"), data)
        fetcher.want({image.sha256: (image, {"anh"})})
        failure = reports.get(timeout=2 * DEADLINE_S)
        assert isinstance(failure, AssetFailure)
        assert "127.0.0.1 is not in [content] allowed_hosts" in failure.message
        assert "not retried" in failure.message
        assert good.requests == []
    finally:
        fetcher.stop()


def test_three_silent_images_on_one_server_leave_workers_for_the_others(
    hostile: HostileServer, good: HostileServer, fetcher: AssetFetcher, reports: queue.Queue[Any]
) -> None:
    """One server gets one download at a time: it cannot occupy the whole pool."""
    silent = [ref(hostile.url(f"/silent?{i}"), bytes([i])) for i in range(3)]
    data = valid_png((5, 50, 5))
    good.files["g"] = data
    image = ref(good.url("/files/g"), data)
    fetcher.want({r.sha256: (r, {f"s{i}"}) for i, r in enumerate(silent)})
    fetcher.want(
        {**{r.sha256: (r, {f"s{i}"}) for i, r in enumerate(silent)}, image.sha256: (image, {"g"})}
    )
    seen = collect(reports, lambda s: AssetReady(image.sha256) in s, timeout=DEADLINE_S)
    assert not any(isinstance(r, AssetFailure) for r in seen), seen


class _Boom(BaseException):
    """What no `except Exception` catches: stands in for a bug that kills a thread."""


def test_supervisor_restarts_a_dead_worker_and_says_so(
    tmp_path: Path, good: HostileServer, reports: queue.Queue[Any]
) -> None:
    from agent.assets import FetcherRestarted

    data = valid_png((7, 7, 70))
    good.files["a"] = data
    killed = threading.Event()
    fetcher = make_fetcher(AssetCache(tmp_path / "a"), reports, workers=1)
    real = fetcher.download

    def dies_once(url: str, sha256: str, settings: FetchSettings, sink: BinaryIO) -> None:
        if not killed.is_set():
            killed.set()
            raise _Boom("injected")
        real(url, sha256, settings, sink)

    fetcher.download = dies_once
    try:
        image = ref(good.url("/files/a"), data)
        fetcher.want({image.sha256: (image, {"anh"})})
        assert killed.wait(10)
        deadline = time.monotonic() + 10
        while not fetcher.supervise() and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = collect(
            reports, lambda s: any(isinstance(r, FetcherRestarted) for r in s), timeout=5
        )
        restarted = seen[-1]
        assert "_Boom" in restarted.message
        assert "restarted" in restarted.message
        # The job the dead worker held is not lost.
        assert reports.get(timeout=2 * DEADLINE_S) == AssetReady(image.sha256)
        assert fetcher.alive
    finally:
        fetcher.stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[HostileServer, ssl.SSLContext]]:
    """An https server with a certificate from a test CA; and a client context trusting it."""
    from tests.test_e2e_tls import make_certificates

    make_certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    with hostile_server(tls=context) as server:
        yield server, ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))


def test_https_server_with_an_untrusted_certificate_is_one_clear_failure(
    tls_server: tuple[HostileServer, ssl.SSLContext],
    fetcher: AssetFetcher,
    reports: queue.Queue[Any],
) -> None:
    server, _trusting = tls_server
    data = valid_png((3, 30, 90))
    server.files["x"] = data
    bad = ref(server.url("/files/x"), data)
    fetcher.want({bad.sha256: (bad, {"tls"})})
    failure = reports.get(timeout=2 * DEADLINE_S)
    assert isinstance(failure, AssetFailure), failure
    assert "certificate of 127.0.0.1 is not trusted" in failure.message
    assert fetcher.alive


def test_https_to_plain_http_redirect_is_refused_even_to_an_allowed_host(
    tls_server: tuple[HostileServer, ssl.SSLContext],
    tmp_path: Path,
    reports: queue.Queue[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, trusting = tls_server
    monkeypatch.setattr(
        importlib.import_module("agent.assets.download"), "_tls_context", lambda: trusting
    )
    data = valid_png((4, 40, 4))
    server.files["p"] = data
    fetcher = make_fetcher(
        AssetCache(tmp_path / "a"), reports, allowed_hosts=frozenset({"127.0.0.1"})
    )
    try:
        direct = ref(server.url("/files/p"), data)  # the CA is trusted: https works
        fetcher.want({direct.sha256: (direct, {"mot"})})
        assert reports.get(timeout=2 * DEADLINE_S) == AssetReady(direct.sha256)
        other = valid_png((5, 50, 5))
        server.files["q"] = other
        moved = ref(server.url("/redirect-plain/q"), other)
        fetcher.want({moved.sha256: (moved, {"doi"})})
        failure = reports.get(timeout=2 * DEADLINE_S)
        assert isinstance(failure, AssetFailure), failure
        assert "from https to plain http" in failure.message
    finally:
        fetcher.stop()


def test_the_supervisor_never_waits_on_a_full_core_queue(
    tmp_path: Path, good: HostileServer
) -> None:
    """The core's loop calls `supervise` and is the queue's only reader: a full queue must
    delay the report, not freeze the board."""
    from agent.assets import FetcherRestarted

    full: queue.Queue[Any] = queue.Queue(maxsize=1)
    full.put("something the core has not read yet")
    fetcher = make_fetcher(AssetCache(tmp_path / "a"), full, workers=1)

    def dies(url: str, sha256: str, settings: FetchSettings, sink: BinaryIO) -> None:
        raise _Boom("injected")

    fetcher.download = dies
    try:
        data = valid_png()
        good.files["a"] = data
        image = ref(good.url("/files/a"), data)
        fetcher.want({image.sha256: (image, {"anh"})})
        deadline = time.monotonic() + 10
        while not fetcher.supervise():  # returns at once although the queue is full
            assert time.monotonic() < deadline, "the worker never died"
            time.sleep(0.05)
        assert full.get_nowait() == "something the core has not read yet"
        fetcher.download = download
        fetcher.supervise()  # the delayed report goes now
        assert isinstance(full.get(timeout=5), FetcherRestarted)
    finally:
        fetcher.stop()


def test_a_worker_that_keeps_dying_is_restarted_ever_more_slowly(
    tmp_path: Path, good: HostileServer
) -> None:
    """A bug met on every job must not turn into a restart (and an event) every second."""
    now = [1000.0]
    reports: queue.Queue[Any] = queue.Queue()
    fetcher = AssetFetcher(
        AssetCache(tmp_path / "a"),
        reports,
        settings=FetchSettings(workers=1),
        clock=lambda: now[0],
    )
    deaths = threading.Semaphore(0)

    def dies(url: str, sha256: str, settings: FetchSettings, sink: BinaryIO) -> None:
        deaths.release()
        raise _Boom("injected")

    fetcher.download = dies
    data = valid_png()
    good.files["a"] = data
    image = ref(good.url("/files/a"), data)
    try:
        fetcher.want({image.sha256: (image, {"anh"})})
        restarts_at = []
        for _ in range(40):  # 40 s of a core loop turning once a second
            assert deaths.acquire(timeout=10)
            while fetcher.alive:  # the dying thread is on its way out
                time.sleep(0.01)
            while not fetcher.supervise():
                now[0] += 1.0
            restarts_at.append(now[0])
            if now[0] > 1000 + 40:
                break
        gaps = [b - a for a, b in itertools.pairwise(restarts_at)]
        assert gaps[:5] == [1.0, 2.0, 4.0, 8.0, 16.0], gaps
        events = [reports.get_nowait() for _ in range(reports.qsize())]
        assert len(events) == len(restarts_at) <= 7
    finally:
        fetcher.stop()
