"""`preview`, `validate` and `demo` as on a content manager's Windows laptop: no POSIX-only
calls, no system time-zone database (tests/no_posix.py), run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pygame
import pytest

from display_layouts import theme
from tests.http_server import image_server
from tests.no_posix import cli_without_posix, no_posix_env
from tests.support import REPO, write_config

DOCS_EXAMPLES = REPO / "docs" / "examples"
NEWS = {"title": "Thông báo", "body": "Mất điện từ 8 giờ", "ticker": "Cảnh báo ngập lụt"}
DRAFT = """\
name: my_notice
purpose: A draft notice.
zones:
  - {name: body, type: text, box: [0, 0, 70, 100], text: "{body}"}
  - {name: code, type: qr, box: [70, 0, 30, 100], data: "{link}", optional: true}
"""


@pytest.fixture
def tz_dir(tmp_path: Path) -> Path:
    return tmp_path / "empty-zoneinfo"


def not_background(picture: pygame.Surface) -> int:
    """How many pixels are not the board's background (a blank frame has none)."""
    mask = pygame.mask.from_threshold(picture, theme.BACKGROUND, (1, 1, 1, 255))
    width, height = picture.get_size()
    return width * height - mask.count()


def test_preview_writes_a_png(tmp_path: Path, tz_dir: Path) -> None:
    content = tmp_path / "news.json"
    content.write_text(json.dumps(NEWS), encoding="utf-8")
    out = tmp_path / "news.png"
    result = cli_without_posix(
        "preview", "headline", "--content", str(content), "--size", "640x360",
        "--out", str(out), tz_dir=tz_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out} (640x360)"
    picture = pygame.image.load(str(out))
    assert picture.get_size() == (640, 360)
    assert not_background(picture) > 640 * 360 // 4  # header, ticker band, text


def test_preview_of_a_layout_file_as_led_dots(tmp_path: Path, tz_dir: Path) -> None:
    layout = tmp_path / "my_notice.yaml"
    layout.write_text(DRAFT, encoding="utf-8")
    content = tmp_path / "notice.json"
    content.write_text(json.dumps({"body": "Bão số 3", "link": "https://x.vn"}), "utf-8")
    out = tmp_path / "led.png"
    result = cli_without_posix(
        "preview", str(layout), "--content", str(content), "--size", "128x32", "--led",
        "--at", "2", "--out", str(out), tz_dir=tz_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    picture = pygame.image.load(str(out))
    assert picture.get_size() == (1536, 384)
    lit = pygame.mask.from_threshold(picture, (0, 0, 0), (1, 1, 1, 255))
    assert lit.count() < 1536 * 384  # not all dark: the LEDs are on


def test_preview_problems_are_said_without_a_traceback(tmp_path: Path, tz_dir: Path) -> None:
    content = tmp_path / "slots.json"
    content.write_text(json.dumps({"txt": "x"}), encoding="utf-8")
    result = cli_without_posix(
        "preview", "fullscreen_text", "--content", str(content), "--out",
        str(tmp_path / "x.png"), tz_dir=tz_dir,
    )  # fmt: skip
    assert result.returncode == 1
    assert "did you mean 'text'" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_exit_codes_and_messages(tmp_path: Path, tz_dir: Path) -> None:
    good = DOCS_EXAMPLES / "playlist-commune.json"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "playlist", "version": "2", "items": []}), "utf-8")
    config = write_config(tmp_path, port=1883)
    result = cli_without_posix("validate", str(good), str(config), tz_dir=tz_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{good}: ok (playlist version 17" in result.stdout
    assert f"{config}: ok (config of board" in result.stdout
    result = cli_without_posix("validate", str(good), str(bad), tz_dir=tz_dir)
    assert result.returncode == 1
    assert f"{bad}: version: Input should be a valid integer" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_every_inbound_example(tmp_path: Path, tz_dir: Path) -> None:
    # Playlists with schedules, alerts (their times shown in the board's zone), commands,
    # CAP documents, the keyring: what a content manager checks before sending.
    inbound = [
        p
        for p in sorted(DOCS_EXAMPLES.glob("*.json"))
        if p.name.startswith(("playlist", "alert", "command-", "keyring"))
        and not p.name.startswith("command-result")
    ]
    inbound += sorted((DOCS_EXAMPLES / "cap").glob("vn-*.xml"))
    result = cli_without_posix("validate", *map(str, inbound), tz_dir=tz_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok (") == len(inbound)
    assert result.stderr == ""


def test_validate_a_layout_file(tmp_path: Path, tz_dir: Path) -> None:
    layout = tmp_path / "my_notice.yaml"
    layout.write_text(DRAFT, encoding="utf-8")
    result = cli_without_posix("validate", str(layout), tz_dir=tz_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    layout.write_text(DRAFT.replace("type: qr", "type: qrcode"), encoding="utf-8")
    result = cli_without_posix("validate", str(layout), tz_dir=tz_dir)
    assert result.returncode == 1
    assert f"{layout}" in result.stdout
    assert "Traceback" not in result.stderr


def test_without_any_time_zone_database_each_command_says_so_in_one_line(
    tmp_path: Path, tz_dir: Path
) -> None:
    content = tmp_path / "news.json"
    content.write_text(json.dumps(NEWS), encoding="utf-8")
    result = cli_without_posix(
        "preview", "headline", "--content", str(content), "--out", str(tmp_path / "x.png"),
        tz_dir=tz_dir, tzdata=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        "signage-agent: no time-zone database on this computer to look up "
        "'Asia/Ho_Chi_Minh' in: install the tzdata package (pip install tzdata)\n"
    )
    config = write_config(tmp_path, port=1883, board_extra='timezone = "Asia/Ho_Chi_Minh"')
    result = cli_without_posix("validate", str(config), tz_dir=tz_dir, tzdata=False)
    assert result.returncode == 1
    assert f"{config}: board.timezone: no time-zone database" in result.stdout
    assert "Traceback" not in result.stderr


def test_demo_says_in_one_line_what_its_inbox_needs(tmp_path: Path, tz_dir: Path) -> None:
    result = cli_without_posix(
        "demo", "--state-dir", str(tmp_path), "--seconds", "1", tz_dir=tz_dir
    )
    assert result.returncode == 1
    assert result.stderr == (
        "signage-agent: the demo's local inbox needs os.O_DIRECTORY, os.pipe2, select.poll, "
        "which this system lacks; `preview` and `validate` work here\n"
    )


def test_demo_runs_and_stops_where_there_is_no_sighup(tmp_path: Path) -> None:
    # Only the signals Windows lacks are gone: the demo installs what exists and stops
    # itself after --seconds by raising SIGTERM in-process (os.kill would end it at once
    # on Windows).
    prelude = (
        "import runpy, signal, sys\n"
        "for name in ('SIGHUP', 'SIGUSR1', 'SIGUSR2'):\n"
        "    delattr(signal, name)\n"
        "sys.argv = ['signage-agent', *sys.argv[1:]]\n"
        "runpy.run_module('agent', run_name='__main__', alter_sys=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude, "demo", "--state-dir", str(tmp_path), "--seconds", "3"],
        capture_output=True,
        encoding="cp1252",
        errors="replace",
        cwd=REPO,
        env=no_posix_env(tmp_path / "zoneinfo-empty"),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"kind":"playback.started","item_id":"khan-cap-demo"' in result.stderr
    assert "received SIGTERM: stopping" in result.stderr
    assert "Traceback" not in result.stderr


def test_preview_of_an_item_with_a_local_and_a_fetched_picture(
    tmp_path: Path, tz_dir: Path
) -> None:
    red = pygame.Surface((64, 48))
    red.fill((220, 20, 20))
    pygame.image.save(red, str(tmp_path / "red.png"))
    blue = pygame.Surface((64, 48))
    blue.fill((20, 20, 220))
    pygame.image.save(blue, str(tmp_path / "blue.png"))
    with image_server() as server:
        server.files["/blue.png"] = (tmp_path / "blue.png").read_bytes()
        for image, colour in (("red.png", (220, 20, 20)), (server.url("/blue.png"), (20, 20, 220))):
            item = tmp_path / "item.json"
            fields = {"image": image, "caption": "Ảnh"}
            item.write_text(json.dumps({"id": "anh", "layout": "image_caption", "fields": fields}))
            out = tmp_path / "out.png"
            result = cli_without_posix(
                "preview", "--content", str(item), "--size", "640x360", "--out", str(out),
                tz_dir=tz_dir,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert "preview: note: fields.image: " in result.stderr
            assert pygame.image.load(str(out)).get_at((320, 120))[:3] == colour


def test_vietnamese_problems_are_said_in_a_code_page_without_them(
    tmp_path: Path, tz_dir: Path
) -> None:
    playlist = tmp_path / "tin.json"
    item = {"id": "a", "layout": "fullscreen_text", "fields": {"tiêu_đề": "x", "text": "Mất"}}
    playlist.write_text(
        json.dumps({"type": "playlist", "version": 1, "issued_at": "2026-11-27T07:30:00+07:00",
                    "items": [item]}, ensure_ascii=False),
        encoding="utf-8",
    )  # fmt: skip
    result = cli_without_posix("validate", str(playlist), tz_dir=tz_dir)
    assert result.returncode == 1
    assert "has no slot 'tiêu_\\u0111\\u1ec1'" in result.stdout, result.stdout
    assert result.stderr == ""
