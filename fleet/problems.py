"""What is wrong with a board, from its presence and its latest heartbeat (pure rules).

Each problem has a stable `code` (for scripts and the page's badges) and a message in
Vietnamese first, then English. Unknown or missing heartbeat fields are simply not
judged: an older board that lacks `display.missing_glyphs` has no glyph problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

HEARTBEAT_INTERVAL_S = 30.0  # the agent's default heartbeat interval
STALE_AFTER_INTERVALS = 3
OUTBOX_BACKLOG = 100  # queued messages that count as a backlog even while offline


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str


def _section(heartbeat: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = heartbeat.get(name)
    return value if isinstance(value, Mapping) else {}


def _number(section: Mapping[str, Any], key: str) -> float | None:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def board_problems(
    *,
    state: str,
    heartbeat: Mapping[str, Any] | None,
    last_heartbeat_at: datetime | None,
    recent_display_errors: int,
    now: datetime,
    heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
) -> list[Problem]:
    """The board's problems, most serious first."""
    problems: list[Problem] = []
    online = state == "online"
    if not online:
        problems.append(Problem("offline", "Mất kết nối / Offline"))
    stale_after = STALE_AFTER_INTERVALS * heartbeat_interval_s
    if online and (
        last_heartbeat_at is None or (now - last_heartbeat_at).total_seconds() > stale_after
    ):
        problems.append(
            Problem(
                "heartbeat_stale",
                f"Không nhận nhịp tim quá {stale_after:.0f} giây / "
                f"No heartbeat for over {stale_after:.0f} s",
            )
        )
    problems.extend(_heartbeat_problems(heartbeat or {}, online))
    if recent_display_errors > 0:
        problems.append(
            Problem(
                "display_errors",
                f"Lỗi hiển thị gần đây: {recent_display_errors} / "
                f"Recent display errors: {recent_display_errors}",
            )
        )
    return problems


def _heartbeat_problems(heartbeat: Mapping[str, Any], online: bool) -> list[Problem]:
    problems: list[Problem] = []
    mqtt = _section(heartbeat, "mqtt")
    outbox = _number(mqtt, "outbox")
    if outbox is not None and (outbox > OUTBOX_BACKLOG or (online and outbox > 0)):
        problems.append(
            Problem(
                "outbox_backlog",
                f"Hàng đợi gửi tồn {outbox:.0f} tin / Outbox backlog: {outbox:.0f} messages",
            )
        )
    denied = _number(mqtt, "denied")
    if denied is not None and denied > 0:
        problems.append(
            Problem(
                "publish_denied",
                f"Broker từ chối {denied:.0f} lần gửi / Broker denied {denied:.0f} publishes",
            )
        )
    display = _section(heartbeat, "display")
    glyphs = _number(display, "missing_glyphs")
    if glyphs is not None and glyphs > 0:
        problems.append(
            Problem(
                "missing_glyphs",
                f"Thiếu {glyphs:.0f} ký tự trong phông / {glyphs:.0f} glyphs missing from fonts",
            )
        )
    if _section(heartbeat, "system").get("clock_synced") is False:
        problems.append(
            Problem("clock_not_synced", "Đồng hồ chưa đồng bộ / Clock not synchronised")
        )
    serial = heartbeat.get("serial")
    if isinstance(serial, Mapping) and serial.get("connected") is False:
        problems.append(
            Problem("serial_disconnected", "Mất kết nối cổng nối tiếp / Serial link down")
        )
    return problems
