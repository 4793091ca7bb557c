"""The `signage-fleet` command line (CONTRACT §9): serve, users, publish.

Each subcommand's module is imported only when it runs, so `publish` never loads the web
stack and `--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from fleet.defaults import DEFAULT_DB_URL, DEFAULT_LISTEN, DEFAULT_ROOT, EX_UNAVAILABLE
from fleet.publish_args import add_arguments

# What `[fleet]` installs for `serve` and `users` (`publish` needs only the agent's own
# dependencies): `--help` and the message below work without it (a board).
FLEET_EXTRA = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "argon2", "psycopg")


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
    serve.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT")
    serve.add_argument("--root", default=DEFAULT_ROOT, help="the topic root (topic_root)")
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
    add_arguments(publish)
    return parser


def _missing_extra() -> list[str]:
    from importlib.util import find_spec

    return [name for name in FLEET_EXTRA if find_spec(name) is None]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        # Alembic's INFO lines (plugins set up, each revision) are for developers; serve
        # says in its own line that the database is migrated.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    missing = _missing_extra() if args.command in ("serve", "users") else []
    if missing:
        print(
            f"signage-fleet: the [fleet] extra is not installed (no {', '.join(missing)}): "
            "pip install 'signage-agent[fleet]'",
            file=sys.stderr,
        )
        return EX_UNAVAILABLE
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
