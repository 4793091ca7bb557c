"""Payloads for the ingest tests: the contract's own examples (docs/examples/), a PNG
made here, and an ingest over a store whose announcements are recorded."""

from __future__ import annotations

import copy
import json
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from fleet.ingest import Ingest
from fleet.live import ChangeKind, Changes
from fleet.store.db import Store
from tests.support import REPO

EXAMPLES = REPO / "docs" / "examples"
ROOT = "signage/v1"
BOARD = "hn-badinh-phucxa-01"
START = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def heartbeat(seq: int, sent_at: datetime, board: str = BOARD, **extra: Any) -> dict[str, Any]:
    body = copy.deepcopy(example("heartbeat"))
    body.update(board_id=board, seq=seq, sent_at=sent_at.isoformat(), **extra)
    return body


def topic(leaf: str, board: str = BOARD) -> str:
    return f"{ROOT}/board/{board}/{leaf}"


def png(width: int, height: int) -> bytes:
    """A real (grey) PNG of that size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class RecordedChanges(Changes):
    """The real broadcast, which also keeps what it was told."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[ChangeKind, str]] = []

    def notify(self, kind: ChangeKind, key: str) -> None:
        self.seen.append((kind, key))
        super().notify(kind, key)


class Clock:
    """The fleet's time, moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_ingest(store: Store, **options: Any) -> tuple[Ingest, RecordedChanges, Clock]:
    changes, clock = RecordedChanges(), Clock()
    return Ingest(store, changes, ROOT, clock=clock, **options), changes, clock
