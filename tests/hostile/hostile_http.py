"""A hostile HTTP server for image-download tests: a real server on a free loopback port.

Each path prefix is one behaviour a field server has shown (or an attacker could show):

| path | behaviour |
| --- | --- |
| `/files/<name>` | a valid answer with the bytes registered under `<name>` |
| `/slow/<name>` | the same bytes, valid, in a few pieces with short pauses (completes) |
| `/drip/<name>` | valid headers, then the body one byte per `drip_interval_s` |
| `/drip-headers/<name>` | the status line and headers one byte per `drip_interval_s` |
| `/silent` | accepts the connection, reads the request, never answers |
| `/bad-status` | a malformed status line |
| `/bad-chunked` | `Transfer-Encoding: chunked` with a chunk size that is not hex |
| `/many-headers` | 150 response headers |
| `/redirect-away/<name>` | 302 to `<name>` on another host and port (`localhost:<other>`) |
| `/redirect-same/<name>` | 302 to `/files/<name>` on this server |
| `/reset` | accepts and closes at once |
| `/redirect-plain/<name>` | 302 to `http://` on the same host and port (from an https server) |

With `tls=` (a server `ssl.SSLContext`) every behaviour is served over https.

Image makers for the bodies: `huge_png` (a header declaring huge dimensions), `corrupt_png`
(a valid header, garbage pixels), `bomb_png` (kilobytes that decode to a huge bitmap),
`truncated_png` (a real picture cut short), `valid_png`.
"""

from __future__ import annotations

import contextlib
import io
import socket
import socketserver
import ssl
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pygame


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)


def valid_png(
    colour: tuple[int, int, int] = (30, 160, 60), size: tuple[int, int] = (16, 12)
) -> bytes:
    surface = pygame.Surface(size)
    surface.fill(colour)
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "png")
    return buffer.getvalue()


def huge_png(width: int = 30000, height: int = 30000) -> bytes:
    """A complete, small file whose header declares `width`×`height` pixels."""
    return (
        png_header(width, height)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def corrupt_png(seed: int = 7) -> bytes:
    """A valid signature and IHDR (64×48, correct CRC) followed by garbage image data."""
    garbage = bytes((seed * 131 + i * 97) % 256 for i in range(600))
    return png_header(64, 48) + _chunk(b"IDAT", garbage) + _chunk(b"IEND", b"")


def bomb_png(width: int = 4000, height: int = 4000) -> bytes:
    """A few kilobytes of 1-bit grey that a decoder turns into width×height×4 bytes (64 MB)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        png_header(width, height, bit_depth=1, colour_type=0)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    """A real, noisy picture cut off at two thirds (the end of its pixel data is missing)."""
    surface = pygame.Surface((64, 48))
    for x in range(64):
        for y in range(48):
            surface.set_at((x, y), ((x * 37) % 256, (y * 53) % 256, (x * y) % 256))
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "png")
    data = buffer.getvalue()
    return data[: len(data) * 2 // 3]


OK = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class HostileServer:
    """Threaded: a server stuck on one connection still answers the others."""

    def __init__(self, *, drip_interval_s: float = 1.0, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls  # a server context: answers in https
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.drip_interval_s = drip_interval_s
        self.other_port = 0  # where /redirect-away points (set by the caller)
        self._closing = threading.Event()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()  # lets silent and dripping handlers end
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- one connection ----------------------------------------------------------------------

    def _handle(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            sock = raw if self.tls is None else self.tls.wrap_socket(raw, server_side=True)
        except OSError:
            return  # the client refused our certificate: that is its answer
        with sock:
            try:
                path = self._read_request(sock)
            except OSError:
                return
            if path is None:
                return
            self.requests.append(path)
            with contextlib.suppress(OSError):  # the client gave up (what a deadline is for)
                self._answer(sock, path)

    def _read_request(self, sock: socket.socket) -> str | None:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = sock.recv(4096)
            if not piece:
                return None
            data += piece
            if len(data) > 65536:
                return None
        request_line = data.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        return parts[1] if len(parts) >= 2 else None

    def _answer(self, sock: socket.socket, path: str) -> None:
        kind, _, name = path.split("?", maxsplit=1)[0].lstrip("/").partition("/")
        behaviour = getattr(self, "_" + kind.replace("-", "_"), None)
        if kind.startswith("_") or behaviour is None:
            sock.sendall(NOT_FOUND)
            return
        behaviour(sock, name)

    def _files(self, sock: socket.socket, name: str) -> None:
        if name not in self.files:
            sock.sendall(NOT_FOUND)
            return
        body = self.files[name]
        sock.sendall(OK + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _slow(self, sock: socket.socket, name: str) -> None:
        body = self.files.get(name, b"")
        sock.sendall(OK + b"Content-Length: %d\r\n\r\n" % len(body))
        step = max(1, len(body) // 4)
        for start in range(0, len(body), step):
            if self._closing.wait(0.1):
                return
            sock.sendall(body[start : start + step])

    def _drip(self, sock: socket.socket, name: str) -> None:
        body = self.files.get(name, b"")
        sock.sendall(OK + b"Content-Length: %d\r\n\r\n" % len(body))
        self._dribble(sock, body)

    def _drip_headers(self, sock: socket.socket, name: str) -> None:
        body = self.files.get(name, b"")
        self._dribble(sock, OK + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _silent(self, _sock: socket.socket, _name: str) -> None:
        self._closing.wait(120)

    def _bad_status(self, sock: socket.socket, _name: str) -> None:
        sock.sendall(b"HTTP/1.1 TWO-HUNDRED maybe\r\n\r\n" + valid_png())

    def _bad_chunked(self, sock: socket.socket, _name: str) -> None:
        sock.sendall(OK + b"Transfer-Encoding: chunked\r\n\r\nzz-not-hex\r\nabc\r\n")

    def _many_headers(self, sock: socket.socket, name: str) -> None:
        body = self.files.get(name, b"")
        extra = b"".join(b"X-Junk-%d: %d\r\n" % (i, i) for i in range(150))
        sock.sendall(OK + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _redirect_away(self, sock: socket.socket, name: str) -> None:
        location = f"http://localhost:{self.other_port}/files/{name}".encode()
        sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\n\r\n")

    def _redirect_same(self, sock: socket.socket, name: str) -> None:
        location = f"/files/{name}".encode()
        head = b"HTTP/1.1 302 Found\r\nLocation: " + location
        sock.sendall(head + b"\r\nContent-Length: 0\r\n\r\n")

    def _redirect_plain(self, sock: socket.socket, name: str) -> None:
        location = f"http://127.0.0.1:{self.port}/files/{name}".encode()
        sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\n\r\n")

    def _reset(self, sock: socket.socket, _name: str) -> None:
        sock.close()

    def _dribble(self, sock: socket.socket, data: bytes) -> None:
        for index in range(len(data)):
            sock.sendall(data[index : index + 1])
            if self._closing.wait(self.drip_interval_s):
                return


@contextmanager
def hostile_server(**kw: Any) -> Iterator[HostileServer]:
    server = HostileServer(**kw).start()
    try:
        yield server
    finally:
        server.close()
