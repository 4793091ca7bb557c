"""TLS connections that close their socket when they fail, on every Python we run on.

CPython before its fix for gh-113280 (Debian 12 ships 3.11.2, this project's CI 3.11.7):
when the peer resets a TCP connection after it was accepted and before the TLS handshake
starts, `ssl.SSLSocket._create` raises from its "is it connected?" probe without closing
the SSLSocket it has just made. That socket owns the descriptor (the plain socket was
detached into it), nobody holds it, and it stays open until the garbage collector finds
it (a `ResourceWarning: unclosed <ssl.SSLSocket …>`). A board retrying a download against
a server that is going down would leak a descriptor per attempt until then.

The orphan is still reachable from the exception's traceback (the frame it was made in):
on a failure it is closed there, and the error goes on as it was.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType


@contextmanager
def orphans_closed() -> Iterator[None]:
    """Whatever fails inside leaves no TLS socket of the ssl module's making open."""
    try:
        yield
    except BaseException as exc:
        close_orphans(exc.__traceback__)
        raise


def wrap(context: ssl.SSLContext, raw: socket.socket, host: str) -> ssl.SSLSocket:
    """`context.wrap_socket(raw, server_hostname=host)`, leaving no socket open on failure."""
    with orphans_closed():
        return context.wrap_socket(raw, server_hostname=host)


def https_connect(connection: http.client.HTTPSConnection) -> None:
    """`connection.connect()`, leaving no socket open on failure (its own plain socket is
    the caller's to close, with the connection)."""
    with orphans_closed():
        connection.connect()


def close_orphans(trace: TracebackType | None) -> None:
    """Close every TLS socket being made in the ssl module's frames of this traceback: the
    call failed, so none of them was handed to anybody."""
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code.co_filename == ssl.__file__:
            made = frame.f_locals.get("self")
            if isinstance(made, ssl.SSLSocket):
                with contextlib.suppress(OSError):
                    made.close()
        trace = trace.tb_next
