"""Every row of the Vietnamese table (agent/studio/problems_vi.py) provoked by a real bad
input through the server: when the board's English changes, the row no longer matches
and this test says which one (rather than the page silently showing the fallback)."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pygame
import pytest

from agent.output import png_bytes
from agent.studio import problems_vi
from agent.studio.publishing import Publisher
from tests import video_clips
from tests.http_server import ImageServer, image_server
from tests.studio.conftest import Answer, StudioClient, start_studio
from tests.support import free_port

GOOD_FIELDS = {"title": "Thông báo", "body": "Nội dung"}


def _png(width: int = 4, height: int = 3) -> bytes:
    surface = pygame.Surface((width, height))
    surface.fill((200, 30, 30))
    return png_bytes(surface)


def _declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares `width`×`height` (the checks read the header first)."""
    data = bytearray(_png())
    body = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = body
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + body))
    return bytes(data)


def _uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def item(**changes: Any) -> dict[str, Any]:
    fields = {**GOOD_FIELDS, **changes.pop("fields", {})}
    return {"id": "thong-bao-1", "layout": "headline", "fields": fields, **changes}


def picture(value: object) -> dict[str, Any]:
    return item(fields={"image": value})


def window(**changes: Any) -> dict[str, Any]:
    return item(schedule=[{"days": ["mon"], "from": "08:00", "to": "17:00", **changes}])


REF = {"url": "https://cdn.example/a.png", "sha256": "a" * 64}
CHECK = "/api/check"
PUBLISH = "publish"  # /api/publish of a studio that may publish
UNWRITABLE = "unwritable"  # /api/save of a studio whose save folder cannot be made
BUG = "bug"  # /api/check with a bug in it
CLIP = "clip"  # /api/preview of a video naming a clip the clip server serves (clip_server)
# Row -> (endpoint, body, the form field the problem concerns). A body of bytes is sent
# as it is.
CASES: dict[str, tuple[str, object, str]] = {
    "slot_missing": (
        CHECK,
        {"item": item(fields={"body": None}) | {"fields": {"title": "T"}}},
        "body",
    ),
    "slot_unknown_hint": (CHECK, {"item": item(fields={"titel": "x"})}, "titel"),
    "slot_unknown": (CHECK, {"item": item(fields={"zzzzqq": "x"})}, "zzzzqq"),
    "text_too_long": (CHECK, {"item": item(fields={"body": "b" * 4001})}, "body"),
    "empty": (CHECK, {"item": item(fields={"title": "   "})}, "title"),
    "control_char": (CHECK, {"item": item(fields={"title": "A\x07"})}, "title"),
    "text_not_image": (CHECK, {"item": item(fields={"title": _uri(_png())})}, "title"),
    "not_text_or_image": (CHECK, {"item": item(fields={"title": 5})}, "title"),
    "not_data_uri": (CHECK, {"item": picture("photo.png")}, "image"),
    "image_too_big": (CHECK, {"item": picture(_uri(b"\x89PNG" + bytes(600 * 1024)))}, "image"),
    "bad_base64": (CHECK, {"item": picture("data:image/png;base64,@@@")}, "image"),
    "image_wrong_kind": (CHECK, {"item": picture(_uri(b"GIF89a...."))}, "image"),
    "image_too_many_pixels": (CHECK, {"item": picture(_uri(_declaring(9000, 10)))}, "image"),
    "image_too_many_megapixels": (CHECK, {"item": picture(_uri(_declaring(4000, 4000)))}, "image"),
    "image_damaged": (CHECK, {"item": picture(_uri(_png()[:-20]))}, "image"),
    "url_pattern": (CHECK, {"item": picture({**REF, "url": "ftp://cdn.example/a.png"})}, "image"),
    "bad_url": (CHECK, {"item": picture({**REF, "url": "http://cdn.example:99999/a"})}, "image"),
    "sha256": (CHECK, {"item": picture({**REF, "sha256": "ABC"})}, "image"),
    "id_pattern": (CHECK, {"item": item(id="có dấu cách")}, "id"),
    "id_repeated": ("/api/playlist", {"items": [item(), item()]}, "id"),
    "at_least": (CHECK, {"item": item(duration_s=0)}, "duration_s"),
    "at_most": (CHECK, {"item": item(priority=5000)}, "priority"),
    "integer": (CHECK, {"item": item(duration_s="10")}, "duration_s"),
    "until_before_from": (
        CHECK,
        {
            "item": item(
                valid_from="2026-12-02T08:00:00+07:00", valid_until="2026-12-01T08:00:00+07:00"
            )
        },
        "valid_until",
    ),
    "no_time_zone": (CHECK, {"item": item(valid_from="2026-12-02T08:00:00")}, "valid_from"),
    "bad_datetime": (CHECK, {"item": item(valid_until="ngày mai")}, "valid_until"),
    "weekday": (CHECK, {"item": window(days=["mon", "t2"])}, "schedule"),
    "day_twice": (CHECK, {"item": window(days=["mon", "mon"])}, "schedule"),
    "empty_window": (CHECK, {"item": window(to="08:00")}, "schedule"),
    "clock_time": (CHECK, {"item": window(**{"from": "8h"})}, "schedule"),
    "list_too_short": (CHECK, {"item": window(days=[])}, "schedule"),
    "list_too_long": (CHECK, {"item": item(schedule=window()["schedule"] * 29)}, "schedule"),
    "too_many_fields": (CHECK, {"item": item(fields={f"o{n}": "x" for n in range(17)})}, "fields"),
    "chars_at_least": (CHECK, {"item": item(id="")}, "id"),
    "chars_at_most": (CHECK, {"item": item(id="a" * 129)}, "id"),
    "required_key": (CHECK, {"item": {"layout": "headline", "fields": GOOD_FIELDS}}, "id"),
    "unknown_key_bare": (CHECK, {"item": item(colour="red")}, "colour"),
    "not_object": (CHECK, {"item": item() | {"fields": []}}, "fields"),
    "layout_unknown_hint": (CHECK, {"item": item(layout="headlines")}, "layout"),
    "layout_unknown": (CHECK, {"item": item(layout="qqqqqqqq")}, "layout"),
    "layout_reserved": (CHECK, {"item": item(layout="alert_full")}, "layout"),
    "invalid_json": (CHECK, b'{"item": ', ""),
    "duplicate_key": (CHECK, b'{"item": {}, "item": {}}', "item"),
    "too_large": (CHECK, b"", ""),  # see _send: only a Content-Length over the limit
    "body_key_hint": (CHECK, {"iteem": {}}, "iteem"),
    "body_key": (CHECK, {"item": item(), "zzz": 1}, "zzz"),
    "body_required": (CHECK, {}, "item"),
    "size_shape": ("/api/preview", {"layout": "headline", "size": "lớn"}, "size"),
    "size_bounds": ("/api/preview", {"layout": "headline", "size": "5x5"}, "size"),
    "at_seconds": ("/api/preview", {"layout": "headline", "at": -2}, "at"),
    "filename_folder": ("/api/save", {"filename": "../x.json", "playlist": {}}, "filename"),
    "filename_json": ("/api/save", {"filename": "x.txt", "playlist": {}}, "filename"),
    "filename_chars": ("/api/save", {"filename": ".x.json", "playlist": {}}, "filename"),
    "filename_long": ("/api/save", {"filename": "x" * 101 + ".json", "playlist": {}}, "filename"),
    "filename_device": ("/api/save", {"filename": "con.json", "playlist": {}}, "filename"),
    "publish_off": ("/api/publish", {"playlist": {}, "to": "city"}, ""),
    "body_not_object": (CHECK, b'["item"]', ""),
    "member_not_object": (CHECK, {"item": "thong-bao"}, "item"),
    "layout_name": ("/api/preview", {"layout": None}, "layout"),
    "led_bool": ("/api/preview", {"layout": "headline", "led": 1}, "led"),
    "not_utf8": (CHECK, b'{"item": "\xc0"}', ""),
    "json_only": (CHECK, b"", ""),  # see _send: sent as a form would be
    "not_found": ("/api/nothing", {}, ""),
    "filename_text": ("/api/save", {"filename": None, "playlist": {}}, "filename"),
    "cannot_write": (UNWRITABLE, {}, "filename"),
    "to_target": (PUBLISH, {"to": ""}, "to"),
    "internal_error": (BUG, {"item": {}}, ""),
    # To a studio started with --broker (nothing listens there: the target's problems
    # are found before connecting).
    "target_level": (PUBLISH, {"to": "district/Ba Đình"}, ""),
    "target_shape": (PUBLISH, {"to": "moon"}, ""),
    "publish_failed": (PUBLISH, {"to": "city"}, ""),
    # A video slot: the body names a clip of clip_server and the still's moment.
    "video_not_ref": (
        "/api/preview",
        {"layout": "video", "fields": {"video": "huong-dan.mp4"}},
        "video",
    ),
    "clip_unreadable": (CLIP, {"clip": "/text.mp4"}, "video"),
    "clip_no_video": (CLIP, {"clip": "/audio.mp4"}, "video"),
    "clip_too_long": (CLIP, {"clip": "/ten-hours.mp4"}, "video"),
    "clip_size": (CLIP, {"clip": "/too-big.ivf"}, "video"),
    "clip_truncated": (CLIP, {"clip": "/cut.mp4", "at": 2.9}, "video"),
    "clip_sha256": (CLIP, {"clip": "/good.mp4", "sha256": "0" * 64}, "video"),
    "clip_http": (CLIP, {"clip": "/gone.mp4"}, "video"),
    "clip_unreachable": (CLIP, {"clip": "/good.mp4", "port": "free"}, "video"),
}


@pytest.fixture(scope="module")
def clip_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageServer]:
    """The clips of the clip rows, served over HTTP as a playlist's would be."""
    folder = tmp_path_factory.mktemp("clips")
    good = video_clips.h264_clip(folder / "good.mp4", container_options={"movflags": "+faststart"})
    ivf = video_clips.vp9_clip(folder / "good.ivf", fmt="ivf")
    made = {
        "/good.mp4": good,
        "/text.mp4": video_clips.text_clip(folder / "text.mp4"),
        "/audio.mp4": video_clips.audio_only_clip(folder / "audio.mp4"),
        "/ten-hours.mp4": video_clips.ten_hour_clip(folder / "ten-hours.mp4"),
        "/too-big.ivf": video_clips.absurd_size_clip(folder / "too-big.ivf", ivf, (4000, 4000)),
        "/cut.mp4": video_clips.truncated_clip(folder / "cut.mp4", good, keep=0.6),
    }
    with image_server() as server:
        server.files.update({name: path.read_bytes() for name, path in made.items()})
        yield server


def _clip_body(server: ImageServer, wanted: dict[str, Any]) -> dict[str, Any]:
    data = server.files.get(wanted["clip"], b"")
    url = server.url(wanted["clip"])
    if wanted.get("port") == "free":
        url = f"http://127.0.0.1:{free_port()}/good.mp4"
    sha256 = wanted.get("sha256", hashlib.sha256(data).hexdigest())
    fields = {"video": {"url": url, "sha256": sha256}}
    return {"layout": "video", "fields": fields, "size": "320x180", "at": wanted.get("at", 0)}


@pytest.fixture(scope="module")
def publishing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioClient]:
    publisher = Publisher(f"127.0.0.1:{free_port()}")
    server, thread = start_studio(tmp_path_factory.mktemp("saved"), publisher=publisher)
    try:
        yield StudioClient(server.url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def unwritable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioClient]:
    blocker = tmp_path_factory.mktemp("blocked") / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    server, thread = start_studio(blocker / "saved")
    try:
        yield StudioClient(server.url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _send(client: StudioClient, row: str, endpoint: str, body: object) -> Answer:
    if endpoint == UNWRITABLE:
        good = {
            "type": "playlist",
            "version": 1,
            "issued_at": "2026-12-01T08:00:00+07:00",
            "items": [item()],
        }
        return client.post("/api/save", {"filename": "x.json", "playlist": good})
    if row == "json_only":
        return client.request("POST", endpoint, b"{}", headers={"Content-Type": "text/plain"})
    if endpoint == PUBLISH:
        assert isinstance(body, dict)
        good = {
            "type": "playlist",
            "version": 1,
            "issued_at": "2026-12-01T08:00:00+07:00",
            "items": [item()],
        }
        return client.post("/api/publish", {"playlist": good, **body})
    if row == "too_large":
        return client.request("POST", endpoint, b"", headers={"Content-Length": "9000000000"})
    if isinstance(body, bytes):
        return client.request("POST", endpoint, body)
    return client.post(endpoint, body)


def test_every_row_has_a_case() -> None:
    assert set(CASES) == set(problems_vi.ROWS)


ROW_PARAMS = [
    pytest.param(row, marks=[pytest.mark.allow_traceback] if CASES[row][0] == BUG else [])
    for row in CASES
]


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_row_says_the_board_s_problem_in_vietnamese(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, row: str
) -> None:
    endpoint, body, field = CASES[row]
    if endpoint == BUG:
        from agent.studio import server

        def broken(_studio: object, _body: object) -> object:
            raise KeyError("a bug")

        monkeypatch.setitem(server._POSTS, "/api/check", broken)
        endpoint = CHECK
    if endpoint == CLIP:
        assert isinstance(body, dict)
        body = _clip_body(request.getfixturevalue("clip_server"), body)
        endpoint = "/api/preview"
    fixture = {PUBLISH: "publishing", UNWRITABLE: "unwritable"}.get(endpoint, "client")
    client = request.getfixturevalue(fixture)
    answer = _send(client, row, endpoint, body)
    document = answer.json()
    problems = document["problems"]
    assert answer.status in (200, 400, 404, 413, 415, 500, 502), answer.body[:300]
    matched = [p for p in problems if problems_vi.row_of(p["message_en"]) == row]
    shown = json.dumps(problems, ensure_ascii=False)
    assert matched, f"no problem said by row {row}: {shown}"
    problem = matched[0]
    assert problem["field"] == field
    assert problems_vi.GENERIC_VI not in problem["message_vi"]
    assert problem["message_vi"] != problem["message_en"]


def test_an_unknown_sentence_falls_back_with_the_english() -> None:
    said = problems_vi.in_vietnamese("the moon is not a layout")
    assert said == f"{problems_vi.GENERIC_VI} (the moon is not a layout)"


def test_the_parts_that_name_things_are_kept() -> None:
    said = problems_vi.in_vietnamese("layout 'headline' has no slot 'titel'; did you mean 'title'?")
    assert said == "Bố cục 'headline' không có ô 'titel'; có phải ý bạn là 'title'?"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("fields.body", "body"),
        ("fields.image.url", "image"),
        ("items.3.fields.title", "title"),
        ("valid_until", "valid_until"),
        ("items.0.schedule.0.days.1", "schedule"),
        ("duration_s", "duration_s"),
        ("$", ""),
    ],
)
def test_paths_map_to_form_fields(path: str, field: str) -> None:
    assert problems_vi.form_field(path) == field
