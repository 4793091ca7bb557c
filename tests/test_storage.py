from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agent.caches import ContentStore
from agent.heartbeat_seq import SeqCounter
from agent.messages import Playlist, PlaylistItem
from agent.storage import atomic_write


def sample_playlist(version: int) -> Playlist:
    item = PlaylistItem.model_validate(
        {"id": "a", "layout": "fullscreen_text", "fields": {"text": "Thông báo khẩn cấp"}}
    )
    return Playlist(
        type="playlist", version=version, issued_at=datetime(2026, 11, 27, tzinfo=UTC), items=[item]
    )


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.json"
    atomic_write(target, b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_content_store_round_trip_and_clear(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    store.save("commune", sample_playlist(17))
    store.save("local", sample_playlist(2))
    loaded = ContentStore(tmp_path).load_all()
    assert loaded["commune"] == sample_playlist(17)
    assert set(loaded) == {"commune", "local"}
    store.clear("commune")
    assert set(ContentStore(tmp_path).load_all()) == {"local"}


def test_damaged_cache_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    store.save("city", sample_playlist(1))
    (tmp_path / "content" / "board.json").write_bytes(b'{"type": "playl')
    assert set(store.load_all()) == {"city"}


def test_seq_grows_across_clean_restarts_without_gaps(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.seq"
    counter = SeqCounter(path)
    assert [counter.next() for _ in range(3)] == [1, 2, 3]
    counter.close()
    again = SeqCounter(path)
    assert again.next() == 4


def test_seq_never_repeats_after_a_crash_and_writes_once_per_block(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.seq"
    counter = SeqCounter(path)
    issued = [counter.next() for _ in range(100)]
    assert counter.writes == 2  # 100 heartbeats, 2 disk writes (blocks of 64)
    # no close(): the process was killed
    after_crash = SeqCounter(path).next()
    assert after_crash > max(issued)
    assert after_crash - max(issued) <= SeqCounter.BLOCK
