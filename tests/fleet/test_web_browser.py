"""The web page in a real browser: Debian's Chromium driven by Selenium.

Each page's screenshot is saved under test-artifacts/fleet/ (gitignored) for a person to
look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleet.store.models import Command
from tests.fleet.web_support import (
    ADMIN,
    ADMIN_PASSWORD,
    WebServer,
    add_alert,
    add_board,
    add_receipt,
    web_server,
)

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "fleet"
pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (./scripts/test installs them)",
    ),
]
if CHROMIUM.exists() and CHROMEDRIVER.exists():
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

HOSTILE_NAME = '<img src=x onerror="document.title=1">Chợ'


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with web_server(tmp_path_factory.mktemp("browser") / "fleet.db") as server:
        add_board(server.store, "hk-001")
        add_board(
            server.store,
            "hk-002",
            state="offline",
            mqtt={"outbox": 250},
            assignment={"name": HOSTILE_NAME},
        )
        add_alert(server.store, "bao-so-3", "Bão số 3")
        add_receipt(server.store, "bao-so-3", "hk-001", 420)
        yield server


@pytest.fixture(scope="module")
def browser(web: WebServer) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        # Log in through the form, as a person would; every test reuses the session.
        driver.get(web.url + "/")
        wait(driver).until(lambda d: "/login" in d.current_url)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "login.png"))
        driver.find_element(By.ID, "name").send_keys(ADMIN)
        driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
        driver.find_element(By.ID, "login").click()
        wait(driver).until(lambda d: d.current_url == web.url + "/")
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, seconds: float = 30) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def text_of(driver: WebDriver, css: str) -> str:
    """The first match's text; "" when none, or when the page re-rendered it meanwhile
    (live updates replace elements: callers wait for the text they expect)."""
    try:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def live(driver: WebDriver) -> None:
    """Waits until the page's event stream is open (so a change now is heard)."""
    wait(driver).until(
        lambda d: "on" in (d.find_element(By.ID, "live").get_attribute("class") or "")
    )


def snapshot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")


def test_the_grid_shows_the_boards_in_vietnamese_by_default(
    web: WebServer, browser: WebDriver
) -> None:
    browser.get(web.url + "/")
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".board-card")) == 2)
    ids = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".board-id")]
    assert ids == ["hk-001", "hk-002"]
    assert browser.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "vi"
    assert text_of(browser, "nav a") == "Bảng"
    assert "Ngoại tuyến" in text_of(browser, '[data-board-id="hk-002"]')
    assert text_of(browser, '[data-board-id="hk-002"] .problem.outbox_backlog').startswith(
        "Hàng đợi"
    )
    # Board-provided text is text: the name shows literally and no element was made of it.
    assert text_of(browser, '[data-board-id="hk-002"] .name') == HOSTILE_NAME
    assert not browser.find_elements(By.CSS_SELECTOR, ".name img")
    thumbs = browser.find_elements(By.CSS_SELECTOR, "img.thumb")
    assert len(thumbs) == 2
    wait(browser).until(
        lambda d: all(d.execute_script("return arguments[0].naturalWidth", t) == 1 for t in thumbs)
    )
    snapshot(browser, "grid")


def test_the_language_switch_is_remembered(web: WebServer, browser: WebDriver) -> None:
    browser.get(web.url + "/")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".board-card"))
    browser.find_element(By.CSS_SELECTOR, '[data-lang="en"]').click()
    wait(browser).until(lambda d: text_of(d, "nav a") == "Boards")
    assert "Offline" in text_of(browser, '[data-board-id="hk-002"]')
    snapshot(browser, "grid-en")
    browser.refresh()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".board-card"))
    assert text_of(browser, "nav a") == "Boards"
    assert browser.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "en"
    browser.find_element(By.CSS_SELECTOR, '[data-lang="vi"]').click()
    wait(browser).until(lambda d: text_of(d, "nav a") == "Bảng")


def test_a_command_from_the_board_page_shows_its_result(web: WebServer, browser: WebDriver) -> None:
    browser.get(web.url + "/boards/hk-001")
    wait(browser).until(lambda d: text_of(d, "#board-id") == "hk-001")
    live(browser)
    wait(browser).until(lambda d: "playback.started" in text_of(d, "#events"))
    wait(browser).until(lambda d: text_of(d, "#history tbody tr") != "")
    browser.find_element(By.CSS_SELECTOR, 'button[data-command="ping"]').click()
    wait(browser).until(lambda d: "đang chờ" in text_of(d, "#commands"))
    (board_id, command_id, command, _args) = web.sender.sent[-1]
    assert (board_id, command) == ("hk-001", "ping")
    with web.store.session() as session:
        row = session.get(Command, command_id)
        assert row is not None
        row.result_at, row.ok = datetime.now(UTC), True
        row.result = {"type": "command_result", "id": command_id, "ok": True, "data": {}}
    web.changes.notify("command", command_id)
    wait(browser).until(lambda d: "thành công" in text_of(d, "#commands"))
    snapshot(browser, "board")


def test_the_alert_list(web: WebServer, browser: WebDriver) -> None:
    browser.get(web.url + "/alerts")
    wait(browser).until(lambda d: text_of(d, "#alerts .reach") != "")
    assert text_of(browser, "#alerts .alert-link") == "Bão số 3"
    snapshot(browser, "alerts")


def test_the_reach_page_updates_live_when_a_receipt_arrives(
    web: WebServer, browser: WebDriver
) -> None:
    browser.get(web.url + "/alerts/bao-so-3")
    wait(browser).until(lambda d: text_of(d, "#reach-count") == "1/2")
    assert text_of(browser, "#missing") == "hk-002"
    assert text_of(browser, "#max") == "420"
    live(browser)
    add_receipt(web.store, "bao-so-3", "hk-002", 1250)
    web.changes.notify("alert", "bao-so-3")
    wait(browser).until(lambda d: text_of(d, "#reach-count") == "2/2")
    assert text_of(browser, "#max") == "1250"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#per-board rect")) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "#histogram rect")
    snapshot(browser, "alert")


def test_no_request_left_the_origin(web: WebServer, browser: WebDriver) -> None:
    for path in ("/", "/boards/hk-001", "/alerts", "/alerts/bao-so-3"):
        browser.get(web.url + path)
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "main *"))
        urls = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert urls
        assert all(str(url).startswith(web.url) for url in urls), urls


def test_artifacts_are_kept_out_of_git() -> None:
    ignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text()
    assert "/test-artifacts/" in ignore.splitlines()
