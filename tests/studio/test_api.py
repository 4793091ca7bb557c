"""The studio's server for real (a thread on a free port): the layouts list, previews
drawn by the board's renderer, bad requests answered with problems, static files."""

from __future__ import annotations

import http.client
import io
import json

import pygame
import pytest

from agent.studio.server import MAX_BODY_BYTES
from display_layouts.led import pitch_for
from tests.studio.conftest import Answer, RunningStudio, StudioClient

HEADLINE = {"title": "Thông báo của phường", "body": "Lịch tiêm chủng tuần này: thứ Hai."}
TICKER = "Phường Bến Nghé · Đường Lê Lợi cấm xe từ 20 giờ · Đăng ký tiêm chủng tại trạm y tế"


def picture(answer: Answer) -> pygame.Surface:
    assert answer.status == 200, answer.body[:400]
    assert answer.content_type == "image/png"
    return pygame.image.load(io.BytesIO(answer.body), "preview.png")


def share_unlike_corner(surface: pygame.Surface, area: pygame.Rect | None = None) -> float:
    """The share of pixels (in `area`) not of the background's colour (the top-left one)."""
    area = area or surface.get_rect()
    view = surface.subsurface(area)
    background = view.get_at((0, 0))
    width, height = view.get_size()
    step = 7  # a prime: never in step with an LED pitch (every sample a dark gap)
    points = [(x, y) for x in range(0, width, step) for y in range(0, height, step)]
    return sum(view.get_at(p) != background for p in points) / len(points)


# --- GET /api/layouts ---------------------------------------------------------------------


def test_layouts_lists_the_playlist_layouts_with_slots_and_sizes(client: StudioClient) -> None:
    answer = client.get("/api/layouts")
    assert answer.status == 200
    document = answer.json()
    by_name = {layout["name"]: layout for layout in document["layouts"]}
    assert set(by_name) == {"fullscreen_text", "headline", "image_caption", "led_text", "video"}
    video = {slot["name"]: slot for slot in by_name["video"]["slots"]}
    assert (video["video"]["kind"], video["video"]["required"]) == ("video", True)
    assert document["problems"] == []  # no layouts folder: nothing left out
    headline = by_name["headline"]
    assert headline["source"] == "built-in"
    assert headline["purpose"]
    assert headline["animated"] is True  # its ticker
    slots = {slot["name"]: slot for slot in headline["slots"]}
    assert slots["title"] == {
        "name": "title",
        "kind": "text",
        "required": True,
        "qr": False,
        "multiline": True,
    }
    assert slots["image"]["kind"] == "image"
    assert slots["image"]["required"] is False
    assert slots["ticker"]["multiline"] is False  # only a ticker shows it: one line
    assert by_name["image_caption"]["animated"] is True  # its caption runs on LED panels
    sizes = [(s["size"], s["led"]) for s in headline["sizes"]]
    assert sizes == [
        ("1920x1080", False),
        ("1080x1920", False),
        ("1366x768", False),
        ("128x32", True),
        ("256x64", True),
    ]
    assert all(s["label"] for s in headline["sizes"])


# --- POST /api/preview ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "led"),
    [
        ("1920x1080", False),
        ("1080x1920", False),
        ("1366x768", False),
        ("128x32", True),
        ("256x64", True),
    ],
)
def test_preview_draws_each_size(client: StudioClient, size: str, led: bool) -> None:
    body = {
        "layout": "headline",
        "fields": {**HEADLINE, "ticker": TICKER},
        "size": size,
        "led": led,
    }
    shown = picture(client.post("/api/preview", body))
    width, height = (int(n) for n in size.split("x"))
    if led:  # the dot view: each LED a round dot of `pitch` pixels, dark between
        pitch = pitch_for((width, height))
        assert pitch > 1
        assert shown.get_size() == (width * pitch, height * pitch)
    else:
        assert shown.get_size() == (width, height)
    assert share_unlike_corner(shown) > 0.02, "nothing drawn but the background"


@pytest.mark.parametrize("size", [(1, 1), (37, 5), (1920, 1080)])
def test_the_quick_png_has_the_same_pixels_as_pygame_s(size: tuple[int, int]) -> None:
    from agent.output import png_bytes
    from agent.studio.still import quick_png

    surface = pygame.Surface(size)
    for x in range(0, size[0], 3):
        surface.fill((x % 256, (7 * x) % 256, 200), pygame.Rect(x, 0, 2, size[1]))
    ours = pygame.image.load(io.BytesIO(quick_png(surface)), "ours.png")
    theirs = pygame.image.load(io.BytesIO(png_bytes(surface)), "theirs.png")
    assert ours.get_size() == theirs.get_size() == size
    assert pygame.image.tobytes(ours, "RGB") == pygame.image.tobytes(theirs, "RGB")


def test_led_view_is_dots_the_plain_panel_is_not(client: StudioClient) -> None:
    body = {"layout": "led_text", "fields": {"text": "Chào"}, "size": "128x32"}
    plain = picture(client.post("/api/preview", {**body, "led": False}))
    dots = picture(client.post("/api/preview", {**body, "led": True}))
    assert plain.get_size() == (128, 32)
    pitch = dots.get_width() // 128
    # Between two dots lies the dark gap: the corner of each LED cell is black.
    lit = [(x, y) for x in range(128) for y in range(32) if plain.get_at((x, y))[:3] != (0, 0, 0)]
    assert lit
    x, y = lit[len(lit) // 2]
    assert dots.get_at((x * pitch + pitch // 2, y * pitch + pitch // 2))[:3] != (0, 0, 0)
    assert dots.get_at((x * pitch, y * pitch))[:3] == (0, 0, 0)


def test_at_moves_a_ticker_on(client: StudioClient) -> None:
    body = {"layout": "headline", "fields": {**HEADLINE, "ticker": TICKER}, "size": "1920x1080"}
    band = pygame.Rect(0, 983, 1920, 97)  # the ticker's band: the bottom 9 %
    first = picture(client.post("/api/preview", {**body, "at": 0}))
    again = picture(client.post("/api/preview", {**body, "at": 0}))
    later = picture(client.post("/api/preview", {**body, "at": 2.5}))

    def pixels(surface: pygame.Surface) -> bytes:
        return pygame.image.tobytes(surface.subsurface(band), "RGB")

    assert pixels(first) == pixels(again)  # a still is the same still each time
    assert pixels(first) != pixels(later)  # 2.5 s later the text has run on


# --- bad requests: problems, and the server stays up --------------------------------------


def assert_still_up(client: StudioClient) -> None:
    assert client.get("/api/layouts").status == 200


def test_not_json_is_400_with_a_problem(client: StudioClient) -> None:
    answer = client.request("POST", "/api/preview", b'{"layout": "headline",')
    assert answer.status == 400
    (problem,) = answer.problems
    assert problem["message_en"].startswith("Invalid JSON")
    assert problem["message_vi"].startswith("Dữ liệu gửi lên không phải JSON")
    assert_still_up(client)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"[1, 2]", "the body must be a JSON object"),
        (b'{"layout": "headline", "layout": "led_text"}', "duplicate key 'layout'"),
        (b'{"layout": "headline", "at": NaN}', "NaN"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_strict_json(client: StudioClient, body: bytes, why: str) -> None:
    answer = client.request("POST", "/api/preview", body)
    assert answer.status == 400
    assert why in answer.problems[0]["message_en"]


def test_a_body_over_the_limit_is_413_unread(client: StudioClient) -> None:
    # Only the headers are sent: the server answers from the length alone.
    connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        connection.putrequest("POST", "/api/preview")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert "limit is 8 MiB" in json.loads(response.read())["problems"][0]["message_en"]
    finally:
        connection.close()
    assert_still_up(client)


def test_a_body_at_the_limit_is_read(client: StudioClient) -> None:
    filler = "x" * (MAX_BODY_BYTES - 100)
    body = json.dumps({"layout": "headline", "fields": {"title": filler}}).encode()
    assert len(body) <= MAX_BODY_BYTES
    answer = client.request("POST", "/api/preview", body)
    assert answer.status == 400  # read and checked: too long a text for a slot
    assert any("characters; the limit is" in p["message_en"] for p in answer.problems)


def test_without_content_length_or_as_a_form(client: StudioClient) -> None:
    chunked = client.request("POST", "/api/preview", b"", headers={"Transfer-Encoding": "chunked"})
    assert chunked.status == 411
    form = client.request("POST", "/api/preview", b"{}", headers={"Content-Type": "text/plain"})
    assert form.status == 415  # what a cross-site form could send unasked
    assert_still_up(client)


def test_unknown_layout_suggests_the_near_one(client: StudioClient) -> None:
    answer = client.post("/api/preview", {"layout": "headlin", "fields": HEADLINE})
    assert answer.status == 400
    (problem,) = answer.problems
    assert problem["field"] == "layout"
    assert problem["message_en"] == "unknown layout 'headlin'; did you mean 'headline'?"
    assert problem["message_vi"] == "Không có bố cục 'headlin'; có phải ý bạn là 'headline'?"


def test_reserved_layouts_are_not_previewed(client: StudioClient) -> None:
    answer = client.post("/api/preview", {"layout": "alert_full", "fields": {}})
    assert answer.status == 400
    assert answer.problems[0]["message_en"].startswith("unknown layout 'alert_full'")


@pytest.mark.parametrize("size", ["big", "1920", "0x0", "7x100", "4097x10", "1920x1080x2", 1920])
def test_bad_sizes(client: StudioClient, size: object) -> None:
    answer = client.post("/api/preview", {"layout": "headline", "fields": HEADLINE, "size": size})
    assert answer.status == 400
    (problem,) = answer.problems
    assert problem["field"] == "size"
    assert problem["message_vi"].startswith(("Kích", "Chiều"))


def test_any_size_within_bounds_is_drawn(client: StudioClient) -> None:
    body = {"layout": "fullscreen_text", "fields": {"text": "Xin chào"}, "size": "800x600"}
    assert picture(client.post("/api/preview", body)).get_size() == (800, 600)


def test_missing_and_unknown_fields_name_the_field(client: StudioClient) -> None:
    answer = client.post(
        "/api/preview", {"layout": "headline", "fields": {"title": "T", "bdy": "x"}}
    )
    assert answer.status == 400
    by_field = {p["field"]: p for p in answer.problems}
    assert set(by_field) == {"body", "bdy"}
    assert by_field["body"]["path"] == "fields.body"
    assert by_field["body"]["message_en"] == "missing slot 'body' required by layout 'headline'"
    assert "did you mean 'body'" in by_field["bdy"]["message_en"]
    assert_still_up(client)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"layout": "headline", "feilds": {}}, "feilds"),
        ({"fields": HEADLINE}, "layout"),
        ({"layout": 3}, "layout"),
        ({"layout": "headline", "fields": []}, "fields"),
        ({"layout": "headline", "fields": HEADLINE, "led": "yes"}, "led"),
        ({"layout": "headline", "fields": HEADLINE, "at": -1}, "at"),
        ({"layout": "headline", "fields": HEADLINE, "at": 1e9}, "at"),
        ({"layout": "headline", "fields": HEADLINE, "at": True}, "at"),
    ],
)
def test_bad_preview_bodies(client: StudioClient, body: dict[str, object], field: str) -> None:
    answer = client.post("/api/preview", body)
    assert answer.status == 400
    assert [p["field"] for p in answer.problems] == [field]


# --- static files and routing -----------------------------------------------------------------


def test_the_page_and_its_assets(client: StudioClient) -> None:
    page = client.get("/")
    assert page.status == 200
    assert page.content_type == "text/html; charset=utf-8"
    assert b"<html" in page.body
    assert client.get("/static/index.html").body == page.body
    assert client.get("/static/nothing.js").status == 404
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "target",
    [
        "/static/../server.py",
        "/static/../../agent/cli.py",
        "/static/%2e%2e/server.py",
        "/static/%2e%2e%2fserver.py",
        "/static/..%5cserver.py",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/C:%5cWindows%5cwin.ini",
        "/static/.hidden",
        "/static/index.html%00.png",
        "/static/%ff%fe.js",
        "//etc/passwd",
        "http://example.com/static/index.html",
    ],
)
def test_no_path_leaves_static(client: StudioClient, target: str) -> None:
    answer = client.get(target)
    assert answer.status in (400, 403, 404)  # 403: an absolute URL names another host
    assert b"ThreadingHTTPServer" not in answer.body
    assert b"root:" not in answer.body
    assert answer.problems  # JSON, never a traceback


def test_unknown_routes_and_methods(client: StudioClient) -> None:
    assert client.get("/api/nothing").status == 404
    assert client.post("/api/nothing", {}).status == 404
    assert client.get("/api/preview").status == 405
    refused = client.request("PUT", "/api/save", b"{}")
    assert refused.status == 501
    assert refused.problems[0]["message_en"].startswith("501")
    assert_still_up(client)


def test_http_server_refusals_are_json_too(client: StudioClient) -> None:
    import socket

    with socket.create_connection((client.host, client.port), timeout=30) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431")  # a header line too long
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["problems"][0]["message_en"].startswith("431")
    assert_still_up(client)


@pytest.mark.allow_traceback  # the bug's traceback goes to the log, on purpose here
def test_a_bug_is_one_sentence_to_the_page(
    client: StudioClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.studio import api

    def broken(_studio: object) -> object:
        raise KeyError("a bug")

    monkeypatch.setattr(api, "layouts", broken)
    answer = client.get("/api/layouts")
    assert answer.status == 500
    (problem,) = answer.problems
    assert problem["message_en"] == "internal error (KeyError); the studio goes on"
    assert b"Traceback" not in answer.body
    monkeypatch.undo()
    assert_still_up(client)


def test_another_host_name_is_refused(studio: RunningStudio) -> None:
    # A page of another site reaching 127.0.0.1 through its own DNS name (rebinding).
    client = studio.client
    answer = client.request("GET", "/api/layouts", headers={"Host": "evil.example"})
    assert answer.status == 403
    assert client.request("GET", "/", headers={"Host": f"localhost:{client.port}"}).status == 200
    # A POST refused unread: its body must not be read as the connection's next request.
    posted = client.request(
        "POST", "/api/save", b"GET /api/layouts HTTP/1.1\r\n\r\n", headers={"Host": "evil.example"}
    )
    assert posted.status == 403
    assert posted.headers["connection"] == "close"
