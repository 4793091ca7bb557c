"""The command line as a user runs it: exit codes and what it prints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pygame

from tests.support import REPO, write_config

DOCS_EXAMPLES = REPO / "docs" / "examples"


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_validate_accepts_the_inbound_examples_and_configs(tmp_path: Path) -> None:
    inbound = [
        p
        for p in DOCS_EXAMPLES.glob("*.json")
        if p.name.startswith(("playlist", "alert", "command-"))
    ]
    inbound = [p for p in inbound if not p.name.startswith("command-result")]
    config = write_config(tmp_path, port=1883)
    result = cli("validate", *map(str, inbound), str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok (") == len(inbound) + 1


def test_validate_names_file_and_field_path_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"type": "playlist", "version": "2", "issued_at": "x", "items": []}),
        encoding="utf-8",
    )
    good = DOCS_EXAMPLES / "playlist-commune.json"
    result = cli("validate", str(good), str(bad))
    assert result.returncode == 1
    assert f"{bad}: version: Input should be a valid integer" in result.stdout
    assert f"{bad}: issued_at:" in result.stdout
    assert f"{good}: ok (playlist version 17" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_reports_bad_config_with_key_path(tmp_path: Path) -> None:
    config = write_config(tmp_path, port=99999)
    result = cli("validate", str(config))
    assert result.returncode == 1
    assert f"{config}: mqtt.port: Input should be less than or equal to 65535" in result.stdout


def test_schema_prints_json_schemas_and_asyncapi() -> None:
    everything = json.loads(cli("schema").stdout)
    assert set(everything) == {"json_schemas", "asyncapi"}
    assert {"playlist", "alert", "command", "heartbeat", "event"} <= set(everything["json_schemas"])
    assert json.loads(cli("schema", "--asyncapi").stdout)["asyncapi"] == "3.0.0"
    assert json.loads(cli("schema", "playlist").stdout)["title"]
    assert cli("schema", "nonsense").returncode == 2


def test_preview_writes_the_png_the_board_would_show(tmp_path: Path) -> None:
    out = tmp_path / "preview.png"
    content = tmp_path / "slots.json"
    content.write_text(
        json.dumps({"title": "Thông báo", "text": "Mất điện từ 8 giờ"}), encoding="utf-8"
    )
    result = cli(
        "preview",
        "fullscreen_text",
        "--content",
        str(content),
        "--size",
        "640x360",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert pygame.image.load(str(out)).get_size() == (640, 360)
    bad = cli(
        "preview",
        "fullscreen_text",
        "--content",
        str(content).replace("slots", "none"),
        "--out",
        str(out),
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    content.write_text(json.dumps({"txt": "x"}), encoding="utf-8")
    misspelt = cli("preview", "fullscreen_text", "--content", str(content), "--out", str(out))
    assert misspelt.returncode == 1
    assert "did you mean 'text'" in misspelt.stderr


def test_demo_runs_sample_content_through_the_inbox_with_heartbeats(tmp_path: Path) -> None:
    result = cli("demo", "--state-dir", str(tmp_path), "--seconds", "4")
    assert result.returncode == 0, result.stderr
    assert '"kind":"content.accepted","channel":"local"' in result.stderr
    assert '"kind":"playback.started","item_id":"khan-cap-demo"' in result.stderr
    # Heartbeats in full only with -v; the state line when it changes.
    assert " heartbeat {" not in result.stderr
    assert re.search(r"INFO agent\.core: heartbeat \d+: showing ", result.stderr)
    frame = pygame.image.load(str(tmp_path / "frame.png"))
    assert frame.get_size() == (1920, 1080)


def test_validate_warns_about_characters_the_board_cannot_draw(tmp_path: Path) -> None:
    notice = tmp_path / "notice.json"
    notice.write_text(
        json.dumps(
            {
                "type": "playlist",
                "version": 1,
                "issued_at": "2026-11-27T07:30:00+07:00",
                "items": [
                    {
                        "id": "a",
                        "layout": "fullscreen_text",
                        "fields": {"text": "Mưa to 🌧 chiều nay"},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    result = cli("validate", str(notice))
    assert result.returncode == 0  # shown, without the character: a warning, not an error
    assert f"{notice}: warning: items.0.fields.text: the board's fonts cannot draw 🌧" in (
        result.stdout
    )


# --- issue 10, smaller items ---------------------------------------------------------------

OUTBOUND_PREFIXES = ("heartbeat", "event-", "status-", "command-result-")


def test_validate_says_an_outbound_example_is_outbound_and_checks_its_own_schema() -> None:
    outbound = sorted(
        p for p in DOCS_EXAMPLES.glob("*.json") if p.name.startswith(OUTBOUND_PREFIXES)
    )
    assert len(outbound) >= 10
    result = cli("validate", *map(str, outbound))
    assert result.returncode == 0, result.stdout + result.stderr
    for path in outbound:
        kind = json.loads(path.read_text(encoding="utf-8")).get("type", "status")
        assert f"{path}: ok (outbound {kind}: what a board publishes" in result.stdout
    assert "playlist" not in result.stdout


def test_a_broken_outbound_payload_is_checked_against_its_own_schema(tmp_path: Path) -> None:
    beat = json.loads((DOCS_EXAMPLES / "heartbeat.json").read_text(encoding="utf-8"))
    del beat["seq"]
    bad_beat = tmp_path / "heartbeat.json"
    bad_beat.write_text(json.dumps(beat), encoding="utf-8")
    event = json.loads((DOCS_EXAMPLES / "event-display-error.json").read_text(encoding="utf-8"))
    bad_event = tmp_path / "event.json"
    bad_event.write_text(json.dumps(dict(event, message=5)), encoding="utf-8")
    status = tmp_path / "status.json"
    status.write_text('{"state": "sleeping"}', encoding="utf-8")
    result = cli("validate", str(bad_beat), str(bad_event), str(status))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{bad_beat}: outbound heartbeat: seq: required key is missing",
        f"{bad_event}: outbound event: message: Input should be a valid string",
        f"{status}: outbound status: state: Input should be 'online' or 'offline'",
    ]


def test_schema_into_a_closed_pipe_is_quiet() -> None:
    """`signage-agent schema --asyncapi | head`: the reader has gone; no traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agent", "schema", "--asyncapi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    with process, process.stderr:
        process.stdout.close()  # like `head` having read its lines and left
        stderr = process.stderr.read().decode()
        assert process.wait(60) == 141
    assert stderr == ""


def test_preview_led_out_says_the_panel_and_the_image_size(tmp_path: Path) -> None:
    content = tmp_path / "led.json"
    content.write_text(json.dumps({"text": "Bão số 3"}), encoding="utf-8")
    out = tmp_path / "led.png"
    result = cli(
        "preview",
        "led_text",
        "--led",
        "--size",
        "128x32",
        "--content",
        str(content),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    width, height = pygame.image.load(str(out)).get_size()
    assert (width, height) == (1536, 384)
    assert result.stdout.strip() == (
        f"wrote {out} (1536x384 pixels: a 128x32 LED panel drawn as dots, 12 pixels per LED)"
    )
