"""A real uvicorn server over a real SQLite store, for the web tests, and rows to fill it."""

from __future__ import annotations

import base64
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.client import HTTPResponse
from pathlib import Path
from typing import Any

import uvicorn

from fleet.commands import PublishFailed
from fleet.live import Changes
from fleet.store.db import Store
from fleet.store.models import (
    Alert,
    AlertReceipt,
    Board,
    BoardEvent,
    HeartbeatSample,
    Screenshot,
    User,
)
from fleet.users import HASHER
from fleet.web.app import create_app
from fleet.web.stream import FleetServer
from tests.support import free_port

ADMIN, ADMIN_PASSWORD = "admin", "correct horse battery"
VIEWER, VIEWER_PASSWORD = "viewer", "viewer password 1"
# The smallest valid PNG (1x1, black): what a board's screenshot topic carries.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)


@dataclass
class RecordingSender:
    """The command side of the broker, as the web app sees it: records what it was asked
    to publish; `fail` makes it refuse like an unreachable broker."""

    sent: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    fail: bool = False

    def send_command(
        self, board_id: str, command_id: str, command: str, args: dict[str, Any]
    ) -> None:
        if self.fail:
            raise PublishFailed("broker unreachable")
        self.sent.append((board_id, command_id, command, args))


@dataclass
class WebServer:
    url: str
    store: Store
    changes: Changes
    sender: RecordingSender


def heartbeat(board_id: str, seq: int, sent_at: datetime, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "heartbeat",
        "board_id": board_id,
        "seq": seq,
        "sent_at": sent_at.isoformat(),
        "agent_version": "1.4.0",
        "uptime_s": 100 + seq,
        "now_showing": {"item_id": "tin-tuc", "channel": "city", "since": sent_at.isoformat()},
        "alerts_active": [],
        "display": {"output": "window", "width": 192, "height": 64, "fps": 30, "power": "on"},
        "serial": None,
        "system": {"cpu_percent": 10.0 + seq, "mem_percent": 40.0, "clock_synced": True},
        "mqtt": {"connected_since": sent_at.isoformat(), "reconnects": 0, "outbox": 0},
        "errors_total": 0,
    }
    body.update(overrides)
    return body


def add_board(store: Store, board_id: str, *, state: str = "online", **hb: Any) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        body = heartbeat(board_id, 3, now, **hb)
        session.add(
            Board(
                board_id=board_id,
                first_seen_at=now - timedelta(hours=1),
                state=state,
                since=now - timedelta(minutes=30),
                agent_version="1.4.0",
                last_heartbeat_at=now,
                last_heartbeat_seq=3,
                heartbeat=body,
                district="hoan-kiem",
                commune="hang-bac",
                groups=["truong-hoc"],
                area_codes=[],
            )
        )
        session.flush()
        for seq in range(1, 4):
            at = now - timedelta(seconds=30 * (3 - seq))
            session.add(
                HeartbeatSample(
                    board_id=board_id,
                    sent_at=at,
                    received_at=at,
                    seq=seq,
                    body=heartbeat(board_id, seq, at),
                )
            )
        session.add(
            BoardEvent(
                board_id=board_id,
                kind="playback.started",
                at=now,
                received_at=now,
                body={
                    "type": "event",
                    "kind": "playback.started",
                    "at": now.isoformat(),
                    "item_id": "tin-tuc",
                    "channel": "city",
                    "layout": "headline",
                },
            )
        )
        session.add(Screenshot(board_id=board_id, received_at=now, png=PNG, width=1, height=1))


def add_alert(store: Store, alert_id: str, headline: str) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        session.add(
            Alert(
                alert_id=alert_id,
                first_seen_at=now,
                scope="city",
                scope_value=None,
                topic=f"signage/v1/alert/city/{alert_id}",
                sent=now,
                published_at=now,
                severity="severe",
                headline=headline,
                status="actual",
                areas=None,
            )
        )


def add_receipt(store: Store, alert_id: str, board_id: str, latency_ms: int) -> None:
    with store.session() as session:
        session.add(
            AlertReceipt(
                alert_id=alert_id,
                board_id=board_id,
                started_at=datetime.now(UTC),
                latency_ms=latency_ms,
            )
        )


def add_user(store: Store, name: str, password: str, *, can_publish: bool) -> None:
    with store.session() as session:
        session.add(
            User(
                name=name,
                password_hash=HASHER.hash(password),
                can_publish=can_publish,
                created_at=datetime.now(UTC),
            )
        )


@contextmanager
def web_server(db_path: Path) -> Iterator[WebServer]:
    """The fleet's app on a free port, served by uvicorn in a thread; stopped at the end."""
    store = Store(f"sqlite:///{db_path}")
    store.create_schema()
    add_user(store, ADMIN, ADMIN_PASSWORD, can_publish=True)
    add_user(store, VIEWER, VIEWER_PASSWORD, can_publish=False)
    changes = Changes()
    sender = RecordingSender()
    port = free_port()
    config = uvicorn.Config(
        create_app(store, changes, sender),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = FleetServer(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield WebServer(f"http://127.0.0.1:{port}", store, changes, sender)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        store.close()
        if thread.is_alive():
            raise RuntimeError("uvicorn did not stop (an open stream held it?)")


def basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def request(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; redirects are not followed, errors are answers."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        response: HTTPResponse = _OPENER.open(req, timeout=30)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read()
    with response:
        return response.status, dict(response.headers.items()), response.read()
