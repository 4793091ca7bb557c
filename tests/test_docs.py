"""The documentation's examples are real: every inbound JSON example validates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.validate import check_file

DOCS = Path(__file__).resolve().parents[1] / "docs"
INBOUND = ("playlist", "alert", "command", "keyring")


def json_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in sorted(DOCS.glob("*.md")):
        for n, block in enumerate(re.findall(r"```json\n(.*?)```", page.read_text(), re.S)):
            blocks.append((f"{page.name}#{n}", block))
    return blocks


@pytest.mark.parametrize(("where", "block"), json_blocks(), ids=[w for w, _ in json_blocks()])
def test_inbound_json_in_docs_validates(where: str, block: str, tmp_path: Path) -> None:
    document = json.loads(block)
    if not isinstance(document, dict) or document.get("type") not in INBOUND:
        pytest.skip("not an inbound payload")
    path = tmp_path / "example.json"
    path.write_text(block, encoding="utf-8")
    _what, problems = check_file(path)
    assert problems == [], where


CAP_EXAMPLES = sorted((DOCS / "examples" / "cap").glob("*.xml"))


def cap_blocks() -> list[tuple[str, str]]:
    """The whole CAP documents shown in the docs (a fragment, such as a lone
    `<references>`, is not one)."""
    blocks = []
    for page in sorted(DOCS.glob("*.md")):
        for n, block in enumerate(re.findall(r"```xml\n(.*?)```", page.read_text(), re.S)):
            if block.lstrip().startswith(("<alert", "<?xml")):
                blocks.append((f"{page.name}#xml{n}", block))
    return blocks


def test_there_are_cap_examples() -> None:
    assert len(CAP_EXAMPLES) >= 10, "the glob is broken"
    assert cap_blocks(), "the pattern is broken"


@pytest.mark.parametrize("path", CAP_EXAMPLES, ids=[p.name for p in CAP_EXAMPLES])
def test_every_cap_example_is_valid_cap_1_2(path: Path) -> None:
    from agent.cap import parse_cap

    message = parse_cap(path.read_bytes())  # Problems, naming the element, if not
    assert message.identifier


@pytest.mark.parametrize(("where", "block"), cap_blocks(), ids=[w for w, _ in cap_blocks()])
def test_cap_in_docs_is_valid_and_a_board_acts_on_it(
    where: str, block: str, tmp_path: Path
) -> None:
    from datetime import datetime

    from agent.alert_desk import AlertDesk
    from agent.caches import AlertStore
    from agent.cap import parse_cap

    payload = block.encode()
    sent = parse_cap(payload).sent
    desk = AlertDesk(AlertStore(tmp_path), lambda _message: None)
    events = desk.on_payload(
        "docs", payload, datetime.fromtimestamp(sent.timestamp() + 1, sent.tzinfo)
    )
    assert [event.kind for event in events] == ["alert.started"], where  # type: ignore[attr-defined]
