"""The board computer itself: fonts, clock, the state folder's disk, the inbox."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

from agent.config import AgentConfig
from agent.doctor.access import EXECUTE, WRITE, checking_identity
from agent.doctor.check import Check
from agent.health import clock_synced

MIN_FREE_MB = 100
# Earlier than this, the clock has not been set since the image was made.
SANE_YEAR = 2025

VIETNAMESE_LETTERS = "".join(chr(c) for c in range(0x1EA0, 0x1EFA)) + "ăâđêôơưĂÂĐÊÔƠƯ"

REINSTALL_FIX = "reinstall signage-agent (sudo ./systemd/install.sh): its bundled fonts are damaged"


def check_fonts() -> Check:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from display_layouts.fonts import Face, face

    for kind in Face:
        try:
            missing = [ch for ch in VIETNAMESE_LETTERS if not face(kind).covers(ch)]
        except Exception as exc:
            return Check.failed(f"font {kind.value} cannot be loaded: {exc}", REINSTALL_FIX)
        if missing:
            return Check.failed(f"font {kind.value} lacks {''.join(missing[:10])}", REINSTALL_FIX)
    names = ", ".join(kind.value for kind in Face)
    return Check.passed(f"fonts cover Vietnamese (ă â đ ê ô ơ ư and U+1EA0–U+1EF9): {names}")


def check_clock(
    config: AgentConfig,
    synced: Callable[[], bool | None] | None = None,
    now: Callable[[ZoneInfo], datetime] = datetime.now,
) -> Check:
    zone = config.board.timezone
    local = now(ZoneInfo(zone))
    says = f"{local:%H:%M %a %d/%m/%Y} in {zone}{_system_zone_note(zone)}"
    if local.year < SANE_YEAR:
        return Check.failed(
            f"the clock is wrong: it says {says}",
            "a Pi has no battery clock: connect it to the network so NTP sets the time "
            "(timedatectl shows it)",
        )
    state = (synced or clock_synced)()
    if state is False:
        return Check.failed(
            f"clock not synchronised by NTP; it says {says}",
            "sudo timedatectl set-ntp true; the network must let NTP out (UDP port 123); "
            "timedatectl timesync-status names the server",
        )
    if state is None:
        return Check.skipped(f"clock synchronisation unknown; it says {says}")
    return Check.passed(f"clock synchronised (NTP): {says}; compare with your watch")


def _system_zone_note(zone: str) -> str:
    system = _system_zone()
    if system is None or system == zone:
        return ""
    return f" (system time zone {system}: journal times are in that zone)"


def _system_zone() -> str | None:
    try:
        target = str(Path("/etc/localtime").readlink())
    except OSError:
        return None
    return target.partition("zoneinfo/")[2] or None


def check_state_dir(config: AgentConfig) -> Check:
    state = config.storage.state_dir
    if not state.is_dir():
        return Check.failed(
            f"state folder {state} is missing",
            f"the installer makes it: sudo install -d -o signage-agent -g signage-agent "
            f"-m 0750 {state}",
        )
    identity = checking_identity()
    if not identity.may(state, WRITE | EXECUTE):
        return Check.failed(
            f"{identity.name} may not write in the state folder {state}",
            f"sudo chown signage-agent:signage-agent {state}",
        )
    return _disk(state, identity.name)


def _disk(state: Path, who: str) -> Check:
    if os.statvfs(state).f_flag & os.ST_RDONLY:
        return Check.failed(
            f"state folder {state} is on a read-only file system",
            "the SD card may be failing: save /etc/signage-agent and put in a new card "
            "(technician guide: replacing a board)",
        )
    kind = _filesystem(state)
    if kind == "overlay":
        return Check.failed(
            f"state folder {state} is on a RAM overlay: content and the outbox vanish at reboot",
            "sudo raspi-config → Performance Options → Overlay File System: No; reboot",
        )
    usage = shutil.disk_usage(state)
    free_mb, total_mb = usage.free // 2**20, usage.total // 2**20
    if free_mb < MIN_FREE_MB:
        return Check.failed(
            f"state folder {state}: only {free_mb} MB free",
            "free space: sudo apt-get clean; sudo journalctl --vacuum-size=50M",
        )
    return Check.passed(
        f"state folder {state}: writable by {who}, {free_mb} MB free of {total_mb} MB ({kind})"
    )


def _filesystem(path: Path) -> str:
    """The file system type of the mount that holds `path`."""
    real = str(path.resolve())
    best, kind = "", "?"
    for part in psutil.disk_partitions(all=True):
        mount = part.mountpoint
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, part.fstype
    return kind


def check_inbox(config: AgentConfig) -> Check | None:
    if config.inbox is None:
        return None
    inbox, state = config.inbox.dir, config.storage.state_dir
    if inbox.is_symlink():  # the agent does not follow it: a stick could point it anywhere
        return Check.failed(
            f"inbox {inbox} is a symbolic link to {inbox.readlink()}: the agent does not follow it",
            f'set [inbox] dir = "{inbox.resolve()}" (the real folder)',
        )
    if inbox.exists() and not inbox.is_dir():
        return Check.failed(
            f"inbox {inbox} is not a folder", "remove it, or set [inbox] dir elsewhere"
        )
    if not inbox.resolve().is_relative_to(state.resolve()):
        return Check.failed(
            f"inbox {inbox} is outside the state folder {state}: the service may write "
            "only there (it notes bad files beside them)",
            f'use a folder in it, e.g. dir = "{state}/inbox"; or allow this one: '
            f"sudo systemctl edit signage-agent → [Service] ReadWritePaths={inbox}",
        )
    shown = "" if inbox.is_dir() else " (the agent makes it at start)"
    return Check.passed(f"inbox {inbox}{shown}: copy playlist files there")
