"""Never silence (CONTRACT §6): whatever sequence of JSON and CAP alerts, updates,
cancels, replays, bad payloads and deletions an alert topic receives, each payload ends
in exactly one outcome — one alert event, or a refusal (`InvalidInput`, said as one
content.rejected by the intake) that changes nothing — except the same bytes again (a
replay: counted, not said) and an empty payload for nothing (a deletion of nothing)."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.alert_desk import AlertDesk, AlertSettings
from agent.caches import AlertStore
from agent.messages import AlertEnded, AlertStarted, AlertUpdated
from agent.validation import InvalidInput
from tests.cap_documents import cap_alert

ICT = timezone(timedelta(hours=7))
T0 = datetime(2026, 9, 6, 10, 0, tzinfo=ICT)
OUTCOMES = {"alert.started", "alert.updated", "alert.ended", "alert.ignored", "alert.test"}
# Few values, so that messages often share an incident, a `sent` or their very bytes.
SENT = st.sampled_from([0, 0, 0, 1, 60])
IDENTIFIERS = ("A-1", "A-2", "A-3", "B-1")


@st.composite
def json_payloads(draw: st.DrawFn) -> tuple[str, bytes]:
    alert_id = draw(st.sampled_from(["bao-so-3", "lu-quet"]))
    sent = T0 + timedelta(seconds=draw(SENT))
    data: dict[str, Any] = {
        "type": "alert",
        "id": alert_id,
        "msg_type": draw(st.sampled_from(["alert", "update", "cancel"])),
        "status": draw(st.sampled_from(["actual", "actual", "exercise", "test"])),
        "sender": "hanoi-civil-defense",
        "sent": sent.isoformat(),
        "expires": (sent + timedelta(hours=draw(st.sampled_from([1, 6])))).isoformat(),
        "severity": draw(st.sampled_from(["extreme", "severe", "minor", "unknown"])),
        "urgency": "immediate",
        "headline": draw(st.sampled_from(["Bão số 3", "Bão số 3 mạnh lên"])),
        "description": "Gió mạnh cấp 10.",
    }
    topic = draw(st.sampled_from([alert_id, alert_id, "khac"]))  # "khac": id mismatch
    return topic, json.dumps(data, ensure_ascii=False).encode()


@st.composite
def cap_payloads(draw: st.DrawFn) -> tuple[str, bytes]:
    identifier = draw(st.sampled_from(IDENTIFIERS))
    sent = T0 + timedelta(seconds=draw(SENT))
    msg_type = draw(st.sampled_from(["Alert", "Update", "Cancel", "Ack"]))
    others = [i for i in IDENTIFIERS if i != identifier]
    referenced = draw(st.lists(st.sampled_from(others), max_size=2, unique=True))
    references = tuple((i, T0) for i in referenced) if msg_type != "Alert" else ()
    payload = cap_alert(
        identifier,
        sent,
        msg_type=msg_type,
        references=references,
        status=draw(st.sampled_from(["Actual", "Actual", "Exercise", "Test", "System", "Draft"])),
        severity=draw(st.sampled_from(["Extreme", "Severe", "Minor", "Unknown"])),
        expires=draw(st.sampled_from([None, sent + timedelta(hours=2)])),
        headline=draw(st.sampled_from(["Bão số 3", "Bão số 3 mạnh lên"])),
        infos=0 if msg_type == "Cancel" and draw(st.booleans()) else 1,
    )
    return draw(st.sampled_from(["cap-1", "cap-2"])), payload


BAD = st.sampled_from(
    [
        b"not an alert",
        b'{"type": "alert", "id": "bao-so-3"}',
        b'{"type": "alert"',
        b"<alert>",
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>',
        cap_alert("Z-1", T0).replace(b"+07:00</sent>", b"Z</sent>"),
        cap_alert("Z-2", T0, msg_type="Update", references=(("Z-2", T0),)),  # itself
        cap_alert("Z-3", T0, msg_type="Update", references=(("Z-0", T0 + timedelta(1)),)),
    ]
)
STEPS = st.one_of(
    json_payloads(),
    cap_payloads(),
    st.tuples(st.sampled_from(["bao-so-3", "cap-1"]), BAD),
    st.tuples(st.sampled_from(["bao-so-3", "lu-quet", "cap-1", "cap-2"]), st.just(b"")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEPS, min_size=1, max_size=25), st.booleans())
def test_every_payload_ends_in_exactly_one_outcome(
    steps: list[tuple[str, bytes]], located: bool
) -> None:
    now = T0 + timedelta(seconds=30)
    with tempfile.TemporaryDirectory() as state:
        board_settings = AlertSettings(location=(21.03, 105.85)) if located else AlertSettings()
        desk = AlertDesk(AlertStore(Path(state)), lambda _m: None, board_settings)
        seen: set[bytes] = set()
        for source, payload in steps:
            before = desk.active_ids()
            replays = desk.replays
            try:
                events = desk.on_payload(source, payload, now)
            except InvalidInput as refused:
                assert refused.errors, "a refusal names what is wrong"  # noqa: PT017 - a sequence, not one raise
                assert desk.active_ids() == before, "a refused payload changes nothing"
                continue
            kinds = [json.loads(event.model_dump_json())["kind"] for event in events]
            if not payload:
                assert kinds in ([], ["alert.ended"]), kinds
            elif payload in seen:
                assert kinds == [], kinds
                assert desk.replays == replays + 1, kinds
            else:
                assert len(kinds) == 1, (payload, kinds)
                assert kinds[0] in OUTCOMES, (payload, kinds)
            seen.add(payload)
            for event in events:
                if isinstance(event, AlertStarted | AlertUpdated):
                    assert event.alert_id in desk.active_ids()
                elif isinstance(event, AlertEnded):
                    assert event.alert_id not in desk.active_ids()
