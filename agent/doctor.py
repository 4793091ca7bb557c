"""`signage-agent doctor`: a technician's checks, one line each, with what to do on failure."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from agent.config import AgentConfig, ConfigError, MqttConfig, load_config
from agent.health import clock_synced


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    what: str
    fix: str = ""


def check_state_dir(config: AgentConfig) -> Check:
    state = config.storage.state_dir
    try:
        state.mkdir(parents=True, exist_ok=True)
        probe = state / ".doctor-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
        free_mb = os.statvfs(state).f_bavail * os.statvfs(state).f_frsize // 2**20
    except OSError as exc:
        return Check(
            False,
            f"state dir {state}: {exc.strerror or exc}",
            "create it and give the service user write access (systemd: StateDirectory=)",
        )
    if free_mb < 50:
        return Check(
            False, f"state dir {state}: only {free_mb} MB free", "free space on the SD card"
        )
    return Check(True, f"state dir {state} writable, {free_mb} MB free")


VIETNAMESE_LETTERS = "".join(chr(c) for c in range(0x1EA0, 0x1EFA)) + "ăâđêôơưĂÂĐÊÔƠƯ"


def check_fonts() -> Check:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from display_layouts.fonts import Face, face

    for kind in Face:
        missing = [ch for ch in VIETNAMESE_LETTERS if not face(kind).covers(ch)]
        if missing:
            return Check(
                False,
                f"font {kind.value} lacks {''.join(missing[:10])}",
                "reinstall signage-agent: its bundled fonts are damaged",
            )
    return Check(True, "fonts cover Vietnamese (every letter of U+1EA0–U+1EF9 and ă â đ ê ô ơ ư)")


def check_clock(config: AgentConfig) -> Check:
    synced = clock_synced()
    zone = config.board.timezone
    if synced is False:
        return Check(
            False,
            f"clock not synchronised (time zone {zone})",
            "enable NTP: sudo timedatectl set-ntp true; check that UDP 123 is open",
        )
    state = "synchronised" if synced else "synchronisation unknown"
    return Check(True, f"clock {state}, time zone {zone}")


def _mqtt_connect(cfg: MqttConfig, client_id: str, timeout: float) -> str | None:
    """None when the broker accepted us, else why not."""
    from agent.link import new_client

    done = threading.Event()
    outcome: list[str | None] = ["no answer from the broker"]

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        outcome[0] = None if not getattr(reason, "is_failure", True) else f"refused: {reason}"
        done.set()

    client = new_client(cfg, f"{client_id}-doctor")
    client.on_connect = on_connect
    try:
        client.connect(cfg.host, cfg.effective_port, keepalive=10)
    except (OSError, ssl.SSLError) as exc:
        return f"{exc}"
    client.loop_start()
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()
    return outcome[0]


def check_broker(config: AgentConfig) -> list[Check]:
    cfg = config.mqtt
    if cfg is None:
        return [Check(True, "no [mqtt] section: local inbox only")]
    where = f"{cfg.host}:{cfg.effective_port}"
    started = time.monotonic()
    try:
        socket.getaddrinfo(cfg.host, cfg.effective_port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return [
            Check(
                False,
                f"broker host {cfg.host} does not resolve: {exc}",
                "check [mqtt] host and the board's DNS / mobile data",
            )
        ]
    dns_ms = (time.monotonic() - started) * 1000
    started = time.monotonic()
    try:
        with socket.create_connection((cfg.host, cfg.effective_port), timeout=5):
            pass
    except OSError as exc:
        return [
            Check(True, f"broker host {cfg.host} resolves ({dns_ms:.0f} ms)"),
            Check(
                False,
                f"broker {where} unreachable: {exc.strerror or exc}",
                "check [mqtt] port, the broker service, and firewalls on the way",
            ),
        ]
    tcp_ms = (time.monotonic() - started) * 1000
    started = time.monotonic()
    problem = _mqtt_connect(cfg, config.board.id, timeout=5)
    mqtt_ms = (time.monotonic() - started) * 1000
    checks = [Check(True, f"broker {where} reachable (DNS {dns_ms:.0f} ms, TCP {tcp_ms:.0f} ms)")]
    if problem:
        checks.append(
            Check(
                False,
                f"MQTT session with {where}: {problem}",
                "check username, password_file and TLS files in [mqtt]",
            )
        )
    else:
        checks.append(Check(True, f"MQTT session accepted ({mqtt_ms:.0f} ms)"))
    return checks


def check_display(config: AgentConfig) -> Check:
    from agent.output import display_available

    output = config.display.output
    if output != "screen":
        return Check(True, f"display output: {output}")
    if display_available():
        return Check(True, "display: a window system or KMS device is present")
    return Check(
        False,
        "display: no X/Wayland session and no /dev/dri/card* device",
        'enable KMS (dtoverlay=vc4-kms-v3d) or set [display] output = "headless"',
    )


def run_doctor(config_path: Path, out: TextIO) -> int:
    def show(check: Check) -> None:
        print(f"{'✓' if check.ok else '✗'} {check.what}", file=out)
        if not check.ok and check.fix:
            print(f"    → {check.fix}", file=out)

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        show(
            Check(
                False,
                f"config {config_path}: {len(exc.problems)} problem(s)",
                "fix these keys:\n      " + "\n      ".join(exc.problems),
            )
        )
        return 1
    show(Check(True, f"config {config_path} valid"))
    board = config.board
    show(Check(True, f"board {board.id} ({board.name}), {board.district}/{board.commune}"))
    steps: list[Callable[[], list[Check] | Check]] = [
        lambda: check_broker(config),
        lambda: check_display(config),
        check_fonts,
        lambda: check_clock(config),
        lambda: check_state_dir(config),
    ]
    failed = False
    for step in steps:
        result = step()
        for check in result if isinstance(result, list) else [result]:
            show(check)
            failed |= not check.ok
    return 1 if failed else 0
