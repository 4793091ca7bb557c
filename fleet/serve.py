"""`signage-fleet serve`: ingest what boards publish, serve the web page and the JSON API.

One process, one start and stop path: the database is opened and migrated, the listening
socket bound (so that a port in use is a clear error, not a traceback from inside
uvicorn), the broker subscription started (paho's thread; it keeps retrying while the
broker is down, so the page is served all the same), then uvicorn runs in the main
thread until SIGTERM or SIGINT; then the subscription, the command sender and the
database are closed in that order, and the exit status is 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from types import FrameType

import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from fleet.cli import EX_UNAVAILABLE, EX_USAGE
from fleet.ingest import Ingest
from fleet.live import Changes
from fleet.mqtt_ingest import BoardSubscription
from fleet.mqtt_publish import MqttCommandSender
from fleet.store.db import Store
from fleet.web.app import create_app

log = logging.getLogger(__name__)


class ServeError(Exception):
    """A reason serve cannot start: one line for stderr, and the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def host_port(value: str, flag: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT`."""
    host, sep, port_text = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ServeError(f"{flag} {value!r} is not HOST:PORT (a port from 1 to 65535)", EX_USAGE)
    return host, int(port_text)


def shown_url(url: str) -> str:
    """The URL as it may be printed: never its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable)"


BACKENDS = ("sqlite", "postgresql")  # what the migrations and the tests cover


def open_store(url: str) -> Store:
    """The migrated store, or a ServeError naming what is wrong with `--db`."""
    usage = "sqlite:///PATH or postgresql://USER@HOST[:PORT]/NAME"
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ServeError(f"--db: not a database URL ({usage})", EX_USAGE) from None
    if backend == "sqlite" and make_url(url).database in (None, "", ":memory:"):
        # In memory, each pooled connection would see a database of its own.
        raise ServeError("--db: an SQLite database needs a file: sqlite:///PATH", EX_USAGE)
    if backend not in BACKENDS:
        raise ServeError(
            f"--db {shown_url(url)}: not a database this fleet uses ({usage})", EX_USAGE
        )
    try:
        store = Store(url)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as error:
        raise ServeError(f"--db {shown_url(url)}: {str(error)[:200]} ({usage})", EX_USAGE) from None
    try:
        store.create_schema()
    except SQLAlchemyError as error:
        store.close()
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise ServeError(
            f"cannot open the database {shown_url(url)}: {(cause or ['?'])[0][:300]}",
            EX_UNAVAILABLE,
        ) from None
    return store


def listening_socket(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        raise ServeError(
            f"--listen {host}:{port}: cannot listen there ({error.strerror or error})",
            EX_UNAVAILABLE,
        ) from None
    sock.set_inheritable(True)
    return sock


def _stop_requested(sig: int, _frame: FrameType | None) -> None:
    # uvicorn hands the signal it stopped on back to the handler it found; this one makes
    # that a quiet return (exit status 0), not Python's default death by signal.
    log.info("stopped by %s", signal.Signals(sig).name)


def serve(args: argparse.Namespace) -> int:
    try:
        broker = host_port(args.broker, "--broker")
        listen = host_port(args.listen, "--listen")
        store = open_store(args.db)
    except ServeError as error:
        print(f"signage-fleet serve: {error}", file=sys.stderr)
        return error.status
    try:
        sock = listening_socket(*listen)
    except ServeError as error:
        store.close()
        print(f"signage-fleet serve: {error}", file=sys.stderr)
        return error.status
    return _run(args, store, broker, listen, sock)


def _run(
    args: argparse.Namespace,
    store: Store,
    broker: tuple[str, int],
    listen: tuple[str, int],
    sock: socket.socket,
) -> int:
    changes = Changes()
    ingest = Ingest(store, changes, args.root)
    subscription = BoardSubscription(
        *broker, args.root, ingest.handle, client_id=getattr(args, "client_id", None)
    )
    sender = MqttCommandSender(broker[0], broker[1], args.root)
    app = create_app(store, changes, sender)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=listen[0],
            port=listen[1],
            log_config=None,  # the fleet's own logging (fleet.cli), one format
            access_log=bool(args.verbose),
        )
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop_requested)
    log.info("database %s migrated; serving http://%s:%d/", shown_url(args.db), *listen)
    subscription.start()
    try:
        server.run(sockets=[sock])
    finally:
        ingest.close()
        subscription.stop()
        sender.close()
        sock.close()
        store.close()
        log.info(
            "stopped: %d messages stored, %d ignored",
            ingest.accepted,
            sum(ingest.rejected.values()),
        )
    return 0
