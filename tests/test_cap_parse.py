"""CAP 1.2 documents that must be accepted, and what the board reads from them: the
specification's own examples (Appendix A) and Vietnamese warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

import pytest

from agent.cap import (
    CapMessage,
    LatLon,
    Reference,
    choose_info,
    format_cap_time,
    looks_like_cap,
    parse_cap,
    parse_cap_time,
    risk_level,
)
from tests.cap_documents import SPEC_EXAMPLES, VIETNAMESE_EXAMPLES, edited, example

VN = timezone(timedelta(hours=7))
PDT = timezone(timedelta(hours=-7))


def parsed(name: str) -> CapMessage:
    return parse_cap(example(name))


class Read(NamedTuple):
    """What the board must read from an example."""

    name: str
    identifier: str
    sent: datetime
    msg_type: str
    infos: int
    headline: str
    severity: str


@pytest.mark.parametrize(
    "expected",
    [
        Read(
            "spec-homeland-security",
            "43b080713727",
            datetime(2003, 4, 2, 14, 39, 1, tzinfo=timezone(timedelta(hours=-5))),
            "Alert",
            1,
            "Homeland Security Sets Code ORANGE",
            "Severe",
        ),
        Read(
            "spec-thunderstorm",
            "KSTO1055887203",
            datetime(2003, 6, 17, 14, 57, tzinfo=PDT),
            "Alert",
            1,
            "SEVERE THUNDERSTORM WARNING",
            "Severe",
        ),
        Read(
            "spec-earthquake",
            "TRI13970876.2",
            datetime(2003, 6, 11, 20, 56, tzinfo=PDT),
            "Update",
            1,
            "EQ 3.4 Imperial County CA",
            "Minor",
        ),
        Read(
            "spec-amber",
            "KAR0-0306112239-SW",
            datetime(2003, 6, 11, 22, 39, tzinfo=PDT),
            "Alert",
            2,
            "Amber Alert in Los Angeles County",
            "Severe",
        ),
        Read(
            "vn-storm-bao-so-3",
            "HN-PCTT-2026-0906-001",
            datetime(2026, 9, 6, 10, tzinfo=VN),
            "Alert",
            2,
            "Bão số 3 đổ bộ: gió mạnh cấp 10, giật cấp 12",
            "Extreme",
        ),
        Read(
            "vn-storm-bao-so-3-update",
            "HN-PCTT-2026-0906-002",
            datetime(2026, 9, 6, 16, tzinfo=VN),
            "Update",
            1,
            "Bão số 3 mạnh lên: gió cấp 12, giật cấp 14",
            "Extreme",
        ),
        Read(
            "vn-storm-bao-so-3-cancel",
            "HN-PCTT-2026-0907-003",
            datetime(2026, 9, 7, 9, 30, tzinfo=VN),
            "Cancel",
            1,
            "Bão số 3 đã suy yếu: kết thúc cảnh báo",
            "Minor",
        ),
        Read(
            "vn-flood",
            "HN-PCTT-2026-0910-014",
            datetime(2026, 9, 10, 5, 15, tzinfo=VN),
            "Alert",
            1,
            "Lũ sông Hồng tại Long Biên vượt báo động 2",
            "Severe",
        ),
        Read(
            "vn-epidemic",
            "HN-SYT-2026-0815-007",
            datetime(2026, 8, 15, 8, tzinfo=VN),
            "Alert",
            1,
            "Cảnh báo dịch sốt xuất huyết tăng cao",
            "Moderate",
        ),
        Read(
            "vn-heat",
            "HN-KTTV-2026-0602-021",
            datetime(2026, 6, 2, 6, tzinfo=VN),
            "Alert",
            1,
            "Nắng nóng gay gắt, nhiệt độ cao nhất 38–40 °C",
            "Severe",
        ),
    ],
)
def test_real_documents_are_read(expected: Read) -> None:
    message = parsed(expected.name)
    assert message.identifier == expected.identifier
    assert message.sent == expected.sent
    assert message.sent.utcoffset() == expected.sent.utcoffset()  # the sender's offset kept
    assert message.status == "Actual"
    assert message.msg_type == expected.msg_type
    assert message.scope == "Public"
    assert len(message.infos) == expected.infos
    assert message.infos[0].headline == expected.headline
    assert message.infos[0].severity == expected.severity


def test_every_example_file_is_in_a_table() -> None:
    from tests.cap_documents import EXAMPLES

    assert {p.stem for p in EXAMPLES.glob("*.xml")} == {*SPEC_EXAMPLES, *VIETNAMESE_EXAMPLES}


def test_the_vietnamese_storm_is_read_in_full() -> None:
    message = parsed("vn-storm-bao-so-3")
    info = choose_info(message, "vi")
    assert info is not None
    assert info.language == "vi-VN"
    assert info.sender_name == "Ban Chỉ huy Phòng chống thiên tai TP Hà Nội"
    assert info.category == "Met"
    assert info.event == "Bão"
    assert (info.urgency, info.certainty) == ("Immediate", "Observed")
    assert info.response_types == ("Shelter",)
    assert info.onset == datetime(2026, 9, 6, 18, tzinfo=VN)
    assert info.expires == datetime(2026, 9, 7, 22, tzinfo=VN)
    assert info.effective is None
    assert info.instruction is not None
    assert info.instruction.startswith("Ở trong nhà")
    assert risk_level(info) == 4
    (area,) = info.areas
    assert area.description == "Nội thành Hà Nội"
    assert area.polygons[0].points[0] == LatLon(21.12, 105.78)
    assert area.polygons[0].points[0] == area.polygons[0].points[-1]
    assert [(g.name, g.value) for g in area.geocodes] == [("MaDVHC", "00070")]


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("vn-storm-bao-so-3", 4),
        ("vn-storm-bao-so-3-update", 5),
        ("vn-flood", 3),
        ("vn-heat", 2),
        ("vn-epidemic", None),  # not a natural disaster: no risk level
        ("spec-thunderstorm", None),
    ],
)
def test_risk_level_is_the_riskLevel_parameter(name: str, level: int | None) -> None:
    assert risk_level(parsed(name).infos[0]) == level


def test_references_are_triplets_of_earlier_messages() -> None:
    assert parsed("spec-earthquake").references == (
        Reference("trinet@caltech.edu", "TRI13970876.1", datetime(2003, 6, 11, 20, 30, tzinfo=PDT)),
    )
    cancel = parsed("vn-storm-bao-so-3-cancel")
    assert [r.identifier for r in cancel.references] == [
        "HN-PCTT-2026-0906-001",
        "HN-PCTT-2026-0906-002",
    ]
    sender, identifier, sent = cancel.references[0]
    assert (sender, identifier, sent) == (
        "pctt@hanoi.gov.vn",
        "HN-PCTT-2026-0906-001",
        datetime(2026, 9, 6, 10, tzinfo=VN),
    )


def test_a_reference_in_the_same_second_is_not_in_the_future() -> None:
    # CAP times have one-second resolution: an immediate correction shares `sent`.
    message = parse_cap(
        edited(
            "vn-storm-bao-so-3-update",
            "<sent>2026-09-06T16:00:00+07:00</sent>",
            "<sent>2026-09-06T10:00:00+07:00</sent>",
        )
    )
    assert message.references[0].sent == message.sent


@pytest.mark.parametrize(
    ("board_language", "shown"),
    [
        ("vi", "vi-VN"),
        ("vi-VN", "vi-VN"),
        ("VI-vn", "vi-VN"),
        ("en", "en-US"),
        ("en-GB", "en-US"),  # the same primary language beats the first info
        ("fr", "vi-VN"),  # no match: the first
    ],
)
def test_the_info_in_the_boards_language_is_chosen(board_language: str, shown: str) -> None:
    info = choose_info(parsed("vn-storm-bao-so-3"), board_language)
    assert info is not None
    assert info.language == shown


def test_amber_alert_in_spanish_and_english() -> None:
    message = parsed("spec-amber")
    spanish = choose_info(message, "es")
    assert spanish is not None
    assert spanish.event == "Abducción de Niño"
    vietnamese_board = choose_info(message, "vi")
    assert vietnamese_board is not None
    assert vietnamese_board.language == "en-US"


def test_an_info_without_language_is_en_US() -> None:
    assert parsed("spec-homeland-security").infos[0].language == "en-US"


def test_an_inline_image_is_decoded_and_its_digest_checked() -> None:
    (resource,) = parsed("vn-heat").infos[0].resources
    assert resource.mime_type == "image/png"
    assert resource.content is not None
    assert resource.content.startswith(b"\x89PNG\r\n")
    assert resource.size == len(resource.content) == 73
    assert resource.digest == "ba7b459cf7c7d944e120554b167ddafb3822d191"


def test_a_resource_by_uri() -> None:
    (resource,) = parsed("spec-homeland-security").infos[0].resources
    assert resource.uri == "http://www.dhs.gov/dhspublic/getAdvisoryImage"
    assert resource.content is None


def test_a_circle_with_zero_radius_is_a_point() -> None:
    (circle,) = parsed("spec-earthquake").infos[0].areas[0].circles
    assert (circle.centre, circle.radius_km) == (LatLon(32.9525, -115.5527), 0.0)


def test_a_cancel_may_carry_no_info() -> None:
    text = example("vn-storm-bao-so-3-cancel").decode()
    bare = text[: text.index("  <info>")] + "</alert>\n"
    message = parse_cap(bare.encode())
    assert message.msg_type == "Cancel"
    assert message.infos == ()
    assert choose_info(message, "vi") is None


def test_foreign_namespaces_and_comments_are_skipped() -> None:
    signed = edited(
        "spec-thunderstorm",
        "</info>",
        "</info>\n  <!-- signed -->\n"
        '  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>',
    )
    assert parse_cap(signed).identifier == "KSTO1055887203"


def test_restricted_and_private_scopes_with_their_elements() -> None:
    restricted = parse_cap(
        edited(
            "vn-flood",
            "<scope>Public</scope>",
            "<scope>Restricted</scope><restriction>Chỉ dành cho lực lượng cứu hộ</restriction>",
        )
    )
    assert restricted.restriction == "Chỉ dành cho lực lượng cứu hộ"
    private = parse_cap(
        edited(
            "vn-flood",
            "<scope>Public</scope>",
            "<scope>Private</scope><addresses>board-hk-01 board-hk-02</addresses>",
        )
    )
    assert private.addresses == "board-hk-01 board-hk-02"


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-09-06T10:00:00+07:00", datetime(2026, 9, 6, 3, tzinfo=UTC)),
        ("2026-09-06T03:00:00-00:00", datetime(2026, 9, 6, 3, tzinfo=UTC)),  # CAP's UTC
        ("2026-09-06T03:00:00+00:00", datetime(2026, 9, 6, 3, tzinfo=UTC)),
        ("2003-06-11T20:56:00-07:00", datetime(2003, 6, 12, 3, 56, tzinfo=UTC)),
    ],
)
def test_cap_times(text: str, moment: datetime) -> None:
    parsed_time = parse_cap_time(text)
    assert parsed_time == moment
    assert parsed_time.tzinfo is not None


def test_utc_is_written_back_as_cap_writes_it() -> None:
    assert format_cap_time(datetime(2026, 9, 6, 3, tzinfo=UTC)) == "2026-09-06T03:00:00-00:00"
    assert format_cap_time(datetime(2026, 9, 6, 10, tzinfo=VN)) == "2026-09-06T10:00:00+07:00"


@pytest.mark.parametrize(
    ("payload", "is_xml"),
    [
        (example("vn-storm-bao-so-3"), True),
        (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>', True),  # CAP's to refuse
        (b"\xef\xbb\xbf\r\n  <?xml version='1.0'?><alert/>", True),
        ("<alert/>".encode("utf-16"), True),
        (b'{"type": "alert", "id": "bao-so-3"}', False),
        (b'  \n{"type": "alert"}', False),
        (b"", False),
        (b"   ", False),
        (b"alert", False),
    ],
)
def test_looks_like_cap_tells_xml_from_json(payload: bytes, is_xml: bool) -> None:
    assert looks_like_cap(payload) is is_xml


def test_other_encodings_the_document_declares() -> None:
    # Google's library keeps an ISO-8859-1 earthquake; the XML declaration is what counts.
    storm = example("vn-storm-bao-so-3").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    utf16 = parse_cap(storm.encode("utf-16"))
    assert utf16.infos[0].headline == "Bão số 3 đổ bộ: gió mạnh cấp 10, giật cấp 12"
    amber = example("spec-amber").decode().replace('"UTF-8"', '"ISO-8859-1"')
    assert parse_cap(amber.encode("latin-1")).infos[1].event == "Abducción de Niño"
