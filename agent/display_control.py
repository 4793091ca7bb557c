"""The display's power and brightness: what the schedule and commands set, and what a
severe alert makes of it (CONTRACT §6).

Two facts are kept apart. The *setting* is the power the last `display_power` command
left and the brightness of the schedule or of `set_brightness` (agent/brightness.py).
What the output is *given* follows from it, except while an extreme or severe alert is
active: then a display that is off is switched on and the brightness is 100 %, so a
storm warning is not left on a dark or night-dimmed board (`[alerts] wake_display`).
The alert never writes the setting: when it ends, the display returns to the setting
as it is then, even if a command or a schedule step changed it during the alert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from agent.alerts import FULL_SCREEN
from agent.brightness import Brightness
from agent.messages import Alert, DisplayHealth
from agent.screen import Screen

FULL_BRIGHTNESS = 100


@dataclass(frozen=True, slots=True)
class DisplaySetting:
    """Power and brightness as the schedule and the last commands set them."""

    power_on: bool
    percent: int


@dataclass(frozen=True, slots=True)
class GivenDisplay:
    """Power and brightness the output is given, and whether an alert raised them."""

    power_on: bool
    percent: int
    woken_by_alert: bool  # an alert switched the display on or lifted its brightness


def wakes(alert: Alert) -> bool:
    """An alert that must be seen whatever the display was set to: extreme or severe."""
    return alert.severity in FULL_SCREEN


def given_display(
    setting: DisplaySetting, active: Iterable[Alert], *, wake_display: bool
) -> GivenDisplay:
    """What the output is given: full power and brightness while an extreme or severe
    alert is active (with `wake_display`), else the setting unchanged."""
    if wake_display and any(wakes(alert) for alert in active):
        raised = not setting.power_on or setting.percent < FULL_BRIGHTNESS
        return GivenDisplay(power_on=True, percent=FULL_BRIGHTNESS, woken_by_alert=raised)
    return GivenDisplay(setting.power_on, setting.percent, woken_by_alert=False)


class DisplayControl:
    """Holds the display's setting and gives the screen what `given_display` decides:
    at each turn of the screen, and at once when a command switches the power."""

    def __init__(
        self,
        screen: Screen,
        brightness: Brightness,
        *,
        wake_display: bool,
        now: Callable[[], datetime],
    ) -> None:
        self.screen = screen
        self.brightness = brightness
        self.wake_display = wake_display
        self.now = now
        self.power_on = True  # the last `display_power`; a board starts switched on
        self.given = GivenDisplay(power_on=True, percent=FULL_BRIGHTNESS, woken_by_alert=False)
        self._active: tuple[Alert, ...] = ()  # the active alerts at the last turn

    def set_power(self, on: bool) -> None:
        """`display_power`: the setting changes; what the screen shows follows at once
        (an off display stays on while a severe alert lasts)."""
        self.power_on = on
        self.apply(self.now(), self._active)
        self.screen.redraw()

    def setting(self, now: datetime) -> DisplaySetting:
        return DisplaySetting(self.power_on, self.brightness.current(now))

    def apply(self, now: datetime, active: Iterable[Alert]) -> None:
        """Give the screen its power and brightness for `now` and these active alerts;
        the frame is drawn by the screen's next `show` or `redraw`."""
        self._active = tuple(active)
        setting = self.setting(now)
        self.given = given_display(setting, self._active, wake_display=self.wake_display)
        self.screen.set_display(self.given.power_on, self.given.percent)

    def health(self, mono: float) -> DisplayHealth:
        """The heartbeat's `display`: what the output was given, and whether an alert woke it."""
        health = self.screen.health(mono)
        return health.model_copy(update={"woken_by_alert": self.given.woken_by_alert})
