"""The screen's turn: what is due goes on air, drawn only when the frame changed.

on_air.py decides (pure); this part does it, once per turn of the core's loop: alerts
that expired, the display's power and brightness (agent/display_control.py: the hour's
brightness, or full power for a severe alert), the turns of full-screen and banner alerts,
the playback's next slot (frozen under a full-screen alert), the frame on the output, a
part that failed to draw recovered (agent/faults.py), and the proof of play of what went
on the output. It also says when the screen can next change, for the loop's sleep.

Between two such turns a running ticker, a clock or a clip only moves: `step` repaints it
and does nothing else (issue 18). That holds until the turn's own deadlines (a slot's
end, a validity or schedule edge, an alert's expiry, a brightness step), kept from the
last turn, or until the core says something arrived (`unsettle`): whatever a message
changes (content, layouts, alerts, commands, a finished download) gets a full turn.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent import on_air
from agent.acceptance import ContentDesk
from agent.alert_desk import AlertDesk
from agent.brightness import Brightness
from agent.clip_proof import ClipProof
from agent.display_control import DisplayControl
from agent.events import Events
from agent.faults import FaultRecovery
from agent.messages import AssetFailed, NowShowing, PlaybackEnded, PlaybackStarted
from agent.playback import Playback
from agent.screen import Frame, Screen

_NEVER = datetime.max.replace(tzinfo=UTC)  # no deadline: settled until something arrives
_JUMP_S = 0.5  # the wall clock moved this much against the monotonic one: it was set


class Presenter:
    def __init__(
        self,
        events: Events,
        *,
        board_name: str,
        screen: Screen,
        playback: Playback,
        brightness: Brightness,
        alerts: AlertDesk,
        content: ContentDesk,
        wake_display: bool,
    ) -> None:
        self.events = events
        self.board_name = board_name
        self.screen = screen
        self.playback = playback
        self.brightness = brightness
        self.alerts = alerts
        self.content = content
        self.display = DisplayControl(screen, brightness, wake_display=wake_display, now=events.now)
        self.clip_proof = ClipProof()
        self.faults = FaultRecovery(
            events,
            screen=screen,
            playback=playback,
            alerts=alerts,
            content=content,
            frame=self.frame,
        )
        # Until when only the time moves on what is on air (None: a turn is due), the
        # turn's deadlines then, and the wall clock's offset from the monotonic one.
        self._settled_until: datetime | None = None
        self._deadlines: list[datetime] = []
        self._offset = 0.0

    def unsettle(self) -> None:
        """Something arrived that may change what is on air: the next turn is a full one."""
        self._settled_until = None

    def step(self, now: datetime) -> bool:
        """The frame on air moved on to `now` (ticker, clock, clip) when nothing else can
        have changed since the last `turn`; False when a full `turn` is due instead."""
        until = self._settled_until
        if until is None or now >= until or self._clock_jumped(now):
            return False
        self.screen.step(now)
        if self.screen.faults:  # a zone failed: the turn's fault path deals with it
            self._settled_until = None
            return False
        return True

    def turn(self, now: datetime) -> None:
        """Put on air what is due at `now`, and say what started."""
        events, screen, playlists = self.events, self.screen, self.content.playlists
        events.emit_all(self.alerts.expire(now))
        rotation, active = self.alerts.rotation, self.alerts.book.active()
        full_changed, banner_changed = rotation.update_split(now, *self.alerts.book.split())
        if self.alerts.pictures_changed:  # a full-screen alert with a picture to download
            self.content.want_alert_pictures(self.alerts.remote_pictures())
        self.display.apply(now, active)  # before drawing: a woken display shows the alert
        started = on_air.advance(self.playback, rotation, now, playlists, full_changed)
        if not screen.show(self.frame(now)):
            screen.refresh(now)
        if screen.faults:
            started = self.faults.recover(now, started, playlists)
        self.content.after_draw()
        proofs = on_air.proofs(
            events.now,
            power_on=screen.power_on,
            rotation=rotation,
            started=started,
            full_changed=full_changed,
            banner_changed=banner_changed,
        )
        events.emit_all(self._clips_after_draw(now, proofs))
        events.emit_all(proofs)
        self._settle(now)

    def _settle(self, now: datetime) -> None:
        """After a turn: what is on air stays as it is, its moving zones apart, until the
        first of the turn's deadlines (eligibility, alerts, brightness are not asked again
        per frame). The screen's own deadline is not one: `step` handles it."""
        deadlines = (
            self.playback.next_wakeup(now, self.content.playlists),
            self.alerts.next_wakeup(),
            self.brightness.next_change(now),
        )
        self._deadlines = [deadline for deadline in deadlines if deadline is not None]
        self._settled_until = min(self._deadlines, default=_NEVER)
        if self.screen.faults or self.alerts.pictures_changed:
            self._settled_until = None
        self._offset = now.timestamp() - self.events.clock.monotonic()

    def _clock_jumped(self, now: datetime) -> bool:
        """The wall clock set (NTP at boot, a technician): the deadlines are asked again."""
        drift = now.timestamp() - self.events.clock.monotonic() - self._offset
        return abs(drift) > _JUMP_S

    def _clips_after_draw(
        self, now: datetime, proofs: list[PlaybackStarted]
    ) -> list[PlaybackEnded | AssetFailed]:
        """The players of clips no longer on screen closed; a clip that failed while
        playing reported for each item showing it; `playback.ended` of a clip item that
        left the screen (sent before the next item's `playback.started`)."""
        content, showing = self.content, self.playback.showing
        covered = self.alerts.rotation.full is not None
        entry = showing.entry if showing is not None and not covered else None
        on_screen = content.clip_names(entry.item) if entry is not None else set()
        content.clips.keep_only(on_screen)
        reports: list[PlaybackEnded | AssetFailed] = []
        for failure in content.clips.take_failures():
            reports.extend(
                AssetFailed(at=now, item_id=item_id, url=failure.url, message=failure.message)
                for item_id in content.items_with(failure.asset_name)
            )
        ended = self.clip_proof.after_turn(
            now, showing, proofs, covered=covered, shows_clip=bool(on_screen)
        )
        return [*ended, *reports]

    def frame(self, now: datetime) -> Frame:
        rotation, showing = self.alerts.rotation, self.playback.showing
        content = self.content
        return on_air.frame(
            now,
            self.board_name,
            rotation,
            showing,
            content.drawable.use_builtin,
            picture_ready=content.picture_ready,
        )

    def now_showing(self) -> NowShowing | None:
        return on_air.now_showing(self.alerts.rotation, self.playback.showing, self.events.tz)

    def changes(self, now: datetime) -> list[datetime]:
        """When what is on air can next change: the end of a slot or a validity window,
        a clock's next minute, an alert's expiry, the next brightness step (those of the
        last turn while it holds: not worked out again for each ticker frame)."""
        if self._settled_until is not None:
            deadlines = list(self._deadlines)
        else:
            found = (
                self.playback.next_wakeup(now, self.content.playlists),
                self.alerts.next_wakeup(),
                self.brightness.next_change(now),
            )
            deadlines = [deadline for deadline in found if deadline is not None]
        refresh_at = self.screen.refresh_at
        return deadlines if refresh_at is None else [*deadlines, refresh_at]
