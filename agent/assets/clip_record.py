"""Is a cached clip still the one its name says? Checked on its first use in a run.

A picture is re-hashed in memory on its first use (a few MiB). A clip is up to 200 MiB:
re-hashing it at every start would cost a Pi seconds of its core and read the SD card
end to end. So when a clip has been verified (hashed and probed, after its download or
on a first use), a small record beside it keeps what its file looked like then — size,
inode, modification and change times in nanoseconds; the change time cannot be set back
by anything writing to the file — and a later start whose file still looks the same
trusts it. Any difference (a truncated, replaced or rewritten file, a restored backup)
means a full check again: stream-hashed in 1 MiB reads and probed.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from agent.assets.clips import playable_reason
from agent.storage import StateFileProblem, atomic_write, open_state_file, read_state_file

log = logging.getLogger(__name__)

_READ = 1024 * 1024


def record_path(path: Path) -> Path:
    """Hidden (a leading dot), so the cache's garbage collector keeps it with its clip."""
    return path.with_name(f".{path.name}.clip")


def _looks(st: os.stat_result) -> dict[str, int]:
    return {
        "size": st.st_size,
        "ino": st.st_ino,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
    }


def write_record(path: Path) -> None:
    """Remember the verified clip's looks (a lost record only costs a check later)."""
    try:
        atomic_write(record_path(path), json.dumps(_looks(path.stat())).encode())
    except OSError as exc:
        log.warning("cannot note clip %s as verified: %s", path, exc.strerror or exc)


def _recorded(path: Path) -> dict[str, object] | None:
    try:
        data = read_state_file(record_path(path), 4096)
        looks = json.loads(data) if data is not None else None
    except (StateFileProblem, OSError, ValueError):
        return None
    return looks if isinstance(looks, dict) else None


def clip_problem(path: Path, digest: Any, hex_digest: str) -> str | None:  # noqa: PLR0911
    """Why the cached file is not the clip named `hex_digest`, or None. `digest` is a
    fresh hashlib object of the name's kind."""
    try:
        fd = open_state_file(path)
    except StateFileProblem as problem:
        return problem.reason
    if fd is None:
        return "vanished"
    with os.fdopen(fd, "rb") as file:
        st = os.fstat(file.fileno())
        if _recorded(path) == _looks(st):
            return None
        try:
            while chunk := file.read(_READ):
                digest.update(chunk)
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
    if digest.hexdigest() != hex_digest:
        return "does not match its SHA-256"
    from agent.video.probe import ClipProblem, probe_clip

    try:
        probe_clip(path)
    except ClipProblem as problem:
        return f"is not a playable clip ({problem.reason})"
    write_record(path)
    return None


def cannot_check() -> bool:
    """A board without PyAV cannot tell a good clip: its files are left alone (the
    fetcher's attempt then says why no clip plays here)."""
    return playable_reason() is not None
