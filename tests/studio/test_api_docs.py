"""docs/studio.md stays true: its examples are what the server answers."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.studio.conftest import StudioClient
from tests.support import REPO

PAGE = (REPO / "docs" / "studio.md").read_text(encoding="utf-8")
BLOCKS: list[Any] = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", PAGE, re.S)]


def _block(key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(b for b in BLOCKS if key in b)
    return found


def test_the_layouts_example_is_the_headline_entry(client: StudioClient) -> None:
    (shown,) = _block("layouts")["layouts"]
    answered = {layout["name"]: layout for layout in client.get("/api/layouts").json()["layouts"]}
    assert answered[shown["name"]] == shown


def test_the_problem_example_is_what_a_missing_slot_answers(client: StudioClient) -> None:
    (shown,) = _block("problems")["problems"]
    body = {"layout": "headline", "fields": {"title": "Tiêm chủng"}}
    assert client.post("/api/preview", body).problems == [shown]


def test_the_preview_example_draws(client: StudioClient) -> None:
    answer = client.post("/api/preview", _block("layout"))
    assert answer.status == 200
    assert answer.content_type == "image/png"


def test_the_playlist_example_is_what_its_items_make(client: StudioClient) -> None:
    shown = _block("playlist")
    playlist = dict(shown["playlist"])
    answer = client.post(
        "/api/playlist", {"version": playlist["version"], "items": playlist["items"]}
    ).json()
    assert answer["problems"] == shown["problems"] == []
    assert answer["playlist"].pop("issued_at").endswith("+07:00")
    del playlist["issued_at"]
    assert answer["playlist"] == playlist
    saved = client.post("/api/save", {"filename": "docs.json", "playlist": shown["playlist"]})
    assert saved.status == 200
