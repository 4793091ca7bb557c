"""The web app over a real uvicorn server and a real SQLite store: access, the JSON API,
the OpenAPI document and the live stream."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.store.models import Command
from tests.fleet.web_support import (
    ADMIN,
    ADMIN_PASSWORD,
    PNG,
    VIEWER,
    VIEWER_PASSWORD,
    WebServer,
    add_alert,
    add_board,
    add_receipt,
    basic,
    request,
    web_server,
)

pytestmark = pytest.mark.timeout(120)
ADMIN_AUTH = basic(ADMIN, ADMIN_PASSWORD)
VIEWER_AUTH = basic(VIEWER, VIEWER_PASSWORD)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with web_server(tmp_path_factory.mktemp("web") / "fleet.db") as server:
        add_board(server.store, "hk-001")
        add_board(
            server.store,
            "hk-002",
            state="offline",
            mqtt={"outbox": 250, "denied": 2},
            system={"clock_synced": False},
        )
        add_alert(server.store, "bao-so-3", "Bão số 3")
        add_receipt(server.store, "bao-so-3", "hk-001", 420)
        yield server


def get_json(web: WebServer, path: str, headers: dict[str, str] | None = None) -> object:
    status, _, body = request(web.url + path, headers=headers or ADMIN_AUTH)
    assert status == 200, body
    return json.loads(body)


def login(web: WebServer, name: str, password: str) -> tuple[int, dict[str, str]]:
    form = f"name={name}&password={urllib.parse.quote(password)}&next=/alerts".encode()
    status, headers, _ = request(
        web.url + "/login",
        method="POST",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": web.url},
    )
    return status, headers


def session_cookie(headers: dict[str, str]) -> str:
    match = re.match(r"fleet_session=([^;]+)", headers["set-cookie"])
    assert match
    return match.group(1)


def test_the_api_without_credentials_is_401_with_a_basic_challenge(web: WebServer) -> None:
    status, headers, _ = request(web.url + "/api/boards")
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic")


def test_a_page_without_credentials_redirects_to_the_login_form(web: WebServer) -> None:
    status, headers, _ = request(web.url + "/boards/hk-001")
    assert status == 303
    assert headers["location"] == "/login?next=%2Fboards%2Fhk-001"


def test_a_wrong_password_is_refused(web: WebServer) -> None:
    status, _, _ = request(web.url + "/api/boards", headers=basic(ADMIN, "not the password"))
    assert status == 401
    status, headers = login(web, VIEWER, "wrong wrong wrong")
    assert status == 401
    assert "set-cookie" not in headers


def test_failed_logins_are_rate_limited_per_name(web: WebServer) -> None:
    for _ in range(5):
        assert login(web, "nobody", "guess guess")[0] == 401
    # The limit is per name: other users still log in.
    assert login(web, VIEWER, VIEWER_PASSWORD)[0] == 303


def test_basic_auth_serves_pages_and_api(web: WebServer) -> None:
    status, _, body = request(web.url + "/", headers=VIEWER_AUTH)
    assert status == 200
    assert b'data-page="grid"' in body
    assert b'data-can-publish="0"' in body  # the page hides the command buttons
    assert get_json(web, "/api/me", VIEWER_AUTH) == {"name": VIEWER, "can_publish": False}


def test_the_session_cookie_logs_in_and_logout_ends_it(web: WebServer) -> None:
    status, headers = login(web, ADMIN, ADMIN_PASSWORD)
    assert status == 303
    assert headers["location"] == "/alerts"
    cookie_header = headers["set-cookie"].lower()
    assert "httponly" in cookie_header
    assert "samesite=strict" in cookie_header
    assert "secure" not in cookie_header  # plain http here
    cookie = {"Cookie": f"fleet_session={session_cookie(headers)}"}
    assert get_json(web, "/api/me", cookie) == {"name": ADMIN, "can_publish": True}
    status, _, _ = request(
        web.url + "/logout", method="POST", headers={**cookie, "Origin": web.url}
    )
    assert status == 303
    status, _, _ = request(web.url + "/api/me", headers=cookie)
    assert status == 401


def test_the_session_token_is_stored_only_as_its_digest(web: WebServer) -> None:
    _, headers = login(web, ADMIN, ADMIN_PASSWORD)
    token = session_cookie(headers)
    database = Path(web.store.engine.url.database or "")
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            assert token.encode() not in path.read_bytes()


def test_boards_list_every_board_with_its_problems(web: WebServer) -> None:
    boards = get_json(web, "/api/boards")
    assert isinstance(boards, list)
    by_id = {b["board_id"]: b for b in boards}
    assert set(by_id) == {"hk-001", "hk-002"}
    online = by_id["hk-001"]
    assert online["state"] == "online"
    assert online["now_showing"]["item_id"] == "tin-tuc"
    assert online["problems"] == []
    assert online["screenshot_at"] is not None
    assert online["groups"] == ["truong-hoc"]
    codes = {p["code"] for p in by_id["hk-002"]["problems"]}
    assert codes == {"offline", "outbox_backlog", "publish_denied", "clock_not_synced"}


def test_board_detail_has_history_events_and_proof_of_play(web: WebServer) -> None:
    detail = get_json(web, "/api/boards/hk-001?kind=playback.started&limit=1")
    assert isinstance(detail, dict)
    assert [h["seq"] for h in detail["history"]] == [1, 2, 3]
    assert [e["kind"] for e in detail["events"]["items"]] == ["playback.started"]
    assert detail["plays"][0]["body"]["layout"] == "headline"
    status, _, _ = request(web.url + "/api/boards/nope", headers=ADMIN_AUTH)
    assert status == 404


def test_the_screenshot_is_the_latest_png(web: WebServer) -> None:
    status, headers, body = request(web.url + "/api/boards/hk-001/screenshot", headers=ADMIN_AUTH)
    assert status == 200
    assert headers["content-type"] == "image/png"
    assert body == PNG
    status, _, _ = request(web.url + "/api/boards/nope/screenshot", headers=ADMIN_AUTH)
    assert status == 404


def post_command(
    web: WebServer, headers: dict[str, str], board: str = "hk-001"
) -> tuple[int, bytes]:
    status, _, body = request(
        web.url + f"/api/boards/{board}/commands",
        method="POST",
        body=json.dumps({"command": "ping", "args": {}}).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    return status, body


def test_a_viewer_may_not_send_commands(web: WebServer) -> None:
    status, _ = post_command(web, VIEWER_AUTH)
    assert status == 403


def test_a_publisher_sends_a_command_and_it_is_stored(web: WebServer) -> None:
    status, body = post_command(web, ADMIN_AUTH)
    assert status == 201, body
    row = json.loads(body)
    assert row["sent_by"] == ADMIN
    assert row["ok"] is None
    assert web.sender.sent[-1] == ("hk-001", row["id"], "ping", {})
    with web.store.session() as session:
        stored = session.get(Command, row["id"])
        assert stored is not None
        stored.ok, stored.result = True, {"type": "command_result", "id": row["id"], "ok": True}
    fetched = get_json(web, f"/api/commands/{row['id']}")
    assert isinstance(fetched, dict)
    assert fetched["ok"] is True


def test_a_command_the_broker_refuses_is_502(web: WebServer) -> None:
    web.sender.fail = True
    try:
        status, body = post_command(web, ADMIN_AUTH)
    finally:
        web.sender.fail = False
    assert status == 502
    assert "broker" in json.loads(body)["detail"]


def test_a_cross_origin_post_with_the_cookie_is_refused(web: WebServer) -> None:
    _, headers = login(web, ADMIN, ADMIN_PASSWORD)
    cookie = {"Cookie": f"fleet_session={session_cookie(headers)}"}
    assert post_command(web, {**cookie, "Origin": "http://evil.example"})[0] == 403
    assert post_command(web, cookie)[0] == 403  # a cookie without Origin/Referer
    assert post_command(web, {**cookie, "Origin": web.url})[0] == 201


def test_the_reach_report(web: WebServer) -> None:
    reach = get_json(web, "/api/alerts/bao-so-3")
    assert isinstance(reach, dict)
    assert reach["boards_showing"] == ["hk-001"]
    assert reach["missing"] == ["hk-002"]
    assert sorted(reach["boards_in_scope"]) == ["hk-001", "hk-002"]
    assert reach["latency_ms"]["max"] == 420
    assert sum(b["count"] for b in reach["histogram"]) == 1
    alerts = get_json(web, "/api/alerts")
    assert isinstance(alerts, list)
    assert [(a["alert_id"], a["showing"], a["in_scope"]) for a in alerts] == [("bao-so-3", 1, 2)]


def test_the_openapi_document_lists_the_contract_paths(web: WebServer) -> None:
    document = get_json(web, "/openapi.json", {})
    assert isinstance(document, dict)
    paths = document["paths"]
    for path in (
        "/api/boards",
        "/api/boards/{board_id}",
        "/api/boards/{board_id}/screenshot",
        "/api/boards/{board_id}/commands",
        "/api/alerts",
        "/api/alerts/{alert_id}",
        "/api/stream",
    ):
        assert path in paths
    summary = document["components"]["schemas"]["BoardSummary"]["properties"]
    assert {"board_id", "state", "since", "last_heartbeat_at", "now_showing"} <= set(summary)
    assert {"alerts_active", "problems"} <= set(summary)
    assert request(web.url + "/docs")[0] == 404  # it would load a CDN


def test_no_page_or_asset_references_another_origin(web: WebServer) -> None:
    texts = [request(web.url + p, headers=ADMIN_AUTH)[2] for p in ("/", "/login", "/alerts")]
    static = Path(__file__).resolve().parents[2] / "fleet" / "static"
    texts += [f.read_bytes() for f in sorted(static.iterdir())]
    for text in texts:
        # The SVG namespace is a name, never fetched.
        urls = set(re.findall(rb"https?://[^\s\"'<>)]+", text)) - {b"http://www.w3.org/2000/svg"}
        assert not urls


def test_the_stream_carries_changes_as_server_sent_events(web: WebServer) -> None:
    req = urllib.request.Request(web.url + "/api/stream", headers=ADMIN_AUTH)
    with urllib.request.urlopen(req, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.readline().startswith(b"retry:")  # connected: subscribed
        done = threading.Event()

        def notify_until_heard() -> None:
            while not done.wait(0.2):
                web.changes.notify("alert", "bao-so-3")

        notifier = threading.Thread(target=notify_until_heard)
        notifier.start()
        try:
            lines: list[bytes] = []
            while b"event: alert\n" not in lines:
                lines.append(response.readline())
            assert response.readline() == b'data: {"key": "bao-so-3"}\n'
        finally:
            done.set()
            notifier.join()


def test_the_server_stops_while_a_stream_is_open(tmp_path: Path) -> None:
    with web_server(tmp_path / "fleet.db") as server:
        req = urllib.request.Request(server.url + "/api/stream", headers=ADMIN_AUTH)
        response = urllib.request.urlopen(req, timeout=30)
        assert response.readline().startswith(b"retry:")
        # Leaving the block stops uvicorn; web_server fails if the open stream holds it.
    with response:
        assert response.read() == b": connected\n\n"  # the stream ended cleanly


def test_a_board_that_sends_odd_heartbeat_fields_is_still_listed(tmp_path: Path) -> None:
    with web_server(tmp_path / "fleet.db") as server:
        add_board(
            server.store,
            "la-001",
            now_showing={"item_id": 5, "channel": ["x"]},
            alerts_active="bao",
            mqtt=None,
            display={"missing_glyphs": 4, "brand_new_key": {"nested": True}},
        )
        boards = get_json(server, "/api/boards")
        assert isinstance(boards, list)
        (board,) = boards
        assert board["now_showing"] is None
        assert board["alerts_active"] == []
        assert [p["code"] for p in board["problems"]] == ["missing_glyphs"]
        assert get_json(server, "/api/boards/la-001")


def test_basic_credentials_are_checked_once_then_remembered_briefly(web: WebServer) -> None:
    for _ in range(3):
        assert get_json(web, "/api/me", VIEWER_AUTH) == {"name": VIEWER, "can_publish": False}
    status, _, _ = request(web.url + "/api/me", headers=basic(VIEWER, VIEWER_PASSWORD + "x"))
    assert status == 401  # a different password is not the remembered one


def test_the_pages_own_fetches_get_no_basic_challenge(web: WebServer) -> None:
    status, headers, _ = request(web.url + "/api/boards", headers={"X-Fleet-Page": "1"})
    assert status == 401
    assert "www-authenticate" not in {k.lower() for k in headers}


def test_the_login_form_passes_a_logged_in_browser_on(web: WebServer) -> None:
    _, headers = login(web, ADMIN, ADMIN_PASSWORD)
    cookie = {"Cookie": f"fleet_session={session_cookie(headers)}"}
    status, headers, _ = request(web.url + "/login?next=/alerts/bao-so-3", headers=cookie)
    assert (status, headers["location"]) == (303, "/alerts/bao-so-3")
    status, headers, _ = request(web.url + "/login?next=//evil.example/", headers=cookie)
    assert (status, headers["location"]) == (303, "/")
