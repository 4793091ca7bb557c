from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.content import parse_playlist
from agent.messages import Alert, Command
from agent.validation import DEFAULT_MAX_PAYLOAD_BYTES, InvalidInput, decode
from tests.bad_payloads import BAD_PAYLOADS, doc, fields

REPO = Path(__file__).resolve().parents[1]
SHARED_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples"


@pytest.mark.parametrize(
    ("name", "payload", "path"), BAD_PAYLOADS, ids=[c[0] for c in BAD_PAYLOADS]
)
def test_bad_payload_is_rejected_naming_the_field(name: str, payload: bytes, path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_playlist(payload, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
    paths = [e.path for e in caught.value.errors]
    assert path in paths, f"{name}: {caught.value.errors}"
    assert all(e.message for e in caught.value.errors)


def test_there_are_at_least_twenty_kinds_of_bad_payload() -> None:
    assert len(BAD_PAYLOADS) >= 20


def test_good_playlist_is_accepted_and_text_is_nfc() -> None:
    nfd = "Tho\u0302ng ba\u0301o"  # "Thông báo" decomposed
    playlist = parse_playlist(
        json.dumps(fields(text=nfd)).encode(), max_bytes=DEFAULT_MAX_PAYLOAD_BYTES
    )
    assert playlist.items[0].fields["text"] == "Thông báo"


def test_misspelt_layout_gets_a_suggestion() -> None:
    payload = json.dumps(doc(items=[{"id": "a", "layout": "headlin", "fields": {}}])).encode()
    with pytest.raises(InvalidInput) as caught:
        parse_playlist(payload, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
    assert "did you mean 'headline'" in caught.value.errors[0].message


@pytest.mark.skipif(not SHARED_EXAMPLES.exists(), reason="shared spec not beside the repo")
def test_contract_examples_are_valid() -> None:
    playlist = parse_playlist(
        (SHARED_EXAMPLES / "playlist-commune.json").read_bytes(), max_bytes=1 << 20
    )
    assert playlist.version == 17
    alert = decode((SHARED_EXAMPLES / "alert-city-storm.json").read_bytes(), Alert)
    assert alert.severity == "severe"
    assert decode((SHARED_EXAMPLES / "command-screenshot.json").read_bytes(), Command).command


def test_alert_rules() -> None:
    base = json.loads((REPO / "docs" / "examples" / "alert-city-storm.json").read_text())
    early = dict(base, expires="2026-11-27T14:00:00+07:00")
    with pytest.raises(InvalidInput) as caught:
        decode(json.dumps(early).encode(), Alert)
    assert caught.value.errors[0].path == "expires"
    cancel = {k: v for k, v in base.items() if k not in ("headline", "description")}
    assert decode(json.dumps(dict(cancel, msg_type="cancel")).encode(), Alert).msg_type == "cancel"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_anything_but_invalid_input(payload: bytes) -> None:
    try:
        parse_playlist(payload, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
    except InvalidInput as exc:
        assert exc.errors


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["type", "version", "issued_at", "items", "x"]), json_values)
)
def test_random_documents_give_errors_with_paths(document: dict[str, object]) -> None:
    try:
        parse_playlist(json.dumps(document).encode(), max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
    except InvalidInput as exc:
        assert all(e.path for e in exc.errors)
