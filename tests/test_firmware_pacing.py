"""The writer's timing rules and its latest-wins mailbox, on injected clocks."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from firmware_bridge.frame import PanelFrame
from firmware_bridge.mailbox import Mailbox
from firmware_bridge.pacing import ACK_MISSES_BEFORE_DOUBT, AckWatch, Backoff, LineModel
from firmware_bridge.protocols import serial_settings
from firmware_bridge.protocols.base import SignText


def test_the_line_is_busy_for_the_time_its_bytes_take() -> None:
    line = LineModel(bytes_per_second=11_520)  # 115200 baud, 8N1
    line.sent(1152, at=10.0)
    assert line.free_in(10.0) == pytest.approx(0.1)
    line.sent(1152, at=10.05)  # queued behind the first
    assert line.busy_until == pytest.approx(10.2)
    assert line.free_in(10.3) == 0.0
    line.drained(10.15)  # the controller acknowledged it all
    assert line.busy_until == 10.15


def test_bits_per_byte_follow_the_line_format() -> None:
    def bits(**line: Any) -> int:
        panel = {"port": "loop://", "protocol": "alpha", "panel_width": 8, "panel_height": 8}
        return serial_settings(**panel, **line).bits_per_byte

    assert bits() == 10
    assert bits(bytesize=7, parity="even") == 10
    assert bits(bytesize=8, parity="even") == 11
    assert bits(bytesize=7, parity="even", stopbits=2) == 11


def test_reconnection_backs_off_doubling_up_to_a_ceiling_and_resets() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_auto_waits_for_acknowledgements_once_the_controller_sends_them() -> None:
    acks = AckWatch("auto")
    acks.sent()
    assert not acks.waiting
    acks.received(b"\xac", b"\xac")
    assert acks.waiting
    assert acks.owed == 0


def test_auto_stops_waiting_when_acknowledgements_stop_coming() -> None:
    acks = AckWatch("auto", seen=True)
    for _ in range(ACK_MISSES_BEFORE_DOUBT):
        acks.sent()
        acks.timed_out()
    assert not acks.waiting


def test_wait_and_off_are_taken_literally() -> None:
    assert AckWatch("wait").waiting
    off = AckWatch("off", seen=True)
    off.sent()
    assert not off.waiting
    assert off.owed == 0


def frame(n: int) -> PanelFrame:
    return PanelFrame(1, 1, "mono", bytes([n & 1]))


def test_the_mailbox_keeps_only_the_newest_frame() -> None:
    mailbox = Mailbox()
    for n in range(100):
        mailbox.put_content(SignText(f"frame {n}"))
    wanted = mailbox.wait_newer(None, timeout=0)
    assert wanted is not None
    assert wanted.content == SignText("frame 99")
    assert wanted.content_version == 100


def test_the_mailbox_offers_nothing_already_shown_and_everything_after_a_reconnect() -> None:
    mailbox = Mailbox()
    mailbox.put_content(frame(1))
    mailbox.put_brightness(40)
    shown = mailbox.newest()
    assert mailbox.wait_newer(shown, timeout=0) is None
    assert mailbox.wait_newer(None, timeout=0) == shown  # nothing shown on a new connection
    mailbox.put_brightness(60)
    newer = mailbox.wait_newer(shown, timeout=0)
    assert newer is not None
    assert newer.brightness == 60
    assert newer.content == frame(1)


def test_closing_the_mailbox_wakes_a_waiting_writer() -> None:
    mailbox = Mailbox()
    woke = threading.Event()

    def writer() -> None:
        mailbox.wait_newer(mailbox.newest(), timeout=60)
        woke.set()

    thread = threading.Thread(target=writer)
    thread.start()
    mailbox.close()
    assert woke.wait(10)
    thread.join()
