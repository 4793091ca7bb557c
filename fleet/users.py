"""`signage-fleet users add`: create a web user, or set an existing one's password.

The password comes from a file (never the command line, where `ps` and shell history
would show it); only its first line counts, so a trailing newline is not part of it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher

from fleet.store.db import Store
from fleet.store.models import User

EX_DATAERR = 65  # sysexits: the password file holds no acceptable password
EX_NOINPUT = 66  # sysexits: the password file cannot be read
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # Argon2 takes any length; a bound keeps a mistaken file out
MAX_NAME = 64

# One hasher for the CLI and the web login: argon2-cffi's defaults are Argon2id with
# RFC 9106's low-memory parameters, and `check_needs_rehash` follows them when they move.
HASHER = PasswordHasher()


def read_password(path: str) -> str:
    """The password on the file's first line; ValueError/OSError say why not."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the password file is not UTF-8 text") from None
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise ValueError("the password file's first line is empty")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password is too short (at least {MIN_PASSWORD} characters)")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"the password is too long (at most {MAX_PASSWORD} characters)")
    return password


def valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and name.isprintable() and ":" not in name


def users_add(args: argparse.Namespace) -> int:
    name: str = args.name
    if not valid_name(name):
        print(
            f"signage-fleet: a user name is 1-{MAX_NAME} printable characters without ':'",
            file=sys.stderr,
        )
        return EX_DATAERR
    try:
        password = read_password(args.password_file)
    except OSError as exc:
        print(f"signage-fleet: cannot read {args.password_file}: {exc.strerror}", file=sys.stderr)
        return EX_NOINPUT
    except ValueError as exc:
        print(f"signage-fleet: {args.password_file}: {exc}", file=sys.stderr)
        return EX_DATAERR
    store = Store(args.db)
    try:
        store.create_schema()
        with store.session() as session:
            user = session.get(User, name)
            created = user is None
            if user is None:
                user = User(name=name, created_at=datetime.now(UTC), can_publish=False)
                session.add(user)
            user.password_hash = HASHER.hash(password)
            user.can_publish = bool(args.can_publish)
    finally:
        store.close()
    permission = "view and publish" if args.can_publish else "view only"
    verb = "created" if created else "updated (new password)"
    print(f"user {name} {verb}: {permission}")
    return 0
