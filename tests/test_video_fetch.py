"""Clip downloads (issue 17): the hardened fetcher with a clip's own limits, disk space
checked first, the file probed before any item waits on it, and the cache's record that
spares a board re-hashing 200 MiB at every start. Real clips from a real HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("av")

from agent.assets import (
    AssetCache,
    AssetFailure,
    AssetFetcher,
    AssetReady,
    DownloadError,
    FetchSettings,
    download,
    settings_from,
)
from agent.assets.clip_record import record_path
from agent.config import ContentConfig
from agent.messages import ImageRef
from agent.storage import StorageHealth
from tests import video_clips
from tests.http_server import ImageServer, image_server

MB = 1024 * 1024
SETTINGS = FetchSettings(deadline_s=5, video_deadline_s=10, disk_free=lambda _d: 10_000 * MB)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fetch-clips")
    video_clips.h264_clip(root / "good.mp4")
    video_clips.vp9_clip(root / "good.ivf", fmt="ivf")
    video_clips.truncated_clip(root / "cut.mp4", root / "good.mp4", keep=0.5)
    video_clips.text_clip(root / "text.mp4")
    video_clips.ten_hour_clip(root / "long.mp4")
    video_clips.absurd_size_clip(root / "huge.ivf", root / "good.ivf")
    video_clips.audio_only_clip(root / "sound.mp4")
    video_clips.playlist_clip(root / "list.mp4")
    return root


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with image_server() as served:
        yield served


def serve(server: ImageServer, clip: Path) -> ImageRef:
    data = clip.read_bytes()
    server.files[f"/{clip.name}"] = data
    return ImageRef(url=server.url(f"/{clip.name}"), sha256=hashlib.sha256(data).hexdigest())


def fetch(ref: ImageRef, into: Path, settings: FetchSettings = SETTINGS) -> str:
    with into.open("w+b") as sink:
        return download(ref.url, ref.sha256, settings, sink, kind="video")


def test_a_good_clip_downloads_whole_and_verified(
    server: ImageServer, clips: Path, tmp_path: Path
) -> None:
    ref = serve(server, clips / "good.mp4")
    into = tmp_path / "clip.part"
    assert fetch(ref, into) == ref.sha256
    assert into.read_bytes() == (clips / "good.mp4").read_bytes()


def test_a_clip_has_its_own_size_limit_far_above_an_images(
    server: ImageServer, clips: Path, tmp_path: Path
) -> None:
    ref = serve(server, clips / "good.mp4")
    size = (clips / "good.mp4").stat().st_size
    small_images = dataclasses.replace(SETTINGS, max_bytes=1024)
    assert fetch(ref, tmp_path / "a", small_images) == ref.sha256  # an image's limit: not its
    with pytest.raises(DownloadError, match=f"larger than the limit of {size - 1} bytes"):
        fetch(ref, tmp_path / "b", dataclasses.replace(SETTINGS, max_video_bytes=size - 1))


BAD = {  # file → what the board says (each `asset.failed`, never retried)
    "text.mp4": "not a playable clip: not a video file the board can read (",
    "long.mp4": "not a playable clip: 36000 s long, beyond the limit of 3600 s",
    # FFmpeg's VP9 decoder refuses the 65535×65535 header before reporting a size.
    "huge.ivf": "not a playable clip: no valid picture size (0x0): the header is damaged",
    "sound.mp4": "not a playable clip: no video stream (streams: audio)",
    # An HLS playlist named .mp4: the demuxer whitelist keeps FFmpeg from following it.
    "list.mp4": "not a playable clip: not a video file the board can read (",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_bad_clip_is_refused_for_good_with_the_probes_reason(
    server: ImageServer, clips: Path, tmp_path: Path, name: str
) -> None:
    ref = serve(server, clips / name)
    with pytest.raises(DownloadError) as refused:
        fetch(ref, tmp_path / "clip.part")
    assert str(refused.value).startswith(BAD[name]), refused.value
    assert refused.value.permanent  # the bytes its SHA-256 names cannot change
    assert "\n" not in str(refused.value)
    assert len(str(refused.value)) <= 200


def test_a_wrong_sha256_is_refused_before_the_probe(
    server: ImageServer, clips: Path, tmp_path: Path
) -> None:
    ref = serve(server, clips / "good.mp4")
    wrong = ImageRef(url=ref.url, sha256="0" * 64)
    with pytest.raises(DownloadError, match="SHA-256 mismatch: got " + ref.sha256):
        fetch(wrong, tmp_path / "clip.part")


def test_a_truncated_clip_is_refused(server: ImageServer, clips: Path, tmp_path: Path) -> None:
    """Half an MP4 whose index (moov) comes last: the probe cannot read it. (A clip cut
    after its index is refused when its data ends while playing: test_core_video.)"""
    with pytest.raises(DownloadError, match="not a playable clip"):
        fetch(serve(server, clips / "cut.mp4"), tmp_path / "clip.part")


def test_a_clip_that_does_not_fit_on_the_disk_is_not_fetched(
    server: ImageServer, clips: Path, tmp_path: Path
) -> None:
    ref = serve(server, clips / "good.mp4")
    size = (clips / "good.mp4").stat().st_size
    full = dataclasses.replace(SETTINGS, disk_free=lambda _d: 10 * MB, min_free_bytes=64 * MB)
    with pytest.raises(DownloadError, match="no room for a clip: 10 MB free") as refused:
        fetch(ref, tmp_path / "a", full)
    assert not refused.value.permanent  # space may be freed: tried again later
    assert server.requests == []  # nothing was asked of the server
    # Room for less than the clip: a declared length is refused before the body …
    tight = dataclasses.replace(SETTINGS, disk_free=lambda _d: size - 100, min_free_bytes=0)
    with pytest.raises(DownloadError, match="does not fit"):
        fetch(ref, tmp_path / "b", tight)
    # … and a streamed one once it grows past the room.
    server.chunked.add("/good.mp4")
    with pytest.raises(DownloadError, match="does not fit"):
        fetch(ref, tmp_path / "c", tight)


def test_a_board_without_pyav_fetches_no_clip(
    server: ImageServer, clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.assets import clips as clip_checks

    monkeypatch.setattr(clip_checks, "playable_reason", lambda: "video is not supported here")
    ref = serve(server, clips / "good.mp4")
    with pytest.raises(DownloadError, match="video is not supported here") as refused:
        fetch(ref, tmp_path / "clip.part")
    assert refused.value.permanent
    assert server.requests == []


def test_the_content_section_sets_the_clip_limits() -> None:
    content = ContentConfig(
        max_video_bytes=50 * MB, video_download_deadline_s=600, min_free_disk_mb=128
    )
    settings = settings_from(content)
    assert settings.max_video_bytes == 50 * MB
    assert settings.video_deadline_s == 600
    assert settings.min_free_bytes == 128 * MB
    assert ContentConfig().max_video_bytes == 200 * MB  # CONTRACT §10's default


# --- the fetcher and the cache -----------------------------------------------------------


@pytest.fixture
def reports() -> queue.Queue[Any]:
    return queue.Queue()


def fetcher_for(cache: AssetCache, reports: queue.Queue[Any]) -> AssetFetcher:
    return AssetFetcher(cache, reports, settings=SETTINGS, retry_min_s=0.05, retry_max_s=0.2)


def test_the_fetcher_downloads_a_clip_into_the_cache_with_its_record(
    server: ImageServer, clips: Path, tmp_path: Path, reports: queue.Queue[Any]
) -> None:
    cache = AssetCache(tmp_path / "assets", max_bytes=1024)  # an image limit below the clip
    fetcher = fetcher_for(cache, reports)
    try:
        ref = serve(server, clips / "good.mp4")
        fetcher.want({ref.sha256: (ref, {"phim"})}, clips={ref.sha256})
        assert reports.get(timeout=10) == AssetReady(ref.sha256)
    finally:
        fetcher.stop()
    path = cache.get_clip(ref)
    assert path is not None
    assert path.read_bytes() == (clips / "good.mp4").read_bytes()
    looks = json.loads(record_path(path).read_bytes())
    assert looks["size"] == path.stat().st_size


def test_a_bad_clip_is_one_asset_failure_not_retried(
    server: ImageServer, clips: Path, tmp_path: Path, reports: queue.Queue[Any]
) -> None:
    fetcher = fetcher_for(AssetCache(tmp_path / "assets"), reports)
    try:
        ref = serve(server, clips / "sound.mp4")
        fetcher.want({ref.sha256: (ref, {"am-thanh"})}, clips={ref.sha256})
        failure = reports.get(timeout=10)
        assert isinstance(failure, AssetFailure)
        assert failure.item_ids == ("am-thanh",)
        assert "not a playable clip" in failure.message
        assert "not retried" in failure.message
        with pytest.raises(queue.Empty):
            reports.get(timeout=0.5)
        assert server.requests == ["/sound.mp4"]
    finally:
        fetcher.stop()


def cached_clip(tmp_path: Path, clips: Path) -> tuple[Path, ImageRef]:
    data = (clips / "good.mp4").read_bytes()
    ref = ImageRef(url="http://unused/", sha256=hashlib.sha256(data).hexdigest())
    cache = AssetCache(tmp_path / "assets")
    partial = cache.partial(ref.sha256, "t")
    partial.write_bytes(data)
    cache.adopt(ref.sha256, partial, clip=True)
    return cache.path(ref.sha256), ref


def test_a_later_start_trusts_a_clip_whose_file_looks_as_recorded(
    tmp_path: Path, clips: Path
) -> None:
    """The record is what spares the hash: a file made to look as recorded (size, inode,
    times) is handed out without reading it — so only the agent's own writes may do that."""
    path, ref = cached_clip(tmp_path, clips)
    record = record_path(path)
    with path.open("r+b") as file:  # damage the bytes, then note the damaged file's looks
        file.write(b"\0" * 64)
    st = path.stat()
    looks = {"size": st.st_size, "ino": st.st_ino, "mtime_ns": st.st_mtime_ns}
    record.write_text(json.dumps({**looks, "ctime_ns": st.st_ctime_ns}))
    assert AssetCache(tmp_path / "assets").get_clip(ref) == path


def test_a_clip_changed_since_its_record_is_checked_again_and_deleted(
    tmp_path: Path, clips: Path
) -> None:
    path, ref = cached_clip(tmp_path, clips)
    with path.open("r+b") as file:
        file.write(b"\0" * 64)
    said: list[str] = []
    assert AssetCache(tmp_path / "assets", health=StorageHealth(said.append)).get_clip(ref) is None
    assert not path.exists()  # downloaded again
    assert said == [
        f"cached clip {path} does not match its SHA-256: deleted; it is downloaded again"
    ]


def test_an_intact_clip_without_a_record_is_checked_and_recorded(
    tmp_path: Path, clips: Path
) -> None:
    path, ref = cached_clip(tmp_path, clips)
    record_path(path).unlink()
    assert AssetCache(tmp_path / "assets").get_clip(ref) == path
    assert record_path(path).exists()


def test_a_clips_record_goes_with_it(tmp_path: Path, clips: Path) -> None:
    path, _ref = cached_clip(tmp_path, clips)
    assert AssetCache(tmp_path / "assets").collect_garbage(keep=()) == 1
    assert not path.exists()
    assert not record_path(path).exists()
    assert list(path.parent.iterdir()) == []
