"""The documentation's examples are real: every inbound JSON example validates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.validate import check_file

DOCS = Path(__file__).resolve().parents[1] / "docs"
INBOUND = ("playlist", "alert", "command")


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
