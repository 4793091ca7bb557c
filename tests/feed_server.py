"""A local HTTPS server for alert-feed tests: routes by path, conditional answers, records.

Each route is a body with optional `ETag` / `Last-Modified` (answered with `304` when the
request's `If-None-Match` / `If-Modified-Since` matches), a status code or a redirect.
Every request's path and headers are recorded, and a test can wait for the n-th one.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.test_e2e_tls import make_certificates

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"


def cap_alert(identifier: str, headline: str = "Bão số 3") -> bytes:
    """A minimal CAP 1.2 document (the feed poller does not judge CAP; the parser does)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="{CAP_NS}">'
        f"<identifier>{identifier}</identifier><sender>kttv.gov.vn</sender>"
        "<sent>2026-12-02T08:00:00+07:00</sent><status>Actual</status>"
        "<msgType>Alert</msgType><scope>Public</scope>"
        f"<info><language>vi</language><headline>{headline}</headline></info></alert>"
    ).encode()


def atom_feed(*entries: str) -> bytes:
    return (f'<feed xmlns="{ATOM_NS}"><id>urn:feed</id><title>Cảnh báo</title>').encode() + (
        "".join(entries) + "</feed>"
    ).encode()


def atom_link_entry(entry_id: str, href: str, updated: str = "2026-12-02T08:00:00+07:00") -> str:
    return (
        f"<entry><id>{entry_id}</id><updated>{updated}</updated>"
        f'<link rel="alternate" type="application/cap+xml" href="{href}"/></entry>'
    )


def atom_inline_entry(entry_id: str, alert: bytes) -> str:
    inner = alert.decode().split("?>", 1)[-1]
    return (
        f"<entry><id>{entry_id}</id><updated>2026-12-02T08:00:00+07:00</updated>"
        f'<content type="application/cap+xml">{inner}</content></entry>'
    )


def rss_feed(*links: str) -> bytes:
    items = "".join(f"<item><guid>{link}</guid><link>{link}</link></item>" for link in links)
    return f'<rss version="2.0"><channel><title>CAP</title>{items}</channel></rss>'.encode()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    content_type: str = "application/xml"


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self, context: ssl.SSLContext) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._arrived = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._answer(self)

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # The handshake happens in the handler's thread, on its first read.
        self.httpd.socket = context.wrap_socket(
            self.httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = int(self.httpd.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} requests, expected {count}")

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        route = self.routes.get(handler.path)
        with self._arrived:
            self.requests.append(Request(handler.path, dict(handler.headers.items())))
            self._arrived.notify_all()
        if route is None:
            handler.send_error(404)
            return
        if route.location is not None:
            handler.send_response(route.status)
            handler.send_header("Location", route.location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if route.status != 200:
            handler.send_error(route.status)
            return
        if self._unchanged(route, handler):
            handler.send_response(304)
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(route.body)))
        if route.etag:
            handler.send_header("ETag", route.etag)
        if route.last_modified:
            handler.send_header("Last-Modified", route.last_modified)
        handler.end_headers()
        handler.wfile.write(route.body)

    @staticmethod
    def _unchanged(route: Route, handler: BaseHTTPRequestHandler) -> bool:
        if route.etag is not None and handler.headers.get("If-None-Match") == route.etag:
            return True
        since = handler.headers.get("If-Modified-Since")
        return route.last_modified is not None and since == route.last_modified


@dataclass(frozen=True)
class Certificates:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts the test CA


def make_tls(directory: Path) -> Certificates:
    make_certificates(directory)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "server.crt", directory / "server.key")
    return Certificates(server, ssl.create_default_context(cafile=str(directory / "ca.crt")))


@contextmanager
def feed_server(context: ssl.SSLContext) -> Iterator[FeedServer]:
    server = FeedServer(context)
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(5)
