"""Real parts for the studio's browser test: `signage-agent studio` as a subprocess, and
Debian's Chromium driven by Selenium (headless), with the small waits the tests share."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support import REPO, free_port

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
HAVE_CHROMIUM = CHROMIUM.exists() and CHROMEDRIVER.exists()
NO_CHROMIUM = "needs Debian's chromium and chromium-driver (./scripts/test installs them)"
ARTIFACTS = REPO / "test-artifacts" / "studio"
START_S = 60  # a cold start imports pygame and loads the layouts and fonts


@dataclass
class Studio:
    url: str
    save_dir: Path
    python: list[str]  # the python it runs on, with its options: for `validate` too


def studio_python() -> tuple[str, list[str]]:
    """The python to run the studio with and its options. SIGNAGE_STUDIO_PYTHON names a
    venv's python where the built wheel is installed: then -P keeps the repository (the
    cwd) off sys.path, so the installed distribution is what runs, not these sources."""
    chosen = os.environ.get("SIGNAGE_STUDIO_PYTHON")
    return (chosen, ["-P"]) if chosen else (sys.executable, [])


@contextmanager
def studio_server(
    save_dir: Path, layouts_dir: Path | None = None, *options: str
) -> Iterator[Studio]:
    """`python -m agent.cli studio` on a free loopback port, until its printed URL; on
    exit Ctrl-C (SIGINT), which must stop it cleanly (exit 0)."""
    python, python_options = studio_python()
    port = free_port()
    command = [python, *python_options, "-m", "agent.cli", "studio", *options]
    command += ["--listen", f"127.0.0.1:{port}", "--save-dir", str(save_dir)]
    if layouts_dir is not None:
        command += ["--layouts-dir", str(layouts_dir)]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    lines: queue.Queue[str | None] = queue.Queue()
    said: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            said.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        url = _printed_url(lines, said)
        yield Studio(url=url, save_dir=save_dir, python=[python, *python_options])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
            raise AssertionError("studio did not stop on Ctrl-C:\n" + "".join(said)) from None
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0, f"studio exited {code} on Ctrl-C:\n" + "".join(said)


def _printed_url(lines: queue.Queue[str | None], said: list[str]) -> str:
    while True:
        try:
            line = lines.get(timeout=START_S)
        except queue.Empty:
            silent = f"studio printed no URL in {START_S} s:\n"
            raise AssertionError(silent + "".join(said)) from None
        if line is None:
            raise AssertionError("studio exited before serving:\n" + "".join(said))
        if line.startswith("studio: http://"):
            return line.removeprefix("studio: ").strip().rstrip("/")


def leave(driver: WebDriver, studio: Studio) -> None:
    """The page closed, and the renders it had asked for over, before the studio is
    stopped: a Ctrl-C while a preview is being drawn can abort the process (SIGABRT, the
    interpreter finalising while a handler thread is inside pygame), which the studio's
    own tests of Ctrl-C do not cover; reported to its owner. One more preview round trip
    passes the render lock after the page's last ones."""
    import json
    import urllib.request

    driver.get("about:blank")
    body = {"layout": "led_text", "fields": {"text": "."}, "size": "128x32", "led": False}
    request = urllib.request.Request(
        studio.url + "/api/preview",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


@contextmanager
def chromium(width: int = 1366, height: int = 768) -> Iterator[WebDriver]:
    """Headless Chromium at a laptop's width (the studio must read well at 1366×768)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def script_errors(driver: WebDriver) -> list[dict[str, Any]]:
    """What the page's scripts reported to the console as errors since the last call."""
    from selenium.webdriver import Chrome

    assert isinstance(driver, Chrome)
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [e for e in entries if e.get("source") == "javascript"]


def wait(driver: WebDriver, seconds: float = 60) -> WebDriverWait[WebDriver]:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def snapshot(driver: WebDriver, name: str) -> Path:
    """A screenshot kept under test-artifacts/studio/ (gitignored) for a person to see."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


# In the page: a preview's picture decoded again from its blob: URL, as pixels. Returns
# the image's size, how many distinct colours a sample of its pixels has, and whether a
# colour (r, g, b) occurs in it.
PIXELS_JS = """
const [css, want, done] = arguments;
const img = document.querySelector(css);
fetch(img.src).then((r) => r.blob()).then(createImageBitmap).then((bitmap) => {
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const data = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const colours = new Set();
  let found = false;
  const step = Math.max(1, Math.floor(data.length / 4 / 50000)) * 4;
  for (let i = 0; i < data.length; i += step) {
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    if (data[i] === want[0] && data[i + 1] === want[1] && data[i + 2] === want[2]) found = true;
  }
  done({width: bitmap.width, height: bitmap.height, colours: colours.size, found});
}).catch((error) => done({error: String(error)}));
"""

# In the page: a preview's current picture as a data: URI (to compare two stills).
CAPTURE_JS = """
const [css, done] = arguments;
fetch(document.querySelector(css).src).then((r) => r.blob()).then((blob) => {
  const reader = new FileReader();
  reader.onload = () => done(reader.result);
  reader.readAsDataURL(blob);
}).catch((error) => done("error: " + error));
"""

# In the page: how much the layout shifted by itself so far (the Layout Instability API's
# entries not caused by recent input: images loading, problems appearing, …).
LAYOUT_SHIFT_JS = """
const done = arguments[0];
new PerformanceObserver((list) => {
  done(list.getEntries().filter((e) => !e.hadRecentInput).reduce((sum, e) => sum + e.value, 0));
}).observe({type: "layout-shift", buffered: true});
setTimeout(() => done(0), 1000);  // no entry at all: no shift
"""
