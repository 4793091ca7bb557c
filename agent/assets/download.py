"""One image download: deadlines for each phase, bounded size, same-origin redirects.

urllib has a timeout per socket operation only: a server that drips a byte a second
never trips it, and one that sends headers slowly keeps a download open for hours. Here
every download has three deadlines — connecting, the first byte of the answer, and the
whole download — and a timer closes the socket when the last one passes, whatever the
download is blocked in. Every failure, whatever the server sends, is a `DownloadError`
with one short sentence; `permanent` ones are not worth retrying (the URL or the bytes
named by this SHA-256 can never be used).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Literal

from agent import __version__
from agent.assets.cache import SHA1_PREFIX, content_digest, digest_hex
from agent.assets.clips import DiskRoom, check_can_play, clip_problem, disk_room
from agent.assets.settings import (
    DEFAULT_MAX_ASSET_BYTES,
    AssetKind,
    DownloadError,
    FetchSettings,
    image_limits,
    settings_from,
)
from agent.tls_wrap import https_connect
from display_layouts.image_check import check_image
from display_layouts.image_formats import FORMATS

__all__ = [
    "DEFAULT_MAX_ASSET_BYTES",
    "AssetKind",
    "DownloadError",
    "FetchSettings",
    "Origin",
    "download",
    "image_limits",
    "parse_url",
    "settings_from",
    "url_problem",
]

_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_VERIFYING = threading.Lock()  # one downloaded picture (or clip probe) at a time
_ACCEPT = ", ".join(known.mime for known in FORMATS)  # the pictures a board shows
_ACCEPT_VIDEO = "video/mp4, video/webm, video/x-matroska, video/quicktime"


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_url(url: str) -> tuple[Origin, str]:
    """The origin and request target of an http(s) URL, or a permanent `DownloadError`."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:  # "Invalid IPv6 URL", "Port could not be cast to integer …"
        text = str(exc)
        if "IPv6" in text:
            text = "broken IPv6 address (brackets)"
        elif "Port" in text:
            text = "the port is not a number from 1 to 65535"
        raise DownloadError(f"bad URL: {text}", permanent=True) from None
    if parts.scheme not in ("http", "https"):
        raise DownloadError("bad URL: only http and https are fetched", permanent=True)
    if not host:
        raise DownloadError("bad URL: no host", permanent=True)
    default = 443 if parts.scheme == "https" else 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Origin(parts.scheme, host.lower(), port or default), target


def url_problem(url: str) -> str | None:
    """Why a URL can never be fetched (checked when a playlist is accepted), or None."""
    try:
        parse_url(url)
    except DownloadError as exc:
        return str(exc)
    return None


def download(
    url: str,
    sha256: str | None,
    settings: FetchSettings,
    sink: BinaryIO,
    *,
    kind: AssetKind = "image",
) -> str:
    """Write a verified image (or, `kind="video"`, clip) to `sink`, or raise
    `DownloadError` saying what went wrong. `sha256` is the asset name: its SHA-256, or a
    CAP resource's "sha1-…"; None (a preview of a picture whose digest its author does
    not know yet) checks no digest, and everything else alike. Returns the hex digest of
    what was written.

    The body goes to `sink` (a file) as it arrives, hashed on the way: several workers
    downloading 16 MiB images must not hold them all in memory. It is read back to be
    checked as a picture one download at a time. A clip has its own size limit and
    deadline, must fit on the disk with `min_free_bytes` to spare, and is probed in its
    file (agent/assets/clips.py): it must be a clip the board can play.
    """
    video = kind == "video"
    if video:
        check_can_play()  # before anything is fetched that could not be shown
        settings = replace(
            settings, max_bytes=settings.max_video_bytes, deadline_s=settings.video_deadline_s
        )
    deadline = time.monotonic() + settings.deadline_s
    origin, target = parse_url(url)
    _check_allowed(origin, settings)
    room = disk_room(sink, settings) if video else None
    for _hop in range(settings.max_redirects + 1):
        sink.seek(0)
        sink.truncate()
        digest = content_digest(sha256 or "")
        attempt = _Attempt(origin, target, settings, deadline, sink=sink, digest=digest)
        attempt.room = room
        status, location = attempt.run()
        if status not in _REDIRECTS:
            break
        try:
            moved, target = parse_url(urllib.parse.urljoin(str(origin) + target, location))
        except DownloadError as exc:  # the server's mistake, which it may correct
            raise DownloadError(f"redirect to a {exc}") from None
        if moved != origin:
            _check_redirect(origin, moved, settings)
        origin = moved
    else:
        raise DownloadError(f"more than {settings.max_redirects} redirects")
    if sha256 is not None and digest.hexdigest() != digest_hex(sha256):
        name = "SHA-1" if sha256.startswith(SHA1_PREFIX) else "SHA-256"
        raise DownloadError(f"{name} mismatch: got {digest.hexdigest()}")
    with _VERIFYING:
        sink.flush()
        sink.seek(0)
        if video:
            problem = clip_problem(sink)
        else:
            problem = check_image(sink.read(settings.max_bytes + 1), settings.limits)
        sink.seek(0, 2)  # at the end again: the caller counts what was written
    if problem is not None:
        # The bytes are the ones the SHA-256 names: downloading them again cannot help.
        raise DownloadError(problem, permanent=sha256 is not None)
    return str(digest.hexdigest())


def _check_allowed(origin: Origin, settings: FetchSettings) -> None:
    if settings.allowed_hosts and origin.host not in settings.allowed_hosts:
        raise DownloadError(f"host {origin.host} is not in [content] allowed_hosts", permanent=True)


def _check_redirect(origin: Origin, moved: Origin, settings: FetchSettings) -> None:
    if origin.scheme == "https" and moved.scheme == "http":
        raise DownloadError(f"redirect from https to plain http ({moved}) refused")
    if moved.host not in settings.allowed_hosts:
        raise DownloadError(
            f"redirect to another host ({moved}) refused; "
            "hosts a redirect may go to are listed in [content] allowed_hosts"
        )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Made once: loading the system's CA certificates costs time and memory.
    return ssl.create_default_context()


Phase = Literal["connect", "answer", "body"]


class _Attempt:
    """One request and its answer, with a timer that ends it at the total deadline."""

    def __init__(
        self,
        origin: Origin,
        target: str,
        settings: FetchSettings,
        deadline: float,
        *,
        sink: BinaryIO,
        digest: Any,
    ) -> None:
        self.sink = sink
        self.digest = digest  # hashlib's object (its type is private)
        self.origin = origin
        self.target = target
        self.settings = settings
        self.deadline = deadline
        self.phase: Phase = "connect"
        self.expired = threading.Event()
        self.connection: http.client.HTTPConnection | None = None
        # Closed first: its file object holds the socket open (a socket's close only
        # drops a reference while a makefile() of it lives), which left TLS sockets to
        # the garbage collector after an HTTP error, a redirect or a digest mismatch.
        self.response: http.client.HTTPResponse | None = None
        # Kept apart: http.client drops `connection.sock` once an answer says it will
        # close, while the answer goes on reading from this socket.
        self.sock: socket.socket | None = None
        self.chunked = False
        self.room: DiskRoom | None = None  # a clip: what the disk can take

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.expired.set()
            raise DownloadError(self._expired_message())
        return left

    def _expired_message(self) -> str:
        return f"no complete answer within the total deadline of {self.settings.deadline_s:g} s"

    def _expire(self) -> None:
        # Runs on the timer's thread: shutting the socket down wakes the blocked read.
        self.expired.set()
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> tuple[int, str]:
        timer = threading.Timer(self.remaining(), self._expire)
        timer.daemon = True
        timer.start()
        try:
            answer = self._exchange()
        except DownloadError:
            if self.expired.is_set():
                raise DownloadError(self._expired_message()) from None
            raise
        except Exception as exc:  # whatever a server sends, one sentence and no traceback
            if self.expired.is_set():
                raise DownloadError(self._expired_message()) from None
            raise DownloadError(self._describe(exc)) from None
        finally:
            timer.cancel()
            if self.response is not None:
                with contextlib.suppress(OSError):
                    self.response.close()
            if self.connection is not None:
                self.connection.close()
            if self.sock is not None:
                self.sock.close()
        if self.expired.is_set():  # the timer cut the answer short
            raise DownloadError(self._expired_message())
        return answer

    def _exchange(self) -> tuple[int, str]:
        settings = self.settings
        host, port = self.origin.host, self.origin.port
        timeout = min(settings.connect_timeout_s, self.remaining())
        if self.origin.scheme == "https":
            self.connection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=_tls_context()
            )
            https_connect(self.connection)
        else:
            self.connection = http.client.HTTPConnection(host, port, timeout=timeout)
            self.connection.connect()
        connection = self.connection
        self.phase = "answer"
        sock = self.sock = connection.sock
        assert sock is not None
        sock.settimeout(min(settings.first_byte_timeout_s, self.remaining()))
        headers = {
            "User-Agent": f"signage-agent/{__version__}",
            "Accept": _ACCEPT if self.room is None else _ACCEPT_VIDEO,
            "Accept-Encoding": "identity",
        }
        connection.request("GET", self.target, headers=headers)
        response = self.response = connection.getresponse()
        if response.status in _REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise DownloadError(f"HTTP {response.status} without a Location")
            return response.status, location
        if response.status != 200:
            raise DownloadError(f"HTTP {response.status} {response.reason}"[:80])
        self.read_body(response, sock)
        return response.status, ""

    def read_body(self, response: http.client.HTTPResponse, sock: socket.socket) -> None:
        """The body into the sink and the digest, within the size limit and the deadline
        (shared with the alert feeds' fetch, which adds conditional requests)."""
        limit = self.settings.max_bytes
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit():
            if int(declared) > limit:
                raise DownloadError(f"larger than the limit of {limit} bytes")
            if self.room is not None:
                self.room.check(int(declared))
        self.phase = "body"
        self.chunked = bool(response.chunked)
        size = 0
        while True:
            sock.settimeout(self.remaining())
            chunk = response.read1(_CHUNK)
            if not chunk:
                return
            size += len(chunk)
            if size > limit:
                raise DownloadError(f"larger than the limit of {limit} bytes")
            if self.room is not None:
                self.room.check(size)
            self.digest.update(chunk)
            self.sink.write(chunk)

    def _describe(self, exc: Exception) -> str:
        for kind, describe in _DESCRIPTIONS:
            if isinstance(exc, kind):
                text = describe(self, exc)
                if text is not None:
                    return text
        return f"download failed: {type(exc).__name__}: {exc}"

    def timeout_message(self) -> str:
        where = f"{self.origin.host}:{self.origin.port}"
        if self.phase == "connect":
            return f"could not connect to {where} within {self.settings.connect_timeout_s:g} s"
        if self.phase == "answer":
            return f"no answer within {self.settings.first_byte_timeout_s:g} s"
        return self._expired_message()


def _os_error(attempt: _Attempt, exc: OSError) -> str:
    cause = exc.strerror or str(exc)
    return f"unreachable: {cause}" if attempt.phase == "connect" else f"download failed: {cause}"


# The first entry whose type matches (and whose function answers) says what went wrong;
# order matters where types are subclasses of one another.
_DESCRIPTIONS: tuple[tuple[type[Exception], Callable[[_Attempt, Any], str | None]], ...] = (
    (TimeoutError, lambda a, _e: a.timeout_message()),
    (socket.gaierror, lambda a, _e: f"unreachable: cannot resolve {a.origin.host}"),
    (
        ConnectionRefusedError,
        lambda a, _e: f"unreachable: {a.origin.host}:{a.origin.port} refused the connection",
    ),
    (
        ssl.SSLCertVerificationError,
        lambda a, e: f"TLS: the certificate of {a.origin.host} is not trusted ({e.reason})",
    ),
    (ssl.SSLError, lambda _a, e: f"TLS failed: {e.reason or e}"),
    (
        http.client.RemoteDisconnected,
        lambda _a, _e: "the server closed the connection without answering",
    ),
    (
        http.client.IncompleteRead,
        lambda a, e: (
            "bad HTTP response: broken chunked encoding"
            if a.chunked
            else f"the server closed the connection mid-answer ({len(e.partial)} bytes)"
        ),
    ),
    (
        http.client.BadStatusLine,
        lambda _a, e: f"bad HTTP response: malformed status line {str(e)[:60]!r}",
    ),
    (http.client.HTTPException, lambda _a, e: f"bad HTTP response: {e}"),
    (
        ValueError,
        lambda a, _e: "bad HTTP response: broken chunked encoding" if a.phase == "body" else None,
    ),
    (
        ConnectionResetError,
        lambda _a, _e: "the server closed the connection (reset)",
    ),
    (OSError, _os_error),
)
