"""A TLS connection whose peer resets it before the handshake leaves no socket open
(agent/tls_wrap.py: CPython's gh-113280 leaked one to the garbage collector)."""

from __future__ import annotations

import errno
import gc
import http.client
import socket
import ssl
import struct
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from agent.tls_wrap import https_connect, wrap


@pytest.fixture
def reset_socket() -> Iterator[socket.socket]:
    """A connected client socket whose peer has already reset the connection."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname(), timeout=5)
        accepted, _ = server.accept()
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        accepted.close()  # linger 0: an RST, not a FIN
        # The RST has arrived once the socket reports its peer gone.
        deadline = time.monotonic() + 5
        while peer_of(client) is not None:
            assert time.monotonic() < deadline, "the reset never arrived"
            time.sleep(0.01)
        yield client
        client.close()


def peer_of(sock: socket.socket) -> Any:
    try:
        return sock.getpeername()
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise
        return None


def unclosed_after(call: Any, sock: socket.socket) -> list[str]:
    """The ResourceWarnings about `sock`'s connection left open by `call` (which must fail
    as a reset connection does). Other tests' garbage, collected here too, is not ours:
    only warnings naming this connection's local address count."""
    local = repr(sock.getsockname())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()  # earlier tests' garbage, recorded here (and filtered out), not raised
        with pytest.raises(ConnectionResetError):
            call()
        gc.collect()
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and local in str(w.message)
    ]


def test_a_reset_before_the_handshake_fails_and_closes_the_tls_socket(
    reset_socket: socket.socket,
) -> None:
    context = ssl.create_default_context()
    assert unclosed_after(lambda: wrap(context, reset_socket, "127.0.0.1"), reset_socket) == []


def test_https_connect_closes_the_tls_socket_of_a_reset_connection(
    reset_socket: socket.socket,
) -> None:
    connection = http.client.HTTPSConnection(
        "127.0.0.1", 1, timeout=5, context=ssl.create_default_context()
    )
    connection._create_connection = lambda *_a, **_k: reset_socket  # type: ignore[attr-defined]
    assert unclosed_after(lambda: https_connect(connection), reset_socket) == []
    connection.close()


def test_the_reset_socket_reproduces_the_leak_without_the_guard(
    reset_socket: socket.socket,
) -> None:
    """The two tests above are not vacuous: unguarded, this Python's ssl leaks the TLS
    socket of exactly this connection (a Python with gh-113280 fixed does not)."""
    context = ssl.create_default_context()
    leaked = unclosed_after(
        lambda: context.wrap_socket(reset_socket, server_hostname="127.0.0.1"), reset_socket
    )
    if not leaked:
        pytest.skip("this Python's ssl closes the socket itself (gh-113280 fixed)")
    assert "ssl.SSLSocket" in leaked[0]
