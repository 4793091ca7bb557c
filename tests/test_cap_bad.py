"""CAP documents that must be refused: each gives `Problems` naming the element, with a
bounded sentence. Most are one edit of a real example (tests/cap_documents.py `edited`
fails when the edit does not apply, so no case passes on an unchanged document)."""

from __future__ import annotations

import time

import pytest

from agent.cap import parse_cap
from agent.cap.limits import MAX_CAP_BYTES
from display_layouts.input_problems import Problems
from tests.cap_documents import edited, example, polygon_text

STORM = "vn-storm-bao-so-3"
MAX_PROBLEM_CHARS = 300

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&secret;</identifier></alert>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>
"""


def storm(old: str, new: str, count: int = 1) -> bytes:
    return edited(STORM, old, new, count)


def without(name: str, element: str) -> bytes:
    """Example `name` without its first `<element>…</element>`."""
    text = example(name).decode()
    start = text.index(f"<{element}>")
    end = text.index(f"</{element}>", start) + len(f"</{element}>")
    return (text[:start] + text[end:]).encode()


def refusal(payload: bytes) -> Problems:
    with pytest.raises(Problems) as caught:
        parse_cap(payload)
    for problem in caught.value.errors:
        assert len(str(problem)) <= MAX_PROBLEM_CHARS, str(problem)
    return caught.value


def assert_refused(payload: bytes, path: str, words: str) -> None:
    problems = refusal(payload)
    found = [(p.path, p.message) for p in problems.errors]
    assert any(p == path and words in m for p, m in found), found


POLYGON = (
    "<polygon>21.12,105.78 21.08,105.92 20.98,105.90 20.94,105.82 21.00,105.74 21.12,105.78"
    "</polygon>"
)
AREA1 = "alert/info[1]/area[1]"

CASES: list[tuple[str, bytes, str, str]] = [
    # Not CAP at all
    ("not XML", b"B\xc3\xa3o s\xe1\xbb\x91 3", "$", "not well-formed XML"),
    ("JSON", b'{"type": "alert", "id": "bao-so-3"}', "$", "not well-formed XML"),
    ("empty", b"  \n", "$", "empty"),
    ("cut short", example(STORM)[:400], "$", "not well-formed XML"),
    ("unknown encoding", b'<?xml version="1.0" encoding="x-klingon"?><alert/>', "$", "XML"),
    ("too big", b"<alert>" + b" " * MAX_CAP_BYTES + b"</alert>", "$", "bytes, more than"),
    # XML bombs and fetches
    ("billion laughs", BILLION_LAUGHS, "$", "DTD"),
    ("external entity", EXTERNAL_ENTITY, "$", "DTD"),
    ("external DTD", EXTERNAL_DTD, "$", "DTD"),
    ("parameter entity", PARAMETER_ENTITY, "$", "DTD"),
    ("internal DTD", storm("<alert xmlns", "<!DOCTYPE alert []>\n<alert xmlns"), "$", "DTD"),
    ("too many elements", storm("<scope>", "<code>x</code>" * 6000 + "<scope>"), "$", "elements"),
    (
        "too deep",
        storm("<scope>", "<note>" + "<a>" * 20 + "</a>" * 20 + "</note><scope>"),
        "$",
        "nested",
    ),
    # Namespace and root
    ("CAP 1.1", storm("emergency:cap:1.2", "emergency:cap:1.1"), "alert", "another CAP version"),
    (
        "no namespace",
        storm(' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', ""),
        "alert",
        "no namespace",
    ),
    ("typo in namespace", storm("urn:oasis", "urn:oasys"), "alert", "not CAP 1.2"),
    ("not an alert", b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "feed", "<alert>"),
    (
        "child without namespace",
        storm("<scope>Public</scope>", '<scope xmlns="">Public</scope>'),
        "alert/scope",
        "not in the CAP 1.2 namespace",
    ),
    # Each required element of <alert>
    *[
        (f"no {element}", without(STORM, element), f"alert/{element}", "is required")
        for element in ("identifier", "sender", "sent", "status", "msgType", "scope")
    ],
    (
        "empty identifier",
        storm("<identifier>HN-PCTT-2026-0906-001<", "<identifier><"),
        "alert/identifier",
        "empty",
    ),
    (
        "Restricted without restriction",
        storm("<scope>Public", "<scope>Restricted"),
        "alert/restriction",
        "is required",
    ),
    (
        "Private without addresses",
        storm("<scope>Public", "<scope>Private"),
        "alert/addresses",
        "is required",
    ),
    (
        "two identifiers",
        storm("<sender>", "<identifier>x</identifier><sender>"),
        "alert/identifier",
        "CAP allows one",
    ),
    (
        "Alert without info",
        storm("<info>", "<!--", 1).replace(b"</alert>", b"-->\n</alert>"),
        "alert/info[1]",
        "at least one <info>",
    ),
    # identifier and sender characters
    (
        "space in identifier",
        storm("HN-PCTT-2026-0906-001<", "HN PCTT<"),
        "alert/identifier",
        "spaces",
    ),
    (
        "comma in identifier",
        storm("HN-PCTT-2026-0906-001<", "HN,PCTT<"),
        "alert/identifier",
        "commas",
    ),
    ("& in sender", storm("<sender>pctt@", "<sender>pctt&amp;"), "alert/sender", "'&'"),
    ("< in sender", storm("<sender>pctt@", "<sender>pctt&lt;"), "alert/sender", "'<'"),
    # Times
    (
        "Z time",
        storm("2026-09-06T10:00:00+07:00", "2026-09-06T03:00:00Z"),
        "alert/sent",
        "'Z' is not allowed",
    ),
    (
        "fractional seconds",
        storm("2026-09-06T10:00:00+07:00", "2026-09-06T10:00:00.250+07:00"),
        "alert/sent",
        "fractions of a second",
    ),
    (
        "no offset",
        storm("2026-09-06T10:00:00+07:00", "2026-09-06T10:00:00"),
        "alert/sent",
        "YYYY-MM-DDThh:mm:ss",
    ),
    (
        "30 February",
        storm("2026-09-06T10:00:00+07:00", "2026-02-30T10:00:00+07:00"),
        "alert/sent",
        "not a real date",
    ),
    (
        "Z expires",
        storm("2026-09-07T22:00:00+07:00", "2026-09-07T15:00:00Z"),
        "alert/info[1]/expires",
        "'Z'",
    ),
    (
        "Z onset",
        storm("2026-09-06T18:00:00+07:00", "2026-09-06T11:00:00Z"),
        "alert/info[1]/onset",
        "'Z'",
    ),
    # Enumerations
    (
        "status misspelt",
        storm("<status>Actual", "<status>Actaul"),
        "alert/status",
        "did you mean 'Actual'",
    ),
    (
        "status lower case",
        storm("<status>Actual", "<status>actual"),
        "alert/status",
        "is not one of",
    ),
    ("msgType", storm("<msgType>Alert", "<msgType>Warning"), "alert/msgType", "is not one of"),
    ("scope", storm("<scope>Public", "<scope>Everyone"), "alert/scope", "is not one of"),
    (
        "category",
        storm("<category>Met", "<category>Weather"),
        "alert/info[1]/category[1]",
        "is not one of",
    ),
    (
        "urgency",
        storm("<urgency>Immediate", "<urgency>Now"),
        "alert/info[1]/urgency",
        "is not one of",
    ),
    (
        "severity",
        storm("<severity>Extreme", "<severity>Red"),
        "alert/info[1]/severity",
        "is not one of",
    ),
    (
        "certainty",
        storm("<certainty>Observed", "<certainty>Sure"),
        "alert/info[1]/certainty",
        "is not one of",
    ),
    (
        "responseType",
        storm("<responseType>Shelter", "<responseType>Hide"),
        "alert/info[1]/responseType[1]",
        "not one of",
    ),
    (
        "language",
        storm("<language>vi-VN", "<language>vi_VN"),
        "alert/info[1]/language",
        "language tag",
    ),
    # Required elements of <info>
    *[
        (f"no {element}", without(STORM, element), f"alert/info[1]/{element}", "is required")
        for element in ("event", "urgency", "severity", "certainty")
    ],
    ("no category", without(STORM, "category"), "alert/info[1]/category[1]", "is required"),
    (
        "unknown element",
        storm("<headline>", "<headlin>x</headlin><headline>"),
        "alert/info[1]/headlin",
        "did you mean 'headline'",
    ),
    (
        "headline too long",
        storm("<headline>Bão", "<headline>" + "Bão " * 400),
        "alert/info[1]/headline",
        "characters long",
    ),
    (
        "element inside text",
        storm("<event>Bão", "<event><b>Bão</b>"),
        "alert/info[1]/event",
        "must hold text",
    ),
    # References
    (
        "self-reference",
        storm(
            "<scope>Public</scope>",
            "<scope>Public</scope><references>"
            "pctt@hanoi.gov.vn,HN-PCTT-2026-0906-001,2026-09-06T10:00:00+07:00</references>",
        ),
        "alert/references",
        "this message itself",
    ),
    (
        "reference to the future",
        edited(
            "vn-storm-bao-so-3-update",
            "HN-PCTT-2026-0906-001,2026-09-06T10:00:00+07:00",
            "HN-PCTT-2026-0906-001,2026-09-06T16:00:01+07:00",
        ),
        "alert/references",
        "after this message",
    ),
    (
        "reference not a triplet",
        edited("vn-storm-bao-so-3-update", ",2026-09-06T10:00:00+07:00<", "<"),
        "alert/references",
        "not sender,identifier,sent",
    ),
    (
        "reference with a Z time",
        edited("vn-storm-bao-so-3-update", "2026-09-06T10:00:00+07:00<", "2026-09-06T03:00:00Z<"),
        "alert/references (reference 1)",
        "'Z' is not allowed",
    ),
    # Areas
    ("no areaDesc", without(STORM, "areaDesc"), f"{AREA1}/areaDesc", "is required"),
    (
        "polygon of 3 points",
        storm(POLYGON, "<polygon>21.12,105.78 21.08,105.92 21.12,105.78</polygon>"),
        f"{AREA1}/polygon[1]",
        "at least 4 points",
    ),
    (
        "polygon not closed",
        storm(POLYGON, "<polygon>21.12,105.78 21.08,105.92 20.98,105.90 20.94,105.82</polygon>"),
        f"{AREA1}/polygon[1]",
        "not closed",
    ),
    (
        "self-intersecting polygon (a bow tie)",
        storm(POLYGON, "<polygon>21.0,105.8 21.1,105.9 21.0,105.9 21.1,105.8 21.0,105.8</polygon>"),
        f"{AREA1}/polygon[1]",
        "crosses itself",
    ),
    (
        "polygon that runs back along itself",
        storm(
            POLYGON, "<polygon>21.0,105.8 21.1,105.8 21.05,105.8 21.0,105.9 21.0,105.8</polygon>"
        ),
        f"{AREA1}/polygon[1]",
        "crosses itself",
    ),
    (
        "polygon of one repeated point",
        storm(POLYGON, "<polygon>21.0,105.8 21.0,105.8 21.0,105.8 21.0,105.8</polygon>"),
        f"{AREA1}/polygon[1]",
        "distinct corners",
    ),
    (
        "latitude out of range",
        storm(POLYGON, "<polygon>91.0,105.8 21.1,105.9 21.0,105.9 91.0,105.8</polygon>"),
        f"{AREA1}/polygon[1]",
        "point 1: latitude",
    ),
    (
        "lon,lat order (GeoJSON habit)",
        storm(POLYGON, "<polygon>105.78,21.12 105.92,21.08 105.90,20.98 105.78,21.12</polygon>"),
        f"{AREA1}/polygon[1]",
        "latitude must be between -90 and 90",
    ),
    (
        "NaN in a polygon",
        storm(POLYGON, "<polygon>nan,105.8 21.1,105.9 21.0,105.9 nan,105.8</polygon>"),
        f"{AREA1}/polygon[1]",
        "decimal number",
    ),
    (
        "10 000 points",
        storm(POLYGON, f"<polygon>{polygon_text(21.0, 105.8, 0.05, 9999)}</polygon>"),
        f"{AREA1}/polygon[1]",
        "has 10000 points, more than 1000",
    ),
    (
        "circle without radius",
        storm(POLYGON, "<circle>21.04,105.86</circle>"),
        f"{AREA1}/circle[1]",
        "'lat,lon radius'",
    ),
    (
        "negative radius",
        storm(POLYGON, "<circle>21.04,105.86 -6</circle>"),
        f"{AREA1}/circle[1]",
        "non-negative",
    ),
    (
        "circle off the Earth",
        storm(POLYGON, "<circle>21.04,185.86 6</circle>"),
        f"{AREA1}/circle[1]",
        "longitude",
    ),
    (
        "geocode without value",
        storm("<value>00070</value>", ""),
        f"{AREA1}/geocode[1]/value",
        "is required",
    ),
    (
        "geocode without valueName",
        storm("<valueName>MaDVHC</valueName>", ""),
        f"{AREA1}/geocode[1]/valueName",
        "is required",
    ),
    (
        "too many areas",
        storm("<area>", "<area><areaDesc>x</areaDesc></area>" * 100 + "<area>"),
        "alert/info[1]",
        "more than 100",
    ),
    (
        "altitude too large",
        storm("</areaDesc>", "</areaDesc><altitude>" + "9" * 400 + "</altitude>"),
        f"{AREA1}/altitude",
        "not a decimal number",
    ),
    (
        "ceiling without altitude",
        storm("</areaDesc>", "</areaDesc><ceiling>100</ceiling>"),
        f"{AREA1}/ceiling",
        "altitude",
    ),
    # Parameters
    (
        "risk level 6",
        storm("<value>4</value>", "<value>6</value>"),
        "alert/info[1]/parameter[1]/value",
        "1–5",
    ),
    (
        "risk level in words",
        storm("<value>4</value>", "<value>cao</value>"),
        "alert/info[1]/parameter[1]/value",
        "1–5",
    ),
    (
        "risk level 0",
        storm("<value>4</value>", "<value>0</value>"),
        "alert/info[1]/parameter[1]/value",
        "1–5",
    ),
    # Resources
    (
        "no mimeType",
        without("vn-heat", "mimeType"),
        "alert/info[1]/resource[1]/mimeType",
        "is required",
    ),
    (
        "no resourceDesc",
        without("vn-heat", "resourceDesc"),
        "alert/info[1]/resource[1]/resourceDesc",
        "is required",
    ),
    (
        "size not a number",
        edited("vn-heat", "<size>73", "<size>73 bytes"),
        "alert/info[1]/resource[1]/size",
        "size in bytes",
    ),
    (
        "digest not SHA-1",
        edited("vn-heat", "<digest>ba7b", "<digest>zz7b"),
        "alert/info[1]/resource[1]/digest",
        "SHA-1",
    ),
    (
        "digest mismatch",
        edited("vn-heat", "<digest>ba7b", "<digest>0a7b"),
        "alert/info[1]/resource[1]/digest",
        "does not match",
    ),
    (
        "derefUri not base64",
        edited("vn-heat", "<derefUri>iVBOR", "<derefUri>*VBOR"),
        "alert/info[1]/resource[1]/derefUri",
        "base64",
    ),
    (
        # Found by the property test: a character outside ASCII raised a bare ValueError.
        "derefUri not ASCII",
        edited("vn-heat", "<derefUri>iVBOR", "<derefUri>¡VBOR"),
        "alert/info[1]/resource[1]/derefUri",
        "base64",
    ),
]


@pytest.mark.parametrize(
    ("payload", "path", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_cap_is_refused_naming_the_element(payload: bytes, path: str, words: str) -> None:
    assert_refused(payload, path, words)


def test_the_second_info_is_named_by_its_index() -> None:
    payload = storm("<severity>Extreme", "<severity>Red", 2).replace(
        b"<severity>Red", b"<severity>Extreme", 1
    )
    assert_refused(payload, "alert/info[2]/severity", "is not one of")


def test_the_second_area_is_named_by_its_index() -> None:
    payload = storm(
        "</area>", "</area><area><areaDesc>Ba Vì</areaDesc><polygon>1,2 3,4</polygon></area>"
    )
    assert_refused(payload, "alert/info[1]/area[2]/polygon[1]", "at least 4 points")


def test_every_problem_is_reported_not_only_the_first() -> None:
    payload = without(STORM, "identifier").replace(b"<status>Actual", b"<status>Real")
    payload = payload.replace(b"<sent>2026-09-06T10:00:00+07:00", b"<sent>2026-09-06T03:00:00Z")
    problems = refusal(payload)
    paths = {p.path for p in problems.errors}
    assert {"alert/identifier", "alert/status", "alert/sent"} <= paths


def test_many_problems_are_bounded() -> None:
    # 90 areas each with a bad polygon: the report is cut, and says how many more.
    bad_areas = "<area><areaDesc>x</areaDesc><polygon>1,2 3,4</polygon></area>" * 90
    problems = refusal(storm("<area>", bad_areas + "<area>"))
    assert len(problems.errors) <= 21
    assert "more problems" in problems.errors[-1].message


def test_ten_thousand_points_are_refused_fast() -> None:
    payload = storm(POLYGON, f"<polygon>{polygon_text(21.0, 105.8, 0.05, 9999)}</polygon>")
    started = time.perf_counter()
    refusal(payload)
    assert time.perf_counter() - started < 0.5


def test_a_polygon_built_to_defeat_the_sweep_costs_a_bounded_time() -> None:
    # A zig-zag whose every edge spans the whole width: each overlaps all others in
    # longitude, the sweep's worst case. 1000 corners, 20 such polygons.
    zigzag = [f"{21.0 + i * 0.0001:.4f},{105.8 if i % 2 else 105.9}" for i in range(999)]
    ring = " ".join([*zigzag, zigzag[0]])
    areas = f"<area><areaDesc>x</areaDesc><polygon>{ring}</polygon></area>" * 5
    started = time.perf_counter()
    problems = refusal(storm("<area>", areas + "<area>"))
    assert time.perf_counter() - started < 1.0
    assert any("polygon" in p.path for p in problems.errors)
