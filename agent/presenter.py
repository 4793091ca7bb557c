"""The screen's turn: what is due goes on air, drawn only when the frame changed.

on_air.py decides (pure); this part does it, once per turn of the core's loop: alerts
that expired, the display's power and brightness (agent/display_control.py: the hour's
brightness, or full power for a severe alert), the turns of full-screen and banner alerts,
the playback's next slot (frozen under a full-screen alert), the frame on the output, a
part that failed to draw recovered (agent/faults.py), and the proof of play of what went
on the output. It also says when the screen can next change, for the loop's sleep.
"""

from __future__ import annotations

from datetime import datetime

from agent import on_air
from agent.acceptance import ContentDesk
from agent.alert_desk import AlertDesk
from agent.brightness import Brightness
from agent.display_control import DisplayControl
from agent.events import Events
from agent.faults import FaultRecovery
from agent.messages import NowShowing
from agent.playback import Playback
from agent.screen import Frame, Screen


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
        self.faults = FaultRecovery(
            events,
            screen=screen,
            playback=playback,
            alerts=alerts,
            content=content,
            frame=self.frame,
        )

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
        events.emit_all(proofs)

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
        a clock's next minute, an alert's expiry, the next brightness step."""
        deadlines = (
            self.playback.next_wakeup(now, self.content.playlists),
            self.screen.refresh_at,
            self.alerts.next_wakeup(),
            self.brightness.next_change(now),
        )
        return [deadline for deadline in deadlines if deadline is not None]
