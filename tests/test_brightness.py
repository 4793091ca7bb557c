from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.brightness import Brightness
from agent.config import BrightnessStep

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, tzinfo=TZ)


STEPS = [
    BrightnessStep(at="06:00", percent=80),
    BrightnessStep(at="18:30", percent=100),
    BrightnessStep(at="22:00", percent=30),
]


def test_schedule_steps_hold_until_the_next_and_wrap_over_midnight() -> None:
    brightness = Brightness(STEPS, TZ)
    assert brightness.current(at(5, 59)) == 30  # still last night's step
    assert brightness.current(at(6)) == 80
    assert brightness.current(at(18, 29)) == 80
    assert brightness.current(at(18, 30)) == 100
    assert brightness.current(at(23)) == 30
    assert brightness.next_change(at(23)) == at(6) + timedelta(days=1)


def test_no_schedule_is_full_brightness() -> None:
    brightness = Brightness([], TZ)
    assert brightness.current(at(3)) == 100
    assert brightness.next_change(at(3)) is None


def test_override_for_a_while_then_the_schedule_resumes() -> None:
    brightness = Brightness(STEPS, TZ)
    brightness.set(10, 60, at(12))
    assert brightness.current(at(12)) == 10
    assert brightness.next_change(at(12)) == at(12, 1)
    assert brightness.current(at(12, 1)) == 80


def test_override_without_duration_lasts_until_the_next_step() -> None:
    brightness = Brightness(STEPS, TZ)
    brightness.set(50, None, at(12))
    assert brightness.current(at(18, 29)) == 50
    assert brightness.current(at(18, 30)) == 100
