"""The `signage-fleet` command line (CONTRACT §9): serve, users, publish.

Each subcommand's module is imported only when it runs, so `publish` never loads the web
stack and `--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from fleet.store.db import DEFAULT_DB_URL

EX_USAGE = 2
EX_UNAVAILABLE = 69  # sysexits: a broker or database cannot be reached
EX_DATAERR = 65  # sysexits: the input file is not a valid message


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signage-fleet",
        description="The city's side of signage-agent: fleet monitor, alert reach, publishing.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="ingest what boards publish; serve the web page and the JSON API"
    )
    serve.add_argument("--broker", required=True, metavar="HOST:PORT")
    serve.add_argument("--db", default=DEFAULT_DB_URL, metavar="URL")
    serve.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT")
    serve.add_argument("--root", default="signage/v1", help="the topic root (topic_root)")
    serve.add_argument(
        "--client-id",
        metavar="ID",
        help="the MQTT client id (default signage-fleet-<host name>; unique per broker)",
    )

    users = commands.add_parser("users", help="the web page's users")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="create a user, or set an existing one's password")
    add.add_argument("name")
    add.add_argument("--password-file", required=True, metavar="FILE")
    add.add_argument("--can-publish", action="store_true", help="may publish from the page")
    add.add_argument("--db", default=DEFAULT_DB_URL, metavar="URL")

    publish = commands.add_parser("publish", help="validate, sign and publish a message")
    publish.add_argument(
        "kind",
        choices=[
            "playlist",
            "alert",
            "cancel",
            "clear",
            "layout",
            "assignment",
            "command",
            "keyring",
        ],
    )
    publish.add_argument("file", help="the message file (- for standard input)")
    publish.add_argument("--to", metavar="TARGET", help="the channel, board, group or layout")
    publish.add_argument("--key", metavar="FILE.key", help="sign with this key")
    publish.add_argument("--broker", required=True, metavar="HOST:PORT")
    publish.add_argument("--root", default="signage/v1", help="the topic root (topic_root)")
    publish.add_argument("--bump", action="store_true", help="raise the version above the held one")
    publish.add_argument(
        "--wait", action="store_true", help="command: wait for and print its result"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "serve":
        from fleet.serve import serve

        return serve(args)
    if args.command == "users":
        from fleet.users import users_add

        return users_add(args)
    from fleet.publish import publish

    return publish(args)


if __name__ == "__main__":
    sys.exit(main())
