"""The alert book under any order of alerts, updates, cancels, replays, deletions and the
passing of time (Hypothesis stateful testing), checked against the contract's rules
written as a small reference model:

- per alert id, only a message newer (`sent`) than every one seen before changes anything,
  or one with the same `sent` that outranks what was applied then (cancel > update >
  alert); the same message again (a retained replay) changes nothing and is only
  counted; an older one, or one with the same `sent` that does not outrank, is ignored
  with a reason;
- `test` alerts are acknowledged, never active; `cancel` ends; an alert already expired
  when it arrives is not started (and ends the active one it updates);
- deletion (empty retained payload) ends an active alert; expiry ends it at `expires`;
- each outcome agrees with the change: started only when not active, updated or ended
  only when active; `active()` is most severe first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agent.alerts import (
    MSG_TYPE_RANK,
    SEVERITY_RANK,
    Acknowledged,
    AlertBook,
    Ended,
    Ignored,
    Replayed,
    Started,
    Updated,
    priority_key,
)
from agent.messages import Alert
from tests.test_alerts import T0
from tests.test_alerts import alert as make_alert

IDS = ("bao-so-3", "lu-quet", "chay-rung")


class AlertBookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = AlertBook()
        self.now = T0
        self.latest: dict[str, datetime] = {}  # newest `sent` per id (reference model)
        self.rank_at_latest: dict[str, int] = {}  # the highest kind applied at that `sent`
        self.seen_at_latest: dict[str, list[Alert]] = {}
        self.latest_shown: dict[str, datetime] = {}  # … of the messages that are not tests
        self.active: dict[str, Alert] = {}
        self.sent_messages: list[Alert] = []

    @rule(
        alert_id=st.sampled_from(IDS),
        kind=st.tuples(
            st.sampled_from(["alert", "update", "cancel"]),
            st.sampled_from(["actual", "actual", "exercise", "test"]),
            st.sampled_from(list(SEVERITY_RANK)),
        ),
        sent_offset_s=st.integers(min_value=-600, max_value=600),
        lifetime_s=st.integers(min_value=1, max_value=1200),
    )
    def receive(
        self, alert_id: str, kind: tuple[str, str, str], sent_offset_s: int, lifetime_s: int
    ) -> None:
        msg_type, status, severity = kind
        sent = self.now + timedelta(seconds=sent_offset_s)
        message = make_alert(
            alert_id,
            msg_type=msg_type,
            status=status,
            severity=severity,
            sent=sent,
            expires=sent + timedelta(seconds=lifetime_s),
        )
        self._receive(message)

    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """A message seen before arrives again (retained replay, or an older copy)."""
        if self.sent_messages:
            self._receive(data.draw(st.sampled_from(self.sent_messages)))

    def _receive(self, message: Alert) -> None:
        was_active = self.book.is_active(message.id)
        before = list(self.book.active())
        outcomes = self.book.receive(message, self.now)
        self.sent_messages.append(message)
        latest = self.latest.get(message.id)
        rank = MSG_TYPE_RANK[message.msg_type]
        if latest is not None and message.sent == latest:
            seen = self.seen_at_latest[message.id]
            if message in seen:
                assert [type(o) for o in outcomes] == [Replayed], "a replay is only counted"
                assert self.book.active() == before, "and changes nothing"
                return
            seen.append(message)
            if rank <= self.rank_at_latest[message.id]:
                assert [type(o) for o in outcomes] == [Ignored], "not outranking: ignored"
                assert self.book.active() == before, "and changes nothing"
                return
        elif latest is not None and message.sent < latest:
            assert [type(o) for o in outcomes] == [Ignored], "an older one is ignored"
            assert self.book.active() == before, "and changes nothing"
            return
        else:
            self.seen_at_latest[message.id] = [message]
        self.latest[message.id] = message.sent
        self.rank_at_latest[message.id] = rank
        if message.status != "test":
            self.latest_shown[message.id] = message.sent
        if message.status == "test":
            assert [type(o) for o in outcomes] == [Acknowledged]
        elif message.msg_type == "cancel":
            self.active.pop(message.id, None)
            expected = Ended if was_active else Ignored
            assert [type(o) for o in outcomes] == [expected]
        elif message.expires <= self.now:
            self.active.pop(message.id, None)
            assert [type(o) for o in outcomes] == [Ended if was_active else Ignored]
        else:
            self.active[message.id] = message
            assert [type(o) for o in outcomes] == [Updated if was_active else Started]

    @rule(alert_id=st.sampled_from(IDS))
    def delete(self, alert_id: str) -> None:
        was_active = self.book.is_active(alert_id)
        outcomes = self.book.delete(alert_id)
        self.active.pop(alert_id, None)
        assert [type(o) for o in outcomes] == ([Ended] if was_active else [])
        assert all(isinstance(o, Ended) and o.reason == "deleted" for o in outcomes)

    @rule(seconds=st.integers(min_value=0, max_value=900))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        outcomes = self.book.expire(self.now)
        gone = {i for i, a in self.active.items() if a.expires <= self.now}
        for alert_id in gone:
            del self.active[alert_id]
        assert {o.alert.id for o in outcomes if isinstance(o, Ended)} == gone
        assert all(isinstance(o, Ended) and o.reason == "expired" for o in outcomes)

    @invariant()
    def the_book_agrees_with_the_rules(self) -> None:
        assert {a.id: a for a in self.book.active()} == self.active

    @invariant()
    def never_shown_a_test_or_a_cancel(self) -> None:
        for alert in self.book.active():
            assert alert.status != "test"
            assert alert.msg_type != "cancel"

    @invariant()
    def an_active_alert_is_the_newest_message_of_its_id(self) -> None:
        for alert in self.book.active():  # (a newer `test` message leaves it as it is)
            assert alert.sent == self.latest_shown[alert.id] <= self.latest[alert.id]

    @invariant()
    def most_severe_first(self) -> None:
        active = self.book.active()
        assert active == sorted(active, key=priority_key)

    @invariant()
    def the_next_expiry_is_the_earliest(self) -> None:
        expected = min((a.expires for a in self.active.values()), default=None)
        assert self.book.next_expiry() == expected


AlertBookMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None
)
TestAlertBook = AlertBookMachine.TestCase
