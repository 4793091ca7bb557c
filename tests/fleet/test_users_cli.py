"""`signage-fleet users add`, run as a process the way an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher

from fleet.store.db import Store
from fleet.store.models import User


def users_add(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleet.cli", "users", "add", *args, "--db", db_url(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fleet.db'}"


def stored(tmp_path: Path, name: str) -> User | None:
    store = Store(db_url(tmp_path))
    try:
        with store.session() as session:
            return session.get(User, name)
    finally:
        store.close()


def test_add_creates_then_updates_a_user_with_an_argon2id_hash(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("mật khẩu dài\nignored second line\n", encoding="utf-8")
    done = users_add(tmp_path, "lan", "--password-file", str(password), "--can-publish")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "user lan created: view and publish\n"
    assert "mật khẩu" not in done.stdout + done.stderr
    user = stored(tmp_path, "lan")
    assert user is not None
    assert user.can_publish
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, "mật khẩu dài")

    password.write_text("another password\n", encoding="utf-8")
    done = users_add(tmp_path, "lan", "--password-file", str(password))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "user lan updated (new password): view only\n"
    user = stored(tmp_path, "lan")
    assert user is not None
    assert not user.can_publish
    assert PasswordHasher().verify(user.password_hash, "another password")


def test_an_empty_or_short_password_is_refused(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    for text, reason in (("\n", "empty"), ("short\n", "too short")):
        password.write_text(text, encoding="utf-8")
        done = users_add(tmp_path, "lan", "--password-file", str(password))
        assert done.returncode == 65
        assert reason in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1  # one clear line, no traceback


def test_an_unreadable_password_file_is_refused(tmp_path: Path) -> None:
    done = users_add(tmp_path, "lan", "--password-file", str(tmp_path / "missing"))
    assert done.returncode == 66
    assert "cannot read" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
