"""`signage-agent validate --layouts-dir DIR` (CONTRACT §8): playlists checked against a
folder of custom layouts as well as the built-in ones."""

from __future__ import annotations

import io
import json
from pathlib import Path

from agent.validate import validate_files
from tests.no_posix import with_and_without_posix

system = with_and_without_posix()  # each test here, and again as on Windows

BUS_TIMES = """\
name: bus_times
purpose: The next buses at this stop.
zones:
  - name: route
    type: text
    box: [0, 0, 100, 100]
    text: "{route}"
"""


def _playlist(path: Path, fields: dict[str, str]) -> Path:
    item = {"id": "xe-buyt", "layout": "bus_times", "fields": fields}
    path.write_text(
        json.dumps(
            {
                "type": "playlist",
                "version": 1,
                "issued_at": "2026-11-27T07:30:00+07:00",
                "items": [item],
            }
        )
    )
    return path


def test_a_playlist_naming_a_custom_layout_passes_with_its_folder(
    system: None, tmp_path: Path
) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "bus_times.yaml").write_text(BUS_TIMES)
    good = _playlist(tmp_path / "good.json", {"route": "32"})
    out = io.StringIO()
    assert validate_files([good], io.StringIO()) == 1  # unknown without the folder
    assert validate_files([good], out, layouts_dir=layouts) == 0, out.getvalue()
    bad = _playlist(tmp_path / "bad.json", {"stop": "Kim Mã"})
    out = io.StringIO()
    assert validate_files([bad], out, layouts_dir=layouts) == 1
    assert "has no slot 'stop'" in out.getvalue()


def test_a_bad_file_in_the_folder_fails_the_run(system: None, tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "bus_times.yaml").write_text(BUS_TIMES.replace("type: text", "type: marquee"))
    out = io.StringIO()
    good = _playlist(tmp_path / "good.json", {"route": "32"})
    assert validate_files([good], out, layouts_dir=layouts) == 1
    assert "(line 5)" in out.getvalue()
