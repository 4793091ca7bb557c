"""`signage-agent studio`: a local web page where a content manager fills a layout, sees
it drawn by the board's own renderer at every size, and saves or publishes the playlist
(CONTRACT §11; the endpoints are in docs/studio.md).

    signage-agent studio [--listen 127.0.0.1:8765] [--save-dir DIR] [--layouts-dir DIR]
                         [--broker HOST:PORT [--key FILE.key] [--kid KID]] [--open]

Exit status: 0 stopped with Ctrl-C, 2 bad options, 69 cannot listen (the port is taken).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
from pathlib import Path

EX_USAGE = 2
EX_UNAVAILABLE = 69  # sysexits: the address cannot be had
DEFAULT_LISTEN = "127.0.0.1:8765"


class Usage(Exception):
    """Options the studio cannot start with (exit 2)."""


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 in brackets: [::1]:8765) to (host, port); port 0 takes a free one."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        sep = ""  # an IPv6 address without brackets: its port cannot be told apart
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise Usage(f"--listen '{text}' is not HOST:PORT (e.g. {DEFAULT_LISTEN})")
    return host, int(port)


def _check_broker(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Usage(f"--broker '{text}' is not HOST:PORT (e.g. broker.example:1883)")
    return text


def _check_key(key: Path | None, kid: str | None) -> None:
    """The key is read at start, not at the first publish: a wrong path is said at once."""
    if key is None:
        if kid is not None:
            raise Usage("--kid names the key of --key: give --key FILE.key too")
        return
    from agent.trust.signing import SigningRefused, load_signing_key

    try:
        loaded = load_signing_key(key)
    except SigningRefused as exc:
        raise Usage(f"--key: {exc}") from None
    if kid is not None and kid != loaded.kid:
        raise Usage(f"--kid '{kid}': the key {key} signs as '{loaded.kid}' (its file name)")


def studio(args: argparse.Namespace) -> int:
    from agent.studio.api import Studio
    from agent.studio.layouts import StudioLayouts
    from agent.studio.publishing import Publisher
    from agent.studio.server import StudioServer

    try:
        address = parse_listen(args.listen)
        if args.save_dir is not None and args.save_dir.exists() and not args.save_dir.is_dir():
            raise Usage(f"--save-dir {args.save_dir}: not a folder")
        if args.layouts_dir is not None and not args.layouts_dir.is_dir():
            raise Usage(f"--layouts-dir {args.layouts_dir}: not a folder")
        if args.broker is None and (args.key is not None or args.kid is not None):
            raise Usage("--key and --kid sign what is published: give --broker HOST:PORT too")
        publisher = None
        if args.broker is not None:
            _check_key(args.key, args.kid)
            publisher = Publisher(_check_broker(args.broker), args.key, args.layouts_dir)
    except Usage as exc:
        print(f"studio: {exc}", file=sys.stderr)
        return EX_USAGE
    shared = Studio(StudioLayouts(args.layouts_dir), args.save_dir or Path.cwd(), publisher)
    try:
        server = StudioServer(address, shared)
    except OSError as exc:
        why = "the port is in use (is a studio running already?)"
        if exc.errno != errno.EADDRINUSE:
            why = exc.strerror or str(exc)
        print(f"studio: cannot listen on {args.listen}: {why}", file=sys.stderr)
        return EX_UNAVAILABLE
    with server:
        print(f"studio: {server.url}", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(server.url)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the way to stop it
            server.serve_forever(poll_interval=0.2)
    from agent.studio.still import hold_renders

    # A request thread still inside pygame while the interpreter shuts down aborts the
    # process (SIGABRT, seen about 1 stop in 5): wait for the render in hand, then keep
    # every later one out until exit.
    hold_renders(timeout_s=10)
    return 0
