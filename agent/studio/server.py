"""The studio's HTTP server: routing, bounded bodies, JSON answers, static files.

Stdlib only (http.server): the studio runs on a content manager's laptop, and a board's
install gains no web framework. It listens on loopback by default, and because a page of
any other site could make the browser send requests to it, a request is answered only
when its Host header names this server (no DNS rebinding) and a POST says it carries
JSON (a cross-site form cannot say so without the browser asking first, which this
server never agrees to).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from agent.studio import api, problems_vi
from agent.studio.api import ApiError, Studio

log = logging.getLogger("signage-agent.studio")

MAX_BODY_BYTES = 8 * 1024 * 1024  # a picture embedded as a data: URI, with room to spare
STATIC_DIR = Path(__file__).resolve().with_name("static")
# A static asset's name: one plain file name of static/ (no folder, no leading dot).
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)+$")
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".json": "application/json",
}
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class StudioServer(ThreadingHTTPServer):
    daemon_threads = True  # a browser's idle keep-alive connection must not block exit
    # On Windows SO_REUSEADDR lets a second server take a port in use without an error:
    # a second studio must be told the port is taken instead.
    allow_reuse_address = sys.platform != "win32"
    studio: Studio

    def __init__(self, address: tuple[str, int], studio: Studio) -> None:
        self.studio = studio
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, StudioHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A page that drops an outdated preview closes its connection mid-answer: that
        # is normal, not an error to print a traceback for.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def host_allowed(self, header: str | None) -> bool:
        """Whether a request's Host names this server: its loopback names and port, or
        anything when it listens on every interface (the user chose to be reached)."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        if host in ("0.0.0.0", "::"):
            return True
        if header is None:
            return False
        names = {*_LOOPBACK_NAMES, host, f"[{host}]"}
        return header.lower() in {f"{name}:{port}" for name in names} | (
            names if port == 80 else set()
        )


class StudioHandler(BaseHTTPRequestHandler):
    server: StudioServer
    protocol_version = "HTTP/1.1"  # keep-alive: the page asks for previews 4 times a second
    timeout = 60  # a client that stops sending mid-request frees its thread
    server_version = "signage-studio"
    _consumed = True

    # --- the verbs ------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_HEAD(self) -> None:
        self._answer(self._get, head=True)

    def do_POST(self) -> None:
        self._answer(self._post)

    def _answer(self, handler: Any, head: bool = False) -> None:
        self._consumed = self.command != "POST"  # whether the body (if any) was read
        try:
            if not self.server.host_allowed(self.headers.get("Host")):
                raise api.refused("$", "this server answers requests for its own address only", 403)
            status, content_type, body = handler()
        except ApiError as exc:
            status, content_type = exc.status, "application/json"
            body = _json_bytes({"problems": exc.problems})
        except Exception as exc:  # a bug: one sentence to the page, the traceback logged
            log.error("studio: %s %s failed", self.command, self.path[:200], exc_info=True)
            status, content_type = 500, "application/json"
            message = f"internal error ({type(exc).__name__}); the studio goes on"
            body = _json_bytes({"problems": [problems_vi.problem("$", message)]})
        if not self._consumed:  # its unread body must not be taken for the next request
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a garbled request line, an unknown method, headers
        too long) answered as JSON like every other problem, not as its HTML page."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        said = f"{code} {message or phrase}"
        body = _json_bytes({"problems": [problems_vi.problem("$", said[:200])]})
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # --- routing ----------------------------------------------------------------------------

    def _route(self) -> str:
        target = self.path
        if not target.startswith("/"):
            raise api.refused("$", "the request target must be a path", 400)
        return urlsplit(target).path

    def _get(self) -> tuple[int, str, bytes]:
        path = self._route()
        studio = self.server.studio
        if path in ("/", "/index.html"):
            return _asset("index.html")
        if path.startswith("/static/"):
            return _asset(unquote(path.removeprefix("/static/"), errors="replace"))
        if path == "/api/layouts":
            return _ok(api.layouts(studio))
        if path == "/api/publish":
            return _ok(api.publish_info(studio))
        if path.startswith("/api/") and path in _POSTS:
            raise api.refused("$", f"{path} takes POST", 405)
        raise api.refused("$", f"no such page: {path[:100]}", 404)

    def _post(self) -> tuple[int, str, bytes]:
        path = self._route()
        handler = _POSTS.get(path)
        if handler is None:
            self._drain_or_close()
            raise api.refused("$", f"no such endpoint: {path[:100]}", 404)
        body = self._json_body()
        studio = self.server.studio
        if path == "/api/preview":
            return 200, "image/png", api.preview(studio, body)
        return _ok(handler(studio, body))

    # --- the body -----------------------------------------------------------------------------

    def _length(self) -> int:
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            raise api.refused("$", "send the body with a Content-Length, not chunked", 411)
        text = self.headers.get("Content-Length")
        if text is None or not text.isdigit() or len(text) > 12:
            self.close_connection = True
            raise api.refused("$", "a POST needs a Content-Length", 411)
        return int(text)

    def _drain_or_close(self) -> None:
        """Read a body not wanted (the connection stays usable), or close when it is large."""
        try:
            length = self._length()
        except ApiError:
            return
        if length <= MAX_BODY_BYTES:
            self.rfile.read(length)
            self._consumed = True

    def _json_body(self) -> dict[str, Any]:
        from agent.validation import InvalidInput, parse_json

        length = self._length()
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the rest is never read
            limit = MAX_BODY_BYTES // (1024 * 1024)
            raise api.refused("$", f"the request is {length} bytes; the limit is {limit} MiB", 413)
        raw = self.rfile.read(length)
        self._consumed = True
        if len(raw) != length:
            self.close_connection = True
            raise api.refused("$", "the request body ended early", 400)
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise api.refused("$", "send the body as application/json", 415)
        try:
            data = parse_json(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise api.refused("$", f"not UTF-8: invalid byte at offset {exc.start}") from None
        except InvalidInput as exc:
            raise ApiError(400, [problems_vi.as_json(p) for p in exc.errors]) from None
        if not isinstance(data, dict):
            raise api.refused("$", "the body must be a JSON object")
        return data


_POSTS = {
    "/api/preview": api.preview,
    "/api/check": api.check,
    "/api/playlist": api.playlist,
    "/api/save": api.save,
    "/api/publish": api.publish,
}


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _ok(document: object) -> tuple[int, str, bytes]:
    return 200, "application/json", _json_bytes(document)


def _asset(name: str) -> tuple[int, str, bytes]:
    """A file directly in static/ by its plain name; every other name is not found (a
    name with a folder, dots or a drive in it never reaches the file system)."""
    kind = _CONTENT_TYPES.get(Path(name).suffix.lower())
    if _ASSET_NAME.fullmatch(name) is None or kind is None:
        raise api.refused("$", "no such file", 404)
    path = STATIC_DIR / name
    try:
        if path.resolve().parent != STATIC_DIR or not path.is_file():
            raise api.refused("$", "no such file", 404)
        return 200, kind, path.read_bytes()
    except OSError:
        raise api.refused("$", "no such file", 404) from None
