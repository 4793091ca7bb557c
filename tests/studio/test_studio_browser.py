"""The content studio in a real browser: `signage-agent studio` as a subprocess, Debian's
Chromium driven by Selenium, as a ward office's content manager would use it.

The page's screenshot is saved under test-artifacts/studio/ (gitignored).
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.studio.browser_support import (
    CAPTURE_JS,
    HAVE_CHROMIUM,
    LAYOUT_SHIFT_JS,
    NO_CHROMIUM,
    PIXELS_JS,
    Studio,
    chromium,
    leave,
    script_errors,
    snapshot,
    studio_server,
    wait,
)
from tests.support import REPO, Broker, Observer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM),
]
if HAVE_CHROMIUM:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import Select

TITLE = "Thông báo khẩn cấp"
PUBLISHED_TOPIC = "signage/v1/content/district/ba-dinh"
SIZES = {"1920x1080", "1080x1920", "1366x768", "128x32", "256x64"}
MAGENTA = (255, 0, 255)
# Letters only Vietnamese has among the page's two languages: a problem that carries one
# is the Vietnamese sentence, not the board's English one.
VIETNAMESE = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)


def png_chunks(header: bytes, compressed: bytes) -> bytes:
    """A real PNG from its header and pixels (by hand: the test needs no imaging library)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return png_chunks(header, zlib.compress(row * height))


# A layouts folder as a content manager's: a notice beside a QR code, and a file
# broken mid-edit (the studio leaves it out and says why).
QR_LAYOUT = """\
name: phuong_qr
purpose: A notice beside a QR code to read more; LCD and LED.
background: navy
zones:
  - {name: body, type: text, box: [0, 0, 64, 100], padding: 5, text: "{body}",
     size: [4, 18], takes_room_of: [code]}
  - {name: code, type: qr, box: [64, 0, 36, 100], padding: 5, data: "{link}", optional: true}
variants:
  - when: {panel: led}
    zones:
      body: {box: [0, 0, 100, 100], padding: 0, size: [50, 100], overflow: scroll, speed: 32}
      code: {hidden: true}
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    layouts = tmp_path_factory.mktemp("layouts")
    (layouts / "phuong_qr.yaml").write_text(QR_LAYOUT, encoding="utf-8")
    (layouts / "hong.yaml").write_text("name: hong\nzones: [\n", encoding="utf-8")
    with studio_server(tmp_path_factory.mktemp("saved"), layouts) as server:
        yield server


@pytest.fixture(scope="module")
def chromium_driver(studio: Studio) -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver
        leave(driver, studio)


@pytest.fixture
def browser(chromium_driver: WebDriver, studio: Studio) -> WebDriver:
    """The page loaded afresh (each test starts from an empty form), in Vietnamese."""
    chromium_driver.get(studio.url + "/")
    wait(chromium_driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#layout-select option"))
    if chromium_driver.find_element(By.TAG_NAME, "html").get_attribute("lang") != "vi":
        chromium_driver.find_element(By.ID, "lang-vi").click()
    return chromium_driver


def text(driver: WebDriver, css: str) -> str:
    try:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""
    except StaleElementReferenceException:  # the page re-made it meanwhile: ask again
        return ""


def problems_shown(driver: WebDriver) -> list[str]:
    found = driver.find_elements(By.CSS_SELECTOR, '#fields [id^="problem-"]')
    return [p.text for p in found if p.text]


def has_class(driver: WebDriver, css: str, name: str) -> bool:
    classes = driver.find_element(By.CSS_SELECTOR, css).get_attribute("class") or ""
    return name in classes.split()


def type_into(driver: WebDriver, element_id: str, value: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def set_value(driver: WebDriver, element_id: str, value: str) -> None:
    """A native picker's value (datetime-local: typing into it depends on the locale)."""
    driver.execute_script(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('input', {bubbles: true}));",
        element_id,
        value,
    )


def previews_ready(driver: WebDriver) -> bool:
    figures = driver.find_elements(By.CSS_SELECTOR, "#previews figure.preview")
    return bool(figures) and all("ready" in (f.get_attribute("class") or "") for f in figures)


def pixels(driver: WebDriver, size: str) -> dict[str, Any]:
    css = f'#previews figure[data-size="{size}"] img'
    result: dict[str, Any] = driver.execute_async_script(PIXELS_JS, css, list(MAGENTA))
    assert "error" not in result, result
    return result


def choose(driver: WebDriver, layout: str) -> None:
    Select(driver.find_element(By.ID, "layout-select")).select_by_value(layout)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#slot-area .field"))


def test_the_layouts_are_listed_in_vietnamese(browser: WebDriver) -> None:
    names = [
        o.get_attribute("value")
        for o in browser.find_elements(By.CSS_SELECTOR, "#layout-select option")
    ]
    assert {"headline", "fullscreen_text", "image_caption", "led_text", "phuong_qr"} <= set(names)
    assert not {"alert_full", "alert_banner", "idle"} & set(names)  # reserved: not content
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
    assert text(browser, "#layout-purpose") != ""
    assert text(browser, "#item-add") == "Thêm vào danh sách phát"
    # A fresh form is not wrong yet: no problem shows until the item is added.
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#previews figure.failed"))
    assert problems_shown(browser) == []
    browser.find_element(By.ID, "item-add").click()
    wait(browser).until(lambda d: text(d, "#item-add-result").startswith("Chưa thêm"))
    assert problems_shown(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "#playlist-items li")
    # The broken layout file is named, and why it was left out.
    assert "hong.yaml" in text(browser, "#layout-problems")
    # Publishing needs a broker, which this studio was not given.
    assert not browser.find_element(By.ID, "publish").is_displayed()


def test_a_notice_with_a_picture_is_drawn_at_every_size(browser: WebDriver, tmp_path: Path) -> None:
    choose(browser, "headline")
    type_into(browser, "slot-title", TITLE)
    type_into(browser, "slot-body", "Mất điện khu vực phường Hàng Bạc từ 8 giờ đến 11 giờ.")
    picture = tmp_path / "anh.png"
    picture.write_bytes(png(64, 48, MAGENTA))
    browser.find_element(By.ID, "file-image").send_keys(str(picture))
    wait(browser).until(
        lambda d: (d.find_element(By.ID, "slot-image").get_attribute("value") or "").startswith(
            "data:image/png;base64,"
        )
    )
    assert browser.find_element(By.CSS_SELECTOR, "#drop-image img.thumb").is_displayed()
    assert browser.find_element(By.ID, "item-id").get_attribute("value") == "thong-bao-khan-cap"
    wait(browser).until(previews_ready)
    figures = browser.find_elements(By.CSS_SELECTOR, "#previews figure.preview")
    assert {f.get_attribute("data-size") for f in figures} == SIZES
    for figure in figures:
        size = figure.get_attribute("data-size") or ""
        width, height = (int(n) for n in size.split("x"))
        img = figure.find_element(By.TAG_NAME, "img")
        assert (img.get_attribute("src") or "").startswith("blob:")
        natural = browser.execute_script(
            "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img
        )
        if figure.get_attribute("data-led") == "true":
            pitch = natural[0] // width
            assert pitch >= 1, (size, natural)
            assert natural == [width * pitch, height * pitch], (size, natural)
        else:
            assert figure.get_attribute("data-led") == "false"
            assert natural == [width, height], size
    # The board's renderer drew the text and the dropped picture, not a blank frame.
    full = pixels(browser, "1920x1080")
    assert full["colours"] > 20, full
    assert full["found"], full  # the picture's own colour
    led = pixels(browser, "128x32")
    assert led["colours"] > 2, led
    snapshot(browser, "studio")
    # Nothing moved by itself while the previews loaded (a person reading is not jolted).
    shift = browser.execute_async_script(LAYOUT_SHIFT_JS)
    assert shift < 0.01, shift
    # The picture can be taken out again.
    browser.find_element(By.CSS_SELECTOR, "#drop-image button.remove").click()
    assert browser.find_element(By.ID, "slot-image").get_attribute("value") == ""
    assert not browser.find_element(By.CSS_SELECTOR, "#drop-image img.thumb").is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, "#drop-image button.remove").is_displayed()
    wait(browser).until(previews_ready)
    assert not pixels(browser, "1920x1080")["found"]


def blocks_png(width: int, height: int, block: int = 8) -> bytes:
    """A photo-like PNG: blocks of random colours (little for zlib to squeeze)."""
    rows = []
    for _ in range(height // block):
        row = b"".join(os.urandom(3) * block for _ in range(width // block))
        rows.append((b"\x00" + row) * block)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return png_chunks(header, zlib.compress(b"".join(rows), 1))


def test_a_phone_size_picture_is_scaled_to_the_board_s_limits(
    browser: WebDriver, tmp_path: Path
) -> None:
    choose(browser, "image_caption")
    picture = tmp_path / "dien-thoai.png"
    picture.write_bytes(blocks_png(3200, 2400))
    assert picture.stat().st_size > 512 * 1024
    browser.find_element(By.ID, "file-image").send_keys(str(picture))
    wait(browser).until(
        lambda d: (d.find_element(By.ID, "slot-image").get_attribute("value") or "").startswith(
            "data:image/"
        )
    )
    uri = browser.find_element(By.ID, "slot-image").get_attribute("value") or ""
    data = base64.b64decode(uri.partition(",")[2])
    assert len(data) <= 512 * 1024  # agent/content.py MAX_IMAGE_BYTES
    side = browser.execute_script(
        "const i = document.querySelector('#drop-image img.thumb');"
        "return Math.max(i.naturalWidth, i.naturalHeight)"
    )
    assert 0 < side <= 1920
    wait(browser).until(previews_ready)  # the board takes it: every size drew it
    assert problems_shown(browser) == []


def test_a_layout_file_with_a_qr_code(browser: WebDriver) -> None:
    choose(browser, "phuong_qr")
    assert "(tệp)" in text(browser, "#layout-select option[value=phuong_qr]")
    link = browser.find_element(By.ID, "slot-link")
    assert link.get_attribute("type") == "url"
    assert "https://" in text(browser, "#hint-link")
    type_into(browser, "slot-body", "Lịch tiêm chủng sởi cho trẻ từ 9 tháng tuổi.")
    type_into(browser, "slot-link", "https://phuong.example.vn/tiem-chung")
    wait(browser).until(previews_ready)
    assert pixels(browser, "1920x1080")["colours"] > 2


def test_a_problem_shows_in_vietnamese_beside_its_field_until_fixed(browser: WebDriver) -> None:
    choose(browser, "headline")
    type_into(browser, "slot-title", TITLE)
    type_into(browser, "slot-body", "Nội dung")
    set_value(browser, "item-valid-from", "2026-12-10T08:00")
    set_value(browser, "item-valid-until", "2026-12-09T08:00")
    wait(browser).until(lambda d: text(d, "#problem-valid_until") != "")
    assert VIETNAMESE.search(text(browser, "#problem-valid_until")), text(
        browser, "#problem-valid_until"
    )
    assert browser.find_element(By.ID, "item-valid-until").get_attribute("aria-invalid") == "true"
    assert text(browser, "#problem-title") == ""
    set_value(browser, "item-valid-until", "2026-12-11T08:00")
    wait(browser).until(lambda d: text(d, "#problem-valid_until") == "")
    # An empty required slot: named beside it, and gone once it is filled again.
    browser.find_element(By.ID, "slot-body").clear()
    browser.find_element(By.ID, "slot-body").send_keys(" ")
    wait(browser).until(lambda d: VIETNAMESE.search(text(d, "#problem-body")))
    snapshot(browser, "studio-problem")
    type_into(browser, "slot-body", "Nội dung")
    wait(browser).until(lambda d: text(d, "#problem-body") == "")


def test_the_english_switch_changes_the_words(browser: WebDriver) -> None:
    browser.find_element(By.ID, "lang-en").click()
    wait(browser).until(lambda d: text(d, "#item-add") == "Add to the playlist")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert text(browser, "label[for=item-duration]") == "Duration (seconds)"
    snapshot(browser, "studio-en")
    browser.find_element(By.ID, "lang-vi").click()
    wait(browser).until(lambda d: text(d, "#item-add") == "Thêm vào danh sách phát")


def test_the_saved_playlist_passes_validate(
    browser: WebDriver, studio: Studio, tmp_path: Path
) -> None:
    choose(browser, "headline")
    type_into(browser, "slot-title", TITLE)
    type_into(browser, "slot-body", "Mất điện khu vực phường Hàng Bạc.")
    # Valid for three weeks, Mondays and Fridays 07:00-17:30, in the board's time.
    set_value(browser, "item-valid-from", "2026-12-10T08:00")
    set_value(browser, "item-valid-until", "2026-12-31T17:00")
    for day in ("mon", "fri"):
        browser.find_element(By.CSS_SELECTOR, f"#item-schedule-days .day-{day}").click()
    set_value(browser, "item-schedule-from", "07:00")
    set_value(browser, "item-schedule-to", "17:30")
    wait(browser).until(lambda d: text(d, "#problem-general") == "" and previews_ready(d))
    browser.find_element(By.ID, "item-add").click()
    wait(browser).until(
        lambda d: d.find_elements(
            By.CSS_SELECTOR, '#playlist-items li[data-item-id="thong-bao-khan-cap"]'
        )
    )
    # A second item, then removed again: the list shows what will be saved.
    type_into(browser, "slot-title", "Lịch tiêm chủng")
    wait(browser).until(
        lambda d: d.find_element(By.ID, "item-id").get_attribute("value") == "lich-tiem-chung"
    )
    browser.find_element(By.ID, "item-add").click()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#playlist-items li")) == 2)
    browser.find_element(By.CSS_SELECTOR, '[data-item-id="lich-tiem-chung"] button.remove').click()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#playlist-items li")) == 1)
    # An added item comes back into the form to be changed.
    browser.find_element(By.CSS_SELECTOR, '[data-item-id="thong-bao-khan-cap"] button.edit').click()
    wait(browser).until(
        lambda d: d.find_element(By.ID, "slot-title").get_attribute("value") == TITLE
    )
    assert browser.find_element(By.ID, "item-id").get_attribute("value") == "thong-bao-khan-cap"
    # A file name with a folder in it is refused, in Vietnamese; nothing is written.
    type_into(browser, "save-name", "../thong-bao.json")
    browser.find_element(By.ID, "save").click()
    wait(browser).until(lambda d: has_class(d, "#save-result", "error"))
    assert VIETNAMESE.search(text(browser, "#save-result")), text(browser, "#save-result")
    assert not (studio.save_dir.parent / "thong-bao.json").exists()
    type_into(browser, "save-name", "thong-bao")  # ".json" is added when left off
    browser.find_element(By.ID, "save").click()
    wait(browser).until(lambda d: has_class(d, "#save-result", "ok"))
    saved = studio.save_dir / "thong-bao.json"
    assert str(saved.resolve()) in text(browser, "#save-result")
    playlist = json.loads(saved.read_text(encoding="utf-8"))
    (item,) = playlist["items"]
    assert item["fields"]["title"] == TITLE
    board_time = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh
    assert datetime.fromisoformat(item["valid_from"]) == datetime(
        2026, 12, 10, 8, tzinfo=board_time
    )
    assert datetime.fromisoformat(item["valid_until"]) == datetime(
        2026, 12, 31, 17, tzinfo=board_time
    )
    assert datetime.fromisoformat(item["valid_from"]).utcoffset() == timedelta(hours=7)
    assert item["schedule"] == [{"days": ["mon", "fri"], "from": "07:00", "to": "17:30"}]
    # The download link offers the very same playlist.
    offered = browser.execute_async_script(
        "fetch(document.getElementById('download').href).then(r => r.text()).then(arguments[0])"
    )
    assert json.loads(offered) == playlist
    assert browser.find_element(By.ID, "download").get_attribute("download") == "thong-bao.json"
    checked = subprocess.run(
        [*studio.python, "-m", "agent.cli", "validate", str(saved)],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_scrolling_led_text_moves(browser: WebDriver) -> None:
    choose(browser, "led_text")
    type_into(browser, "slot-text", TITLE + ": mất điện toàn phường từ 8 giờ đến 11 giờ sáng.")
    assert browser.find_element(By.ID, "animate").is_selected()
    css = '#previews figure[data-size="128x32"]'
    wait(browser).until(lambda d: has_class(d, css, "ready"))
    first = browser.execute_async_script(CAPTURE_JS, css + " img")
    assert str(first).startswith("data:image/png"), first
    # A later still of the same text differs: the text ran sideways meanwhile.
    wait(browser, 30).until(
        lambda d: (
            str(d.execute_async_script(CAPTURE_JS, css + " img")).startswith("data:image/png")
            and d.execute_async_script(CAPTURE_JS, css + " img") != first
        )
    )
    snapshot(browser, "studio-led")


def test_publishing_from_the_page_reaches_the_broker(
    chromium_driver: WebDriver, broker: Broker, tmp_path: Path
) -> None:
    with studio_server(tmp_path, None, "--broker", f"127.0.0.1:{broker.port}") as studio:
        browser = chromium_driver
        browser.get(studio.url + "/")
        wait(browser).until(lambda d: d.find_element(By.ID, "publish").is_displayed())
        assert "district/" in text(browser, "#hint-publish")
        choose(browser, "fullscreen_text")
        type_into(browser, "slot-text", TITLE)
        browser.find_element(By.ID, "item-add").click()
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#playlist-items li"))
        type_into(browser, "publish-to", "district/ba-dinh")
        observer = Observer(broker.port, [PUBLISHED_TOPIC]).connect()
        try:
            browser.find_element(By.ID, "publish").click()
            wait(browser).until(lambda d: has_class(d, "#publish-result", "ok"))
            assert PUBLISHED_TOPIC in text(browser, "#publish-result")
            message = observer.wait_for(lambda m: m.topic == PUBLISHED_TOPIC, timeout=30)
        finally:
            observer.close()
        (item,) = json.loads(message.payload)["items"]
        assert item["fields"] == {"text": TITLE}
        assert item["id"] == "thong-bao-khan-cap"  # from the notice: the title was left empty
        snapshot(browser, "studio-published")
        leave(browser, studio)


def test_no_request_left_the_origin(
    browser: WebDriver, chromium_driver: WebDriver, studio: Studio
) -> None:
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert urls
    assert all(str(u).startswith((studio.url, "blob:", "data:")) for u in urls), urls
    # And the page's script raised nothing in any test so far (answers of 400 to a
    # preview of a form with a problem are the network's entries, not the script's).
    errors = script_errors(chromium_driver)
    assert not errors, errors
