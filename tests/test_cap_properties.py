"""Whatever bytes arrive, the CAP parser answers with a message or `Problems`, never
another exception: arbitrary bytes, and real documents mutated byte by byte or element
by element."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.cap import CapMessage, parse_cap
from display_layouts.input_problems import Problems
from tests.cap_documents import SPEC_EXAMPLES, VIETNAMESE_EXAMPLES, example

DOCUMENTS = [example(name) for name in (*SPEC_EXAMPLES, *VIETNAMESE_EXAMPLES)]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(payload: bytes) -> None:
    try:
        assert isinstance(parse_cap(payload), CapMessage)
    except Problems as problems:
        assert problems.errors, "a refusal names at least one problem"  # noqa: PT017 - no error is also a valid outcome
        assert all(len(str(p)) <= 300 for p in problems.errors)  # noqa: PT017 - as above


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(payload: bytes) -> None:
    parses_or_refuses(payload)


@SETTINGS
@given(st.text(alphabet=st.sampled_from('<>/="&;!?[] axmlns:cap1.2-\n#x%'), max_size=300))
def test_xml_shaped_noise(text: str) -> None:
    parses_or_refuses(text.encode())


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    document = bytearray(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(document)))
        kind = draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if kind == "delete":
            del document[at : at + len(chunk)]
        elif kind == "insert":
            document[at:at] = chunk
        else:
            document[at : at + len(chunk)] = chunk
    return bytes(document)


@SETTINGS
@given(byte_mutations())
def test_mutated_documents(payload: bytes) -> None:
    parses_or_refuses(payload)


TEXT_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "Z",
            "nan",
            "inf",
            "-0",
            "1e999",
            "9" * 400,
            "0,0",
            "0,0 0,0 0,0 0,0",
            "2026-09-06T10:00:00Z",
            "2026-13-45T99:99:99+99:99",
            "riskLevel",
            "&amp;",
            "a,b,c",
            "a,b,2026-09-06T10:00:00+07:00",
            "90,180 -90,-180 90,180 90,180",
        ]
    ),
)


@st.composite
def text_mutations(draw: st.DrawFn) -> bytes:
    """A real document with one element's text replaced by something odd (escaped, so
    the XML stays well-formed and the validation is what gets exercised)."""
    document = draw(st.sampled_from(DOCUMENTS)).decode()
    closings = [i for i in range(len(document)) if document.startswith("</", i)]
    end = draw(st.sampled_from(closings))
    start = document.rfind(">", 0, end) + 1
    value = draw(TEXT_VALUES)
    escaped = value.replace("&", "&amp;").replace("<", "&lt;")
    escaped = "".join(c for c in escaped if c.isprintable() or c in "\n\t")
    return (document[:start] + escaped + document[end:]).encode()


@SETTINGS
@given(text_mutations())
def test_documents_with_odd_values(payload: bytes) -> None:
    parses_or_refuses(payload)


def test_the_agent_does_not_import_cap_until_a_cap_message_arrives() -> None:
    # The board's RAM budget is tight: agent/cap (and defusedxml, xml.etree) are loaded
    # only by the code that handles a CAP payload.
    probe = (
        "import sys, agent.cli, agent.core, agent.alert_desk, agent.alerts, agent.messages;"
        "loaded = [m for m in sys.modules if m.startswith(('agent.cap', 'defusedxml'))];"
        "print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_importing_cap_pulls_in_nothing_heavy() -> None:
    probe = (
        "import sys; before = set(sys.modules); import agent.cap;"
        "new = set(sys.modules) - before;"
        "print(sorted(m for m in new if m.split('.')[0] in ('pygame', 'paho', 'PIL', 'yaml')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
