from __future__ import annotations

import json
from collections.abc import Callable
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
        assert exc.errors  # noqa: PT017 (no error is allowed too: pytest.raises cannot say that)


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
        assert all(e.path for e in exc.errors)  # noqa: PT017 (no error is allowed too: pytest.raises cannot say that)


# --- strict JSON (issue 21) and clean strings (issue 10) ---------------------------------

ALERT_EXAMPLE = REPO / "docs" / "examples" / "alert-city-storm.json"


def test_a_duplicate_key_is_rejected_not_last_one_wins() -> None:
    # "status":"test" … "status":"actual" must not start a real alert.
    text = ALERT_EXAMPLE.read_text(encoding="utf-8")
    assert '"status": "actual"' in text
    twice = text.replace('"status": "actual"', '"status": "test", "status": "actual"')
    with pytest.raises(InvalidInput) as caught:
        decode(twice.encode(), Alert)
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("status", "duplicate key 'status' (given 2 times)")
    ]


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (b'{"type":"command","id":"a","command":"ping","args":{"x":1,"x":2}}', "args.x"),
        (
            b'{"type":"playlist","version":1,"issued_at":"2026-11-27T07:30:00+07:00",'
            b'"items":[{"id":"a","layout":"fullscreen_text","fields":{"text":"a","text":"b"}}]}',
            "items.0.fields.text",
        ),
    ],
)
def test_duplicate_keys_are_rejected_at_any_depth(payload: bytes, path: str) -> None:
    model: type[Command] | None = Command if b'"command"' in payload else None
    if model is None:
        with pytest.raises(InvalidInput) as caught:
            parse_playlist(payload, max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
    else:
        with pytest.raises(InvalidInput) as caught:
            decode(payload, model)
    assert path in [e.path for e in caught.value.errors]


def test_an_inbox_file_with_a_duplicate_type_is_not_taken_for_an_alert() -> None:
    from agent.alert_kind import alert_id_of

    assert alert_id_of(b'{"type":"alert","id":"a"}') == "a"
    assert alert_id_of(b'{"type":"playlist","type":"alert","id":"a"}') is None


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (b'{"type":"command","id":"\\ud800","command":"ping"}', "id"),
        (b'{"type":"command","id":"a","command":"\\udfff"}', "command"),
        (b'{"type":"command","id":"a","command":"ping","args":{"x":["\\ud800"]}}', "args.x.0"),
    ],
)
def test_a_lone_surrogate_is_rejected_with_its_path(payload: bytes, path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode(payload, Command)
    assert [e.path for e in caught.value.errors] == [path]
    assert "lone surrogate U+D" in caught.value.errors[0].message
    for detail in caught.value.errors:  # what goes into the event and the log can be sent
        detail.model_dump_json().encode("utf-8")


def test_a_surrogate_pair_is_text_not_an_error() -> None:
    payload = b'{"type":"command","id":"a","command":"ping","args":{"x":"\\ud83d\\ude00"}}'
    assert decode(payload, Command).args == {"x": "\U0001f600"}


def test_a_hostile_key_is_shown_escaped_in_the_path() -> None:
    payload = b'{"type":"command","id":"a","command":"ping","args":{"\\u001b[2J":NaN}}'
    with pytest.raises(InvalidInput) as caught:
        decode(payload, Command)
    assert [e.path for e in caught.value.errors] == ["args.\\u001b[2J"]


def test_a_malformed_command_with_a_surrogate_id_gets_no_result_with_that_id() -> None:
    from agent.commands import _recoverable_id

    assert _recoverable_id(b'{"type":"command","id":"ok-1","command":5}') == "ok-1"
    assert _recoverable_id(b'{"type":"command","id":"\\ud800","command":5}') is None
    assert _recoverable_id(b'{"type":"command","id":"a\\u0007","command":5}') is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("sender", "pccc\u0007@hanoi"), ("sender", "a\u001b[31m"), ("sender", "two\nlines")],
)
def test_control_characters_in_an_alert_sender_are_rejected(field: str, value: str) -> None:
    base = json.loads(ALERT_EXAMPLE.read_text(encoding="utf-8"))
    with pytest.raises(InvalidInput) as caught:
        decode(json.dumps(dict(base, **{field: value})).encode(), Alert)
    assert [e.path for e in caught.value.errors] == [field]
    assert "control character" in caught.value.errors[0].message


def test_every_inbound_string_is_nfc_normalised() -> None:
    base = json.loads(ALERT_EXAMPLE.read_text(encoding="utf-8"))
    alert = decode(json.dumps(dict(base, sender="Ban chi\u0309 huy")).encode(), Alert)
    assert alert.sender == "Ban chỉ huy"
    command = decode(
        json.dumps(
            {"type": "command", "id": "a", "command": "ping", "args": {"e\u0300": "a\u0301"}}
        ).encode(),
        Command,
    )
    assert command.args == {"è": "á"}


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"command": "pi\u0000ng"}, "command"),
        ({"args": {"note": "x\u0085y"}}, "args"),
        ({"args": {"k\u0001": 1}}, "args"),
    ],
)
def test_control_characters_in_command_names_and_args_are_rejected(
    changes: dict[str, object], path: str
) -> None:
    document = {"type": "command", "id": "a", "command": "ping", **changes}
    with pytest.raises(InvalidInput) as caught:
        decode(json.dumps(document).encode(), Command)
    assert [e.path for e in caught.value.errors] == [path]
    assert "control character" in caught.value.errors[0].message


def test_control_characters_in_a_layout_name_or_image_url_are_rejected() -> None:
    bad_layout = doc(items=[{"id": "a", "layout": "head\u0007line", "fields": {"title": "x"}}])
    with pytest.raises(InvalidInput) as caught:
        parse_playlist(json.dumps(bad_layout).encode(), max_bytes=DEFAULT_MAX_PAYLOAD_BYTES)
    assert "items.0.layout" in [e.path for e in caught.value.errors]
    image = {"url": "https://x.example/a\u0001.png", "sha256": "0" * 64}
    with pytest.raises(InvalidInput) as caught:
        parse_playlist(
            json.dumps(fields(image=image, caption="c")).encode(),
            max_bytes=DEFAULT_MAX_PAYLOAD_BYTES,
        )
    assert "items.0.fields.image.url" in [e.path for e in caught.value.errors]


def test_the_strict_check_keeps_a_one_mebibyte_payload_fast() -> None:
    """Measured: the pre-pass costs about what pydantic's own parse does, not a multiple."""
    import time

    from agent.messages import Playlist
    from agent.validation import parse_json

    items = [
        {"id": f"i{n}", "layout": "fullscreen_text", "fields": {"text": "Thông báo " * 400}}
        for n in range(200)
    ]
    raw = json.dumps(doc(items=items)).encode()
    assert 900_000 < len(raw) <= 2 * DEFAULT_MAX_PAYLOAD_BYTES
    text = raw.decode()

    def best(run: Callable[[], object]) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    strict = best(lambda: parse_json(text))
    model = best(lambda: Playlist.model_validate_json(text, strict=True))
    assert strict < max(model, 0.05), (strict, model)


def test_an_alert_topic_id_with_control_characters_is_quoted_escaped(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.alert_desk import AlertDesk
    from agent.caches import AlertStore

    desk = AlertDesk(AlertStore(tmp_path), lambda _message: None)
    payload = ALERT_EXAMPLE.read_bytes()
    with pytest.raises(InvalidInput) as caught:
        desk.on_payload("evil\u001b[2J\u0007", payload, datetime.now(UTC))
    (detail,) = caught.value.errors
    assert detail.path == "id"
    assert "('evil\\u001b[2J\\u0007')" in detail.message


def test_preview_content_is_parsed_as_strictly_as_the_board_does(tmp_path: Path) -> None:
    from agent.preview.draft import load_fields

    content = tmp_path / "slots.json"
    content.write_text('{"text": "a", "text": "b"}', encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_fields("fullscreen_text", content)
    assert [e.path for e in caught.value.errors] == ["text"]


def test_a_slot_name_with_control_characters_is_rejected_and_shown_escaped() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_playlist(
            json.dumps(fields(**{"te\u0007xt": "a"})).encode(), max_bytes=DEFAULT_MAX_PAYLOAD_BYTES
        )
    assert [e.path for e in caught.value.errors] == ["items.0.fields.te\\u0007xt.[key]"]
    assert all(e.message.isprintable() for e in caught.value.errors)
