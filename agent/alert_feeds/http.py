"""One conditional GET of a feed or a CAP document, on the hardened downloader.

The deadlines, the size bound, the redirect rules and the one-sentence errors are those
of `agent.assets.download` (an image download): this module changes only what a feed
needs — the request says which validators it holds (`If-None-Match`, `If-Modified-Since`)
and what it accepts, a `304 Not Modified` is an answer rather than an error, and the body
is kept in memory (a feed is bounded by `[content] max_payload_bytes`, like an MQTT
payload, not by the image limit). Alerts come over https only: a feed or a linked document
on plain http, or a redirect to it, is refused.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import ssl
import time
import urllib.parse
from dataclasses import dataclass

from agent import __version__

# The downloader's internals are reused rather than copied: one owner for the deadline
# timer, the redirect rules and the wording of every network failure.
from agent.assets.download import (
    _REDIRECTS,
    DownloadError,
    FetchSettings,
    Origin,
    _Attempt,
    _check_allowed,
    _check_redirect,
    _tls_context,
    parse_url,
)
from agent.tls_wrap import https_connect

_CHUNK = 64 * 1024
# Alerting authorities serve CAP as application/cap+xml, and often as plain XML.
_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/cap+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
_MAX_VALIDATOR = 512  # an ETag or date longer than this is not kept (nor sent back)


@dataclass(frozen=True, slots=True)
class Validators:
    """What the last full answer said about its version, sent back to ask "changed?"."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A 200 with its body, or a 304 (`body` empty: what was read last time still holds)."""

    url: str  # after redirects: relative links in a feed are resolved against it
    not_modified: bool
    body: bytes
    sha256: str
    validators: Validators


def fetch(
    url: str,
    settings: FetchSettings,
    validators: Validators | None = None,
    *,
    tls: ssl.SSLContext | None = None,
) -> Answer:
    """GET `url` within `settings`' limits, or raise `DownloadError` saying what went wrong."""
    deadline = time.monotonic() + settings.deadline_s
    origin, target = _https(url)
    _check_allowed(origin, settings)
    for _hop in range(settings.max_redirects + 1):
        attempt = FeedAttempt(origin, target, settings, deadline, validators=validators, tls=tls)
        status, location = attempt.run()
        if status not in _REDIRECTS:
            return attempt.answer(str(origin) + target, status)
        try:
            moved, target = _https(urllib.parse.urljoin(str(origin) + target, location))
        except DownloadError as exc:
            raise DownloadError(f"redirect to a {exc}") from None
        if moved != origin:
            _check_redirect(origin, moved, settings)
        origin = moved
    raise DownloadError(f"more than {settings.max_redirects} redirects")


def _https(url: str) -> tuple[Origin, str]:
    origin, target = parse_url(url)
    if origin.scheme != "https":
        raise DownloadError("bad URL: alerts are fetched over https only", permanent=True)
    return origin, target


class FeedAttempt(_Attempt):
    """One request: the downloader's attempt with conditional headers and a 304."""

    def __init__(
        self,
        origin: Origin,
        target: str,
        settings: FetchSettings,
        deadline: float,
        *,
        validators: Validators | None,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.body = io.BytesIO()
        super().__init__(
            origin, target, settings, deadline, sink=self.body, digest=hashlib.sha256()
        )
        self.validators = validators or Validators()
        self.tls = tls
        self.received = Validators()

    def answer(self, url: str, status: int) -> Answer:
        return Answer(
            url=url,
            not_modified=status == 304,
            body=self.body.getvalue(),
            sha256=self.digest.hexdigest(),
            validators=self.received if status == 200 else self.validators,
        )

    def _request_headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": f"signage-agent/{__version__}",
            "Accept": _ACCEPT,
            "Accept-Encoding": "identity",
        }
        if self.validators.etag is not None:
            headers["If-None-Match"] = self.validators.etag
        if self.validators.last_modified is not None:
            headers["If-Modified-Since"] = self.validators.last_modified
        return headers

    def _exchange(self) -> tuple[int, str]:
        settings = self.settings
        timeout = min(settings.connect_timeout_s, self.remaining())
        self.connection = http.client.HTTPSConnection(
            self.origin.host, self.origin.port, timeout=timeout, context=self.tls or _tls_context()
        )
        https_connect(self.connection)
        self.phase = "answer"
        sock = self.sock = self.connection.sock
        assert sock is not None
        sock.settimeout(min(settings.first_byte_timeout_s, self.remaining()))
        self.connection.request("GET", self.target, headers=self._request_headers())
        response = self.connection.getresponse()
        if response.status in _REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise DownloadError(f"HTTP {response.status} without a Location")
            return response.status, location
        if response.status == 304:
            if not (self.validators.etag or self.validators.last_modified):
                raise DownloadError("HTTP 304 Not Modified to a request that asked nothing")
            return 304, ""
        if response.status != 200:
            raise DownloadError(f"HTTP {response.status} {response.reason}"[:80])
        self.received = Validators(
            _validator(response.getheader("ETag")), _validator(response.getheader("Last-Modified"))
        )
        self.read_body(response, sock)
        return 200, ""


def _validator(value: str | None) -> str | None:
    # Sent back verbatim in a header: refuse what could break the request line.
    if value is None or len(value) > _MAX_VALIDATOR or not value.isprintable():
        return None
    return value
