from __future__ import annotations

import hashlib
import io
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest

from agent.assets import AssetCache, AssetFailure, AssetFetcher, AssetReady, FetchSettings
from agent.messages import ImageRef
from tests.http_server import ImageServer, image_server


def png(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)) -> bytes:
    surface = pygame.Surface(size)
    surface.fill(colour)
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "png")
    return buffer.getvalue()


def ref_for(server: ImageServer, path: str, data: bytes) -> ImageRef:
    return ImageRef(url=server.url(path), sha256=hashlib.sha256(data).hexdigest())


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with image_server() as s:
        yield s


@pytest.fixture
def reports() -> queue.Queue[Any]:
    return queue.Queue()


@pytest.fixture
def fetcher(tmp_path: Path, reports: queue.Queue[Any]) -> Iterator[AssetFetcher]:
    f = AssetFetcher(
        AssetCache(tmp_path / "assets"),
        reports,
        settings=FetchSettings(max_bytes=64 * 1024, deadline_s=5),
        retry_min_s=0.05,
        retry_max_s=0.2,
    )
    yield f
    f.stop()


def next_report(reports: queue.Queue[Any]) -> Any:
    return reports.get(timeout=10)


def test_downloads_verifies_and_caches_by_hash(
    server: ImageServer, fetcher: AssetFetcher, reports: queue.Queue[Any]
) -> None:
    data = png()
    server.files["/a.png"] = data
    ref = ref_for(server, "/a.png", data)
    fetcher.want({ref.sha256: (ref, {"item-1"})})
    assert next_report(reports) == AssetReady(ref.sha256)
    cached = fetcher.cache.get(ref)
    assert cached is not None
    assert cached.read_bytes() == data
    fetcher.want({ref.sha256: (ref, {"item-2"})})  # already cached: no second download
    assert server.requests == ["/a.png"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("wrong-hash", "SHA-256 mismatch"),
        ("missing", "HTTP 404"),
        ("too-large", "larger than the limit"),
    ],
)
def test_bad_assets_are_reported_and_retried(
    server: ImageServer,
    fetcher: AssetFetcher,
    reports: queue.Queue[Any],
    setup: str,
    expected: str,
) -> None:
    data = png()
    ref = ref_for(server, "/x", data)
    if setup == "wrong-hash":
        server.files["/x"] = png((0, 0, 255))
    elif setup == "too-large":
        big = b"\x89PNG\r\n\x1a\n" + b"0" * (128 * 1024)
        server.files["/x"] = big
        ref = ref_for(server, "/x", big)
    fetcher.want({ref.sha256: (ref, {"anh"})})
    first = next_report(reports)
    assert isinstance(first, AssetFailure)
    assert first.item_ids == ("anh",)
    assert first.url == ref.url
    assert expected in first.message
    second = next_report(reports)  # retried with backoff
    assert isinstance(second, AssetFailure)
    assert "attempt 2" in second.message
    assert fetcher.cache.get(ref) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html>login page</html>", "not a PNG or JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image header is damaged"),
    ],
)
def test_bytes_matching_their_hash_but_unusable_fail_once_for_good(
    server: ImageServer,
    fetcher: AssetFetcher,
    reports: queue.Queue[Any],
    body: bytes,
    expected: str,
) -> None:
    """The SHA-256 names these very bytes: downloading them again cannot help."""
    server.files["/x"] = body
    ref = ref_for(server, "/x", body)
    fetcher.want({ref.sha256: (ref, {"anh"})})
    failure = next_report(reports)
    assert isinstance(failure, AssetFailure)
    assert expected in failure.message
    assert "not retried" in failure.message
    fetcher.want({ref.sha256: (ref, {"anh", "anh-2"})})  # still wanted: not fetched again
    with pytest.raises(queue.Empty):
        reports.get(timeout=0.5)
    assert server.requests == ["/x"]
    assert fetcher.pending == 0
    assert fetcher.cache.get(ref) is None


def test_a_cached_file_that_is_not_a_usable_image_is_never_handed_out(tmp_path: Path) -> None:
    """Files from an older agent (which did not check pictures) are checked on first use."""
    from tests.hostile.hostile_http import bomb_png

    cache = AssetCache(tmp_path)
    good, bomb = png(), bomb_png()
    for data in (good, bomb):
        path = cache.path(hashlib.sha256(data).hexdigest())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    bomb_ref = ImageRef(url="http://x/b.png", sha256=hashlib.sha256(bomb).hexdigest())
    good_ref = ImageRef(url="http://x/g.png", sha256=hashlib.sha256(good).hexdigest())
    assert cache.get(good_ref) is not None
    assert cache.get(bomb_ref) is None
    assert not cache.path(bomb_ref.sha256).exists()  # deleted: the fetcher will say why


def test_unreachable_server_is_reported(fetcher: AssetFetcher, reports: queue.Queue[Any]) -> None:
    from tests.support import free_port

    ref = ImageRef(url=f"http://127.0.0.1:{free_port()}/a.png", sha256="0" * 64)
    fetcher.want({ref.sha256: (ref, {"anh"})})
    failure = next_report(reports)
    assert isinstance(failure, AssetFailure)
    assert "unreachable" in failure.message


def test_transient_failure_then_success(
    server: ImageServer, fetcher: AssetFetcher, reports: queue.Queue[Any]
) -> None:
    data = png()
    server.files["/flaky.png"] = data
    server.failures["/flaky.png"] = [503, 500]
    ref = ref_for(server, "/flaky.png", data)
    fetcher.want({ref.sha256: (ref, {"anh"})})
    outcomes = [next_report(reports) for _ in range(3)]
    assert [type(o).__name__ for o in outcomes] == ["AssetFailure", "AssetFailure", "AssetReady"]


def test_images_no_longer_wanted_stop_being_fetched(
    server: ImageServer, fetcher: AssetFetcher, reports: queue.Queue[Any]
) -> None:
    ref = ImageRef(url=server.url("/gone.png"), sha256="1" * 64)
    fetcher.want({ref.sha256: (ref, {"anh"})})
    assert isinstance(next_report(reports), AssetFailure)
    fetcher.want({})
    assert fetcher.pending == 0


def test_garbage_collection_keeps_only_referenced(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path)
    cache.put("a" * 64, b"1")
    cache.put("b" * 64, b"2")
    assert cache.collect_garbage({"a" * 64}) == 1
    assert cache.path("a" * 64).exists()
    assert not cache.path("b" * 64).exists()


def test_partial_downloads_left_by_a_crash_are_removed_and_never_handed_out(
    tmp_path: Path,
) -> None:
    data = png()
    sha = hashlib.sha256(data).hexdigest()
    cache = AssetCache(tmp_path)
    partial = cache.partial(sha, "asset-fetcher-0")
    partial.write_bytes(data[:10])  # the power went while it arrived
    assert cache.get(ImageRef(url="http://x/a.png", sha256=sha)) is None
    AssetCache(tmp_path)  # the next start
    assert not partial.exists()
