"""Whose access to a device or folder the doctor checks: the service's, when it exists.

A technician often runs doctor as root (sudo) or as the `pi` user, whose rights differ
from the service's. When the service user exists, access is judged for it, with the
groups the unit gives it; otherwise for whoever runs doctor.
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "signage-agent"
# SupplementaryGroups= of systemd/signage-agent.service.
SERVICE_GROUPS = ("dialout", "video", "render", "audio")

READ, WRITE, EXECUTE = 4, 2, 1


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    uid: int
    gids: frozenset[int]

    def may(self, path: Path, wanted: int) -> bool:
        """Whether the mode bits of `path` grant all of `wanted` (READ|WRITE|EXECUTE)."""
        if self.uid == 0:
            return True
        info = path.stat()
        if info.st_uid == self.uid:
            bits = info.st_mode >> 6
        elif info.st_gid in self.gids:
            bits = info.st_mode >> 3
        else:
            bits = info.st_mode
        return bits & wanted == wanted


def _group_ids(names: tuple[str, ...]) -> set[int]:
    ids = set()
    for name in names:
        try:
            ids.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            continue
    return ids


def service_identity() -> Identity | None:
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None
    member_of = {g.gr_gid for g in grp.getgrall() if SERVICE_USER in g.gr_mem}
    gids = {user.pw_gid} | member_of | _group_ids(SERVICE_GROUPS)
    return Identity(SERVICE_USER, user.pw_uid, frozenset(gids))


def current_identity() -> Identity:
    gids = frozenset({os.getegid(), *os.getgroups()})
    return Identity(f"you ({getpass.getuser()})", os.geteuid(), gids)


def checking_identity() -> Identity:
    return service_identity() or current_identity()


def describe_mode(path: Path) -> str:
    """`crw-rw---- root:dialout`, as `ls -l` shows it."""
    info = path.stat()
    return f"{stat.filemode(info.st_mode)} {_user_name(info.st_uid)}:{_group_name(info.st_gid)}"


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def run_as_service_hint() -> str:
    return f"run doctor as the service does: sudo -u {SERVICE_USER} signage-agent doctor"
