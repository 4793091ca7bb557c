"""Does headless Chromium really keep animating? Asked over the DevTools protocol.

`--screenshot` is no proof: it renders on virtual time and catches the first frame.
So a separate Chromium (not one being measured: the DevTools port costs it a little)
shows the page with `--remote-debugging-port`, and two screenshots 0.5 s apart are
compared; the frame rate of `requestAnimationFrame` over one second says how often it
draws. Needs `websocket-client` (in the dev venv); without it the check is skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.support import free_port

Launcher = Callable[..., AbstractContextManager[tuple[psutil.Process, str]]]
FRAME_RATE = """new Promise(done => { let n = 0; const t0 = performance.now();
  function f(t) { n++; if (t - t0 < 1000) requestAnimationFrame(f); else done(n); }
  requestAnimationFrame(f); })"""

VIEWPORT = "[innerWidth, innerHeight]"


@dataclass(frozen=True)
class Seen:
    moved: bool  # two screenshots 0.5 s apart differ
    viewport: tuple[int, int]  # what the page is given: must be the board's size
    frame_rate: float  # requestAnimationFrame callbacks in one second


def _page_socket(port: int, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                targets = json.load(r)
            for target in targets:
                if target.get("type") == "page" and target.get("url", "").startswith("file:"):
                    return str(target["webSocketDebuggerUrl"])
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("chromium's DevTools port did not list the page")
        time.sleep(0.2)


class _Session:
    def __init__(self, url: str) -> None:
        import websocket  # websocket-client

        # No Origin header: Chromium refuses unknown origins on its DevTools socket.
        self.socket = websocket.create_connection(url, timeout=20, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply["result"])

    def value(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        return result["result"]["value"]

    def screenshot(self) -> str:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        return hashlib.sha256(base64.b64decode(data)).hexdigest()

    def close(self) -> None:
        self.socket.close()


def animates(
    binary: str, flags: tuple[str, ...], page: Path, size: tuple[int, int], launch: Launcher
) -> Seen | None:
    """What the page does in Chromium; None when it cannot be checked."""
    try:
        import websocket  # noqa: F401
    except ImportError:
        return None
    port = free_port()
    with launch(binary, page, size, (f"--remote-debugging-port={port}",)):
        session = _Session(_page_socket(port))
        try:
            time.sleep(3)  # fonts in, the strip set running
            first = session.screenshot()
            time.sleep(0.5)
            second = session.screenshot()
            width, height = session.value(VIEWPORT)
            rate = float(session.value(FRAME_RATE))
        finally:
            session.close()
    return Seen(first != second, (int(width), int(height)), rate)
