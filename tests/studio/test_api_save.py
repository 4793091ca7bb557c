"""Items checked, playlists built and saved as the page does it; a saved file passes
`signage-agent validate` (run for real); file name rules; a layouts folder's layouts
offered, and its bad files reported, not fatal."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.studio.conftest import RunningStudio, StudioClient, start_studio
from tests.support import REPO

ITEM = {
    "id": "tiem-chung",
    "layout": "headline",
    "fields": {"title": "Tiêm chủng", "body": "Thứ Hai tại trạm y tế phường."},
    "duration_s": 15,
    "valid_from": "2026-12-01T00:00:00+07:00",
    "valid_until": "2026-12-31T23:59:00+07:00",
    "schedule": [{"days": ["mon", "tue"], "from": "07:00", "to": "21:00"}],
}


def validate(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "validate", *map(str, arguments)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def built(client: StudioClient, items: list[dict[str, Any]], version: int = 3) -> dict[str, Any]:
    answer = client.post("/api/playlist", {"version": version, "items": items})
    assert answer.status == 200
    document: dict[str, Any] = answer.json()
    assert document["problems"] == []
    playlist: dict[str, Any] = document["playlist"]
    return playlist


def test_a_good_item_has_no_problems(client: StudioClient) -> None:
    answer = client.post("/api/check", {"item": ITEM})
    assert answer.status == 200
    assert answer.json() == {"problems": []}


def test_check_reports_every_problem_at_once(client: StudioClient) -> None:
    item = {**ITEM, "fields": {"title": "T"}, "valid_until": "2026-11-01T00:00:00+07:00"}
    problems = client.post("/api/check", {"item": item}).json()["problems"]
    # The date's problem and the slot's, though the model stopped at the date.
    assert {p["field"] for p in problems} == {"valid_until", "body"}


def test_the_playlist_is_the_board_s_and_paths_name_the_item(client: StudioClient) -> None:
    other = {**ITEM, "id": "b", "fields": {"title": "T"}}
    document = client.post("/api/playlist", {"version": 7, "items": [ITEM, other]}).json()
    playlist = document["playlist"]
    assert playlist["type"] == "playlist"
    assert playlist["version"] == 7
    assert playlist["issued_at"].endswith("+07:00")
    assert playlist["items"] == [ITEM, other]
    (problem,) = document["problems"]
    assert problem["path"] == "items.1.fields.body"
    assert problem["field"] == "body"


def test_every_item_s_problems_in_one_round(client: StudioClient) -> None:
    dated = {**ITEM, "valid_from": "2026-12-01T00:00:00"}  # no time zone
    missing = {**ITEM, "id": "b", "fields": {"title": "T"}}
    answer = client.post("/api/playlist", {"version": 0.5, "items": [dated, missing, "x"]})
    paths = sorted(p["path"] for p in answer.json()["problems"])
    assert paths == ["items.0.valid_from", "items.1.fields.body", "items.2", "version"]


def test_a_saved_playlist_passes_validate(studio: RunningStudio) -> None:
    playlist = built(studio.client, [ITEM])
    answer = studio.client.post("/api/save", {"filename": "thông-báo.json", "playlist": playlist})
    assert answer.status == 200, answer.body
    saved = Path(answer.json()["saved"])
    assert saved == (studio.save_dir / "thông-báo.json").resolve()
    assert saved.read_text(encoding="utf-8").count("Tiêm chủng") == 1  # UTF-8, not \u escapes
    assert not [p for p in studio.save_dir.iterdir() if p.name.startswith(".")]  # no temp file
    done = validate(saved)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok (playlist version 3, 1 items)" in done.stdout


def test_saving_again_replaces_the_file(studio: RunningStudio) -> None:
    for version in (1, 2):
        playlist = built(studio.client, [ITEM], version)
        answer = studio.client.post("/api/save", {"filename": "lai.json", "playlist": playlist})
        assert answer.status == 200
    assert '"version": 2' in (studio.save_dir / "lai.json").read_text(encoding="utf-8")


def test_a_bad_playlist_is_not_saved(studio: RunningStudio) -> None:
    playlist = built(studio.client, [ITEM])
    playlist["items"][0]["fields"] = {"title": "T"}
    answer = studio.client.post("/api/save", {"filename": "xau.json", "playlist": playlist})
    assert answer.status == 400
    assert [p["path"] for p in answer.problems] == ["items.0.fields.body"]
    assert not (studio.save_dir / "xau.json").exists()


@pytest.mark.parametrize(
    "name",
    [
        "../x.json",
        "..\\x.json",
        "/tmp/x.json",
        "sub/x.json",
        "C:\\x.json",
        "c:x.json",
        ".json",
        "..json",
        "....json",
        ".hidden.json",
        "x.txt",
        "x.json.txt",
        "x",
        "",
        "x" * 96 + ".json",
        "a\x00b.json",
        "a\nb.json",
        "con.json",
        "NUL.json",
        " x.json",
        'a"b.json',
        "a?.json",
        5,
    ],
)
def test_file_name_rules(studio: RunningStudio, name: object) -> None:
    playlist = built(studio.client, [ITEM])
    before = sorted(p.name for p in studio.save_dir.parent.rglob("*"))
    answer = studio.client.post("/api/save", {"filename": name, "playlist": playlist})
    assert answer.status == 400
    (problem,) = answer.problems
    assert problem["field"] == "filename"
    assert sorted(p.name for p in studio.save_dir.parent.rglob("*")) == before


def test_the_longest_name_is_taken(studio: RunningStudio) -> None:
    name = "x" * 95 + ".json"  # 100 characters
    answer = studio.client.post(
        "/api/save", {"filename": name, "playlist": built(studio.client, [ITEM])}
    )
    assert answer.status == 200
    assert (studio.save_dir / name).is_file()


# --- a layouts folder -----------------------------------------------------------------------

WARD_NOTICE = """\
name: ward_notice
purpose: A notice with a link as a QR code.
background: navy
zones:
  - {name: title, type: text, box: [0, 0, 70, 20], text: "{title}", max_lines: 1, font: bold}
  - {name: body, type: text, box: [0, 20, 70, 80], text: "{body}"}
  - {name: code, type: qr, box: [70, 20, 30, 60], data: "{link}", optional: true}
"""


@pytest.fixture
def with_folder(tmp_path: Path) -> Iterator[tuple[StudioClient, Path, Path]]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "ward_notice.yaml").write_text(WARD_NOTICE, encoding="utf-8")
    (layouts / "broken.yaml").write_text("name: broken\nzones: [\n", encoding="utf-8")
    saved = tmp_path / "saved"
    server, thread = start_studio(saved, layouts)
    try:
        yield StudioClient(server.url), layouts, saved
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_layouts_folder(with_folder: tuple[StudioClient, Path, Path]) -> None:
    client, layouts, saved = with_folder
    document = client.get("/api/layouts").json()
    by_name = {layout["name"]: layout for layout in document["layouts"]}
    notice = by_name["ward_notice"]
    assert notice["source"] == "file"
    assert notice["animated"] is False
    slots = {slot["name"]: slot for slot in notice["slots"]}
    assert slots["link"]["qr"] is True
    assert slots["link"]["required"] is False
    assert slots["title"]["multiline"] is False
    assert slots["body"]["multiline"] is True
    assert by_name["headline"]["source"] == "built-in"
    (problem,) = document["problems"]  # the broken file: reported, the rest work
    assert problem["source"].endswith("broken.yaml")
    assert "not valid YAML" in problem["message_en"]
    assert problem["message_vi"].startswith("Tệp bố cục")

    fields = {"title": "Đăng ký", "body": "Quét mã", "link": "https://phuong.example/dk"}
    preview = client.post("/api/preview", {"layout": "ward_notice", "fields": fields})
    assert preview.status == 200
    item = {"id": "dk", "layout": "ward_notice", "fields": fields}
    playlist = built(client, [item])
    answer = client.post("/api/save", {"filename": "dk.json", "playlist": playlist})
    assert answer.status == 200
    (layouts / "broken.yaml").unlink()
    assert validate(saved / "dk.json", "--layouts-dir", layouts).returncode == 0
    assert validate(saved / "dk.json").returncode == 1  # a board without the folder refuses it


def test_a_layout_file_saved_while_the_studio_runs(
    with_folder: tuple[StudioClient, Path, Path],
) -> None:
    client, layouts, _saved = with_folder
    (layouts / "broken.yaml").write_text(WARD_NOTICE.replace("ward_notice", "broken"), "utf-8")
    document = client.get("/api/layouts").json()
    assert document["problems"] == []
    assert "broken" in {layout["name"] for layout in document["layouts"]}
