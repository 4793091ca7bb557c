"""A cancel written by `signage-fleet publish cancel` is never older than the alert it
cancels, so a board holding that alert ends it (the board ignores older messages,
CONTRACT §2). The fleet's own clock is whole seconds; an alert written a moment ago has
a finer `sent`, and one from a publisher whose clock runs ahead is later still."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agent.alerts import AlertBook, Ended, Started
from agent.cap import parse_cap
from agent.messages import Alert
from agent.validation import decode
from fleet.publish_messages import cap_cancel, read_alert, read_cancel
from tests.test_e2e_alerts import alert
from tests.test_e2e_feeds import storm_documents

AHEAD = [timedelta(0), timedelta(milliseconds=400), timedelta(minutes=3)]


@pytest.mark.parametrize("ahead", AHEAD)
def test_a_json_cancel_ends_an_alert_sent_just_now_or_by_a_clock_ahead(ahead: timedelta) -> None:
    now = datetime.now(UTC)
    raw = alert("bao-so-3", sent=(now + ahead).isoformat())
    book = AlertBook()
    held = decode(read_alert(raw).payload, Alert)
    assert any(isinstance(o, Started) for o in book.receive(held, now))
    cancel = decode(read_cancel(raw).payload, Alert)
    assert cancel.msg_type == "cancel"
    assert cancel.sent >= held.sent
    outcomes = book.receive(cancel, now)
    assert any(isinstance(o, Ended) for o in outcomes), outcomes
    assert not book.is_active("bao-so-3")


@pytest.mark.parametrize("ahead", [timedelta(0), timedelta(minutes=3)])
def test_a_cap_cancel_is_not_sent_before_the_message_it_cancels(ahead: timedelta) -> None:
    original = parse_cap(storm_documents()["vn-storm-bao-so-3"])
    sent = datetime.now(UTC).replace(microsecond=0) + ahead
    cancel = parse_cap(cap_cancel(replace(original, sent=sent)))
    assert cancel.msg_type == "Cancel"
    assert cancel.sent >= sent
    assert cancel.identifier.startswith(original.identifier)
