"""Remote images: a content-addressed cache on disk and a small pool of downloaders.

A playlist names a remote image by URL and SHA-256. The file is downloaded once, checked
against the hash and decoded once to prove it is a picture the board can show, and stored
under its hash, so the same image used by many items (or by the next version of a
playlist) is fetched once and survives restarts. An item waits until all its images are
in the cache; it never shows a hole.

- `cache.py`: the files on disk; only verified images are handed out.
- `download.py`: one download with its deadlines and redirect rules.
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
