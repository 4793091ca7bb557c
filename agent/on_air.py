"""Pure: what is on air, decided from the time, the alerts and the playback.

One place for the rule the core used to compose four times: a full-screen alert takes
the screen and the content under it is frozen (its playback does not advance); when the
alert ends, the item it interrupted comes back with a fresh slot. From that follow the
frame (base scene and banner), `now_showing` and the proof-of-play events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from agent.alert_slots import alert_fields
from agent.alerts import AlertRotation
from agent.messages import Alert, Channel, NowShowing, PlaybackStarted, Playlist
from agent.playback import Playback, Showing
from agent.screen import Frame
from display_layouts.image_formats import RemoteImage
from display_layouts.render import Scene


def advance(
    playback: Playback,
    rotation: AlertRotation,
    now: datetime,
    playlists: Mapping[Channel, Playlist],
    full_changed: bool,
) -> Showing | None:
    """Move the playback on, unless a full-screen alert freezes it; the slot that started,
    if one did. When the alert has just ended (`full_changed`), the interrupted item resumes."""
    if rotation.full is not None:
        return None
    step = playback.resume if full_changed else playback.update
    return step(now, playlists)


def frame(
    now: datetime,
    board_name: str,
    rotation: AlertRotation,
    showing: Showing | None,
    use_builtin: Set[str],
    *,
    picture_ready: Callable[[RemoteImage], bool] = lambda _picture: False,
) -> Frame:
    """The frame on air: a full-screen alert, or the item (idle without one) under an
    optional banner. `use_builtin`: reserved layouts drawn in their built-in version;
    `picture_ready`: whether an alert's downloaded picture is in the cache."""
    if (full := rotation.full) is not None:
        fields = full_alert_fields(full.alert, picture_ready)
        builtin = "alert_full" in use_builtin
        # noticed: when its text first went on screen, where the attention pulse starts.
        scene = Scene(
            "alert_full",
            fields,
            board_name,
            now,
            started=full.since,
            builtin=builtin,
            noticed=full.noticed,
        )
        return Frame(scene)
    entry = showing.entry if showing else None
    if showing is None or entry is None:
        base = Scene("idle", {}, board_name, now, builtin="idle" in use_builtin)
    else:
        item = entry.item
        base = Scene(item.layout, item.fields, board_name, now, started=showing.since)
    if (banner := rotation.banner) is None:
        return Frame(base)
    builtin = "alert_banner" in use_builtin
    banner_fields = alert_fields(banner.alert)
    overlay = Scene(
        "alert_banner", banner_fields, board_name, now, started=banner.since, builtin=builtin
    )
    return Frame(base, overlay)


def full_alert_fields(
    alert: Alert, picture_ready: Callable[[RemoteImage], bool]
) -> dict[str, str | RemoteImage]:
    """alert_full's slots: the texts, and the picture once it can be shown. A downloaded
    one joins the fields when it is ready, so the frame differs and is drawn again: the
    alert goes on screen at once, its picture when it arrives. (The banner has none.)"""
    fields: dict[str, str | RemoteImage] = dict(alert_fields(alert))
    image = alert.image
    if isinstance(image, str) or (image is not None and picture_ready(image)):
        fields["image"] = image
    return fields


def now_showing(
    rotation: AlertRotation, showing: Showing | None, tz: ZoneInfo
) -> NowShowing | None:
    """The heartbeat's `now_showing`: the full-screen alert, else the item, else None."""
    full = rotation.full
    if full is not None:
        return NowShowing(item_id=full.alert.id, channel="alert", since=full.since)
    if showing is None or showing.entry is None:
        return None
    return NowShowing(
        item_id=showing.entry.item.id,
        channel=showing.entry.channel,
        since=showing.since.astimezone(tz),
    )


def proofs(
    stamp: Callable[[], datetime],
    *,
    power_on: bool,
    rotation: AlertRotation,
    started: Showing | None,
    full_changed: bool,
    banner_changed: bool,
) -> list[PlaybackStarted]:
    """`playback.started` for what just went on the output (stamped after drawing, by
    `stamp`: asked only when something started); none while the display is off."""
    if not power_on:
        return []
    shown: list[tuple[str, Channel | Literal["alert"], str]] = []
    if full_changed and rotation.full is not None:
        shown.append((rotation.full.alert.id, "alert", "alert_full"))
    if rotation.full is None and banner_changed and rotation.banner is not None:
        shown.append((rotation.banner.alert.id, "alert", "alert_banner"))
    if started is not None and started.entry is not None:
        entry = started.entry
        shown.append((entry.item.id, entry.channel, entry.item.layout))
    return [
        PlaybackStarted(at=stamp(), item_id=item_id, channel=channel, layout=layout)
        for item_id, channel, layout in shown
    ]


def status_line(
    broker: Literal["none", "online", "offline"],
    showing: NowShowing | None,
    alerts: int,
    trouble: str | None,
) -> str:
    """systemd's STATUS line: the broker, what is on air, the alerts, any link trouble."""
    said = {
        "none": "no broker",
        "online": "online",
        "offline": "offline (showing cached content)",
    }[broker]
    what = f"{showing.channel}/{showing.item_id}" if showing else "idle"
    line = f"{said}; showing {what}; {alerts} alerts"
    return f"{line}; {trouble}" if trouble else line
