"""The studio's server, started for real on a free loopback port, and a small client
that speaks to it as the page does (urllib, JSON bodies)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from agent.studio.api import Studio
from agent.studio.layouts import StudioLayouts
from agent.studio.publishing import Publisher
from agent.studio.server import StudioServer


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        assert self.content_type.startswith("application/json"), self.content_type
        return json.loads(self.body)

    @property
    def problems(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.json()["problems"]
        return found


class StudioClient:
    """Requests to a running studio; every answer is returned, 4xx and 5xx included."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        self.host, self.port = parts.hostname, parts.port

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """`target` is sent as written (no normalising of ../ or %2e)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            sent = {"Content-Type": "application/json"} if body is not None else {}
            sent.update(headers or {})
            connection.putrequest(
                method, target, skip_host="Host" in sent, skip_accept_encoding=True
            )
            if body is not None and "Content-Length" not in sent:
                sent["Content-Length"] = str(len(body))
            for name, value in sent.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read()
            return Answer(
                response.status,
                response.getheader("Content-Type", ""),
                data,
                {k.lower(): v for k, v in response.getheaders()},
            )
        finally:
            connection.close()

    def get(self, target: str) -> Answer:
        return self.request("GET", target)

    def post(self, target: str, document: object) -> Answer:
        return self.request("POST", target, json.dumps(document).encode("utf-8"))


@dataclass
class RunningStudio:
    server: StudioServer
    client: StudioClient
    save_dir: Path


def start_studio(
    save_dir: Path, layouts_dir: Path | None = None, publisher: Publisher | None = None
) -> tuple[StudioServer, threading.Thread]:
    shared = Studio(StudioLayouts(layouts_dir), save_dir, publisher)
    server = StudioServer(("127.0.0.1", 0), shared)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    """One studio for a module's tests (built-in layouts only), saving into a temp folder."""
    save_dir = tmp_path_factory.mktemp("saved")
    server, thread = start_studio(save_dir)
    try:
        yield RunningStudio(server, StudioClient(server.url), save_dir)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def client(studio: RunningStudio) -> StudioClient:
    return studio.client
