"""`signage-agent studio` as a content manager starts it (a real subprocess: the URL it
prints, Ctrl-C to stop), its option checks, and publishing through a real Mosquitto."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.studio.publishing import Publisher
from agent.trust.jws import looks_like_jws, parse_jws
from agent.trust.signing_cli import generate_keys
from tests.studio.conftest import StudioClient, start_studio
from tests.support import REPO, Broker, Observer, wait_until

ITEM = {"id": "hop-to-dan-pho", "layout": "led_text", "fields": {"text": "Họp tổ dân phố 19h"}}
CONTENT_TOPIC = "signage/v1/content/district/ba-dinh"


class StudioProcess:
    """`python -m agent.cli studio …` with its printed URL."""

    def __init__(self, *options: str | Path) -> None:
        # No SDL driver chosen: previews draw into memory and never open a display.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "studio", *map(str, options)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def url(self, timeout: float = 60) -> str:
        line = self.lines.get(timeout=timeout)
        assert line.startswith("studio: http://127.0.0.1:"), line
        return line.removeprefix("studio: ").strip()

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C, as in the terminal: the exit status and what went to stderr."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(20)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.reader.join(10)  # the pipe's end reached: the reader is done with it
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def processes() -> Iterator[list[StudioProcess]]:
    started: list[StudioProcess] = []
    yield started
    for process in started:
        process.kill()


def run_studio(*options: str) -> subprocess.CompletedProcess[str]:
    """A studio that is expected to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "studio", *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def playlist(client: StudioClient) -> dict[str, Any]:
    document: dict[str, Any] = client.post("/api/playlist", {"version": 1, "items": [ITEM]}).json()
    assert document["problems"] == []
    found: dict[str, Any] = document["playlist"]
    return found


def test_the_command_serves_the_page_and_stops_on_ctrl_c(
    tmp_path: Path, processes: list[StudioProcess]
) -> None:
    studio = StudioProcess("--listen", "127.0.0.1:0", "--save-dir", tmp_path)
    processes.append(studio)
    client = StudioClient(studio.url())
    assert client.get("/").status == 200
    assert client.get("/api/publish").json()["enabled"] is False
    preview = client.post(
        "/api/preview",
        {"layout": "led_text", "fields": ITEM["fields"], "size": "128x32", "led": True},
    )
    assert preview.status == 200
    assert preview.content_type == "image/png"
    saved = client.post("/api/save", {"filename": "hop.json", "playlist": playlist(client)})
    assert Path(saved.json()["saved"]) == tmp_path / "hop.json"
    code, errors = studio.interrupt()
    assert code == 0
    assert "Traceback" not in errors


def test_the_board_s_command_line_does_not_load_the_studio() -> None:
    code = (
        "import sys, agent.cli; agent.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('agent.studio')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_open_opens_the_printed_address_in_the_browser(
    tmp_path: Path, processes: list[StudioProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    # $BROWSER is the browser Python's webbrowser module runs (%s: the address).
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"import sys, pathlib; pathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {browser} %s")
    studio = StudioProcess("--listen", "127.0.0.1:0", "--open")
    processes.append(studio)
    url = studio.url()
    wait_until(lambda: opened.exists() and opened.read_text() == url, 30, "the browser opened")


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--listen", "8765"], "--listen '8765' is not HOST:PORT"),
        (["--listen", "localhost:http"], "is not HOST:PORT"),
        (["--listen", "127.0.0.1:70000"], "is not HOST:PORT"),
        (["--listen", "::1:8765"], "is not HOST:PORT"),
        (["--broker", "nowhere"], "--broker 'nowhere' is not HOST:PORT"),
        (["--key", "city.key"], "give --broker HOST:PORT too"),
        (["--broker", "127.0.0.1:1883", "--kid", "city"], "give --key FILE.key too"),
        (["--broker", "127.0.0.1:1883", "--key", "missing.key"], "--key:"),
        (["--layouts-dir", "/nonexistent/layouts"], "not a folder"),
    ],
)
def test_bad_options_exit_2(options: list[str], said: str) -> None:
    done = run_studio(*options)
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_said_and_exits_69() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_studio("--listen", f"127.0.0.1:{port}")
    assert done.returncode == 69
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in done.stderr
    assert "Traceback" not in done.stderr


# --- publishing ------------------------------------------------------------------------------


def retained_on(port: int, topic: str) -> bytes:
    """What a newcomer to the broker gets on `topic`: the retained message."""
    observer = Observer(port, [topic]).connect()
    try:
        message = observer.wait_for(lambda m: m.topic == topic, timeout=10)
        assert message.retain
        return message.payload
    finally:
        observer.close()


def test_published_from_the_command_arrives_retained_and_signed(
    tmp_path: Path, broker: Broker, processes: list[StudioProcess]
) -> None:
    assert generate_keys("content-2026", tmp_path, io.StringIO(), io.StringIO()) == 0
    key = tmp_path / "content-2026.key"
    studio = StudioProcess(
        "--listen",
        "127.0.0.1:0",
        "--broker",
        f"127.0.0.1:{broker.port}",
        "--key",
        key,
        "--kid",
        "content-2026",
    )
    processes.append(studio)
    client = StudioClient(studio.url())
    info = client.get("/api/publish").json()
    assert info["enabled"] is True
    assert "district/" in info["targets_hint"]
    answer = client.post("/api/publish", {"playlist": playlist(client), "to": "district/ba-dinh"})
    assert answer.status == 200, answer.body
    said = answer.json()["said"]
    assert f"to {CONTENT_TOPIC}: retained" in said
    assert "signed by content-2026" in said
    payload = retained_on(broker.port, CONTENT_TOPIC)
    assert looks_like_jws(payload)
    signed = parse_jws(payload, max_bytes=1 << 20)
    assert signed.kid == "content-2026"
    assert b"H\xe1\xbb\x8dp t\xe1\xbb\x95 d\xc3\xa2n ph\xe1\xbb\x91" in signed.payload


def test_a_wrong_kid_is_refused_at_start(tmp_path: Path) -> None:
    assert generate_keys("content-2026", tmp_path, io.StringIO(), io.StringIO()) == 0
    done = run_studio(
        "--broker",
        "127.0.0.1:1883",
        "--key",
        str(tmp_path / "content-2026.key"),
        "--kid",
        "other",
    )
    assert done.returncode == 2
    assert "signs as 'content-2026'" in done.stderr


@pytest.fixture
def publishing(tmp_path: Path, broker: Broker) -> Iterator[tuple[StudioClient, Broker]]:
    publisher = Publisher(f"127.0.0.1:{broker.port}")
    server, thread = start_studio(tmp_path, publisher=publisher)
    try:
        yield StudioClient(server.url), broker
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_publishing_again_bumps_the_version(publishing: tuple[StudioClient, Broker]) -> None:
    client, broker = publishing
    document = playlist(client)
    for _ in range(2):
        answer = client.post("/api/publish", {"playlist": document, "to": "district/ba-dinh"})
        assert answer.status == 200, answer.body
    assert "version 2 (held on" in answer.json()["said"]
    assert json.loads(retained_on(broker.port, CONTENT_TOPIC))["version"] == 2


@pytest.mark.parametrize(
    ("to", "said"),
    [
        ("moon", "'moon' is not one of"),
        ("district/Ba Đình", "'Ba Đình' is not a district"),
        ("--help", "'--help' is not one of"),
    ],
)
def test_a_bad_target_is_a_problem(
    publishing: tuple[StudioClient, Broker], to: str, said: str
) -> None:
    client, _broker = publishing
    answer = client.post("/api/publish", {"playlist": playlist(client), "to": to})
    assert answer.status == 400
    assert any(said in p["message_en"] for p in answer.problems), answer.problems


def test_a_bad_playlist_is_not_published(publishing: tuple[StudioClient, Broker]) -> None:
    client, _broker = publishing
    document = playlist(client)
    document["items"][0]["fields"] = {}
    answer = client.post("/api/publish", {"playlist": document, "to": "city"})
    assert answer.status == 400
    assert [p["field"] for p in answer.problems] == ["text"]


def test_the_broker_gone_is_502(publishing: tuple[StudioClient, Broker]) -> None:
    client, broker = publishing
    broker.kill()
    answer = client.post("/api/publish", {"playlist": playlist(client), "to": "city"})
    assert answer.status == 502
    assert answer.problems[0]["message_en"]


def test_publish_is_off_without_a_broker(tmp_path: Path) -> None:
    server, thread = start_studio(tmp_path)
    try:
        client = StudioClient(server.url)
        assert client.get("/api/publish").json()["enabled"] is False
        answer = client.post("/api/publish", {"playlist": {}, "to": "city"})
        assert answer.status == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
