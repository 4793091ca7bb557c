"""One clip downloaded for a preview, with the board's downloader's deadlines and rules.

`agent.assets.download.download()` checks that what arrived is a picture, so it cannot
fetch a clip. This is the same loop without that last check: the same `_Attempt` (its
three deadlines, the timer that closes a socket that drips, the size limit, one
sentence for whatever a server sends), the same host list and redirect rules, and the
SHA-256 checked when given. Whether the bytes are a clip is `probe_clip`'s to say.

It reaches into agent/assets/download.py's private parts on purpose, rather than copying
them: a hardening made there (a new deadline, a TLS fix) holds here too. When the board
downloads clips itself (issue 17's fetcher), this should become its public function.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import BinaryIO

from agent.assets.cache import content_digest
from agent.assets.download import (
    _REDIRECTS,
    DownloadError,
    FetchSettings,
    _Attempt,
    _check_allowed,
    _check_redirect,
    parse_url,
)

# CONTRACT §10's `[content] max_video_bytes` default (the board's key is not in
# agent/config.py yet): a draft's clip is held to what a board would take.
MAX_CLIP_BYTES = 200 * 1024 * 1024
# A whole deadline long enough for a clip of that size over an office line; someone is
# waiting, so not the board's patience.
CLIP_FETCH = FetchSettings(max_bytes=MAX_CLIP_BYTES, deadline_s=300.0, workers=1)


def download_clip(url: str, sha256: str | None, settings: FetchSettings, sink: BinaryIO) -> str:
    """Write the bytes at `url` to `sink` (a file), verified against `sha256` when given;
    the hex SHA-256 of what was written, or `DownloadError` saying what went wrong."""
    deadline = time.monotonic() + settings.deadline_s
    origin, target = parse_url(url)
    _check_allowed(origin, settings)
    for _hop in range(settings.max_redirects + 1):
        sink.seek(0)
        sink.truncate()
        digest = content_digest(sha256 or "")
        status, location = _Attempt(
            origin, target, settings, deadline, sink=sink, digest=digest
        ).run()
        if status not in _REDIRECTS:
            break
        try:
            moved, target = parse_url(urllib.parse.urljoin(str(origin) + target, location))
        except DownloadError as exc:
            raise DownloadError(f"redirect to a {exc}") from None
        if moved != origin:
            _check_redirect(origin, moved, settings)
        origin = moved
    else:
        raise DownloadError(f"more than {settings.max_redirects} redirects")
    got = str(digest.hexdigest())
    if sha256 is not None and got != sha256:
        raise DownloadError(f"SHA-256 mismatch: got {got}", permanent=True)
    return got
