"""Remote images: a content-addressed cache on disk and a small pool of downloaders.

A playlist names a remote image (or video clip) by URL and SHA-256. The file is
downloaded once, checked against the hash and decoded once (a clip: probed) to prove the
board can show it, and stored
under its hash, so the same image used by many items (or by the next version of a
playlist) is fetched once and survives restarts. An item waits until all its images are
in the cache; it never shows a hole.

- `cache.py`: the files on disk; only verified images are handed out.
- `settings.py`: the `[content]` limits a download keeps to, and `DownloadError`.
- `download.py`: one download with its deadlines and redirect rules.
- `clips.py`: what a clip download adds: room on the disk, a probe of the file.
- `fetcher.py`: the worker pool with retries, and its supervisor.

The workers only fetch and write files; they report to the core's queue (`AssetReady`,
`AssetFailure`, `FetcherRestarted`), which owns every decision about what is shown.
"""

from agent.assets.cache import AssetCache
from agent.assets.download import (
    DEFAULT_MAX_ASSET_BYTES,
    DownloadError,
    FetchSettings,
    download,
    image_limits,
    settings_from,
    url_problem,
)
from agent.assets.fetcher import AssetFailure, AssetFetcher, AssetReady, FetcherRestarted

__all__ = [
    "DEFAULT_MAX_ASSET_BYTES",
    "AssetCache",
    "AssetFailure",
    "AssetFetcher",
    "AssetReady",
    "DownloadError",
    "FetchSettings",
    "FetcherRestarted",
    "download",
    "image_limits",
    "settings_from",
    "url_problem",
]
