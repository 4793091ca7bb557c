"""The three screens of bench/peer.py: the agent's playlist item and the web page a
browser-based player would show for it — the same texts, fonts (the agent's bundled
Noto Sans and Unifont-VN, by @font-face from file:// URLs), colours, proportions and
ticker speed.

The pages are what a careful web developer would write for a signage player: the
ticker is a CSS animation of `transform` on a layer of its own (`will-change`), which
Chromium runs on its compositor without JavaScript or relayout per frame — its cheapest
way to move text. The only script measures the text once, after the fonts loaded, to
set the scrolling distance (the agent's strip: text, a gap of 30 % of the width,
repeated), and moves the clock on at each minute, as the agent's clock zone does.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from display_layouts import samples, theme

FONTS = Path(__file__).resolve().parents[1] / "display_layouts" / "fonts"
# Speeds and gaps as the built-in layouts set them (headline.yaml's ticker zone, the
# LED variant of led_text.yaml, display_layouts/zones/ticker.py and text.py).
TICKER_SPEED = 120  # px/s
LED_SPEED = 32  # px/s
TICKER_TEXT = "Cảnh báo ngập lụt • Mất điện khu phố 3 • Nước sinh hoạt"


@dataclass(frozen=True)
class Screen:
    name: str  # static, ticker, led
    size: tuple[int, int]
    item: dict[str, Any]  # the agent's playlist item
    page: str  # the equivalent HTML


def _rgb(color: theme.Color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


REGULAR, BOLD, PIXEL = (
    (FONTS / name).as_uri()
    for name in ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "Unifont-VN.otf")
)
HEAD = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><style>
@font-face{{font-family:NotoSans;font-weight:400;src:url("{REGULAR}")}}
@font-face{{font-family:NotoSans;font-weight:700;src:url("{BOLD}")}}
@font-face{{font-family:Unifont;src:url("{PIXEL}")}}
html,body{{margin:0;padding:0;overflow:hidden;background:{_rgb(theme.BACKGROUND)};
  color:{_rgb(theme.TEXT)};font-family:NotoSans}}
.box{{position:absolute;box-sizing:border-box;overflow:hidden}}
.run{{position:absolute;top:0;white-space:nowrap;will-change:transform}}
.run span{{display:inline-block}}
"""

# Sets the strip running once the fonts are in: `period` is the text's width plus the
# gap, the keyframes move the strip by one period, and enough copies fill the band.
RUN_SCRIPT = """<script>
function run(id, gap, speed) {
  const strip = document.getElementById(id);
  const first = strip.firstElementChild;
  const period = first.getBoundingClientRect().width + gap;
  const copies = Math.ceil((strip.parentElement.clientWidth + period) / period) + 1;
  first.style.marginRight = gap + "px";
  for (let n = 1; n < copies; n++) strip.appendChild(first.cloneNode(true));
  const sheet = document.styleSheets[0];
  sheet.insertRule(`@keyframes ${id}{from{transform:translateX(0)}` +
                   `to{transform:translateX(${-period}px)}}`, sheet.cssRules.length);
  strip.style.animation = `${id} ${period / speed}s linear infinite`;
}
</script>"""

CLOCK_SCRIPT = """<script>
function tick() {
  const now = new Date();
  document.getElementById("clock").textContent =
    String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
  setTimeout(tick, 60000 - (now.getSeconds() * 1000 + now.getMilliseconds()) + 5);
}
tick();
</script>"""


def _page(style: str, body: str, script: str) -> str:
    return f"{HEAD}{style}</style></head><body>{body}{script}</body></html>"


def static(size: tuple[int, int]) -> Screen:
    """fullscreen_text: an amber title band and the notice, white on navy."""
    width, height = size
    u = min(width, height) / 100  # the layouts' padding is in % of the short side
    band = 0.17 * height
    fields = samples.text_notice("fullscreen_text")
    style = f"""
body{{width:{width}px;height:{height}px}}
#band{{left:0;top:0;width:{width}px;height:{band:.0f}px;background:{_rgb(theme.ACCENT)};
  color:{_rgb(theme.ON_ACCENT)};font-weight:700;font-size:{0.55 * band:.0f}px;
  padding:{2 * u:.0f}px {5 * u:.0f}px;display:flex;align-items:center}}
#text{{left:0;top:{band:.0f}px;width:{width}px;height:{height - band:.0f}px;
  padding:{5 * u:.0f}px;font-size:{9.9 * u:.0f}px;line-height:1.36;display:flex;
  align-items:center}}
"""
    body = (
        f'<div class="box" id="band">{html.escape(fields["title"])}</div>'
        f'<div class="box" id="text"><div>{html.escape(fields["text"])}</div></div>'
    )
    item = {"id": "static", "layout": "fullscreen_text", "fields": fields}
    return Screen("static", size, item, _page(style, body, ""))


def ticker(size: tuple[int, int]) -> Screen:
    """headline: header with title and clock, body, picture, and the running ticker."""
    width, height = size
    u = min(width, height) / 100
    header, rule = 0.16 * height, 0.008 * height
    top, band_top = header + rule, 0.91 * height
    fields = samples.text_notice("headline") | {"ticker": TICKER_TEXT}
    band = height - band_top
    style = f"""
body{{width:{width}px;height:{height}px}}
#header{{left:0;top:0;width:{width}px;height:{header:.0f}px;background:{_rgb(theme.PANEL)};
  border-bottom:{rule:.0f}px solid {_rgb(theme.ACCENT)};box-sizing:content-box;
  padding:0 {5 * u:.0f}px;display:flex;align-items:center;justify-content:space-between;
  font-weight:700;font-size:{0.52 * header:.0f}px;width:{width - 10 * u:.0f}px}}
#clock{{color:{_rgb(theme.ACCENT)}}}
#body{{left:0;top:{top:.0f}px;width:{0.62 * width:.0f}px;height:{band_top - top:.0f}px;
  padding:{5 * u:.0f}px;font-size:{6.9 * u:.0f}px;line-height:1.36}}
#picture{{left:{0.62 * width:.0f}px;top:{top:.0f}px;width:{0.38 * width:.0f}px;
  height:{band_top - top:.0f}px;padding:{5 * u:.0f}px;display:flex;align-items:center}}
#picture img{{width:100%;height:100%;object-fit:contain}}
#band{{left:0;top:{band_top:.0f}px;width:{width}px;height:{band:.0f}px;
  background:{_rgb(theme.ACCENT)};color:{_rgb(theme.ON_ACCENT)};font-weight:700;
  font-size:{0.52 * band:.0f}px;line-height:{band:.0f}px}}
#strip{{left:{round(0.03 * width)}px}}
"""
    body = (
        f'<div class="box" id="header"><span>{html.escape(fields["title"])}</span>'
        '<span id="clock"></span></div>'
        f'<div class="box" id="body">{html.escape(fields["body"])}</div>'
        f'<div class="box" id="picture"><img src="{fields["image"]}" alt=""></div>'
        '<div class="box" id="band"><div class="run" id="strip">'
        f"<span>{html.escape(TICKER_TEXT)}</span></div></div>"
    )
    gap = round(0.30 * width)
    script = (
        f"{RUN_SCRIPT}{CLOCK_SCRIPT}<script>document.fonts.ready.then(() => "
        f"run('strip', {gap}, {TICKER_SPEED}));</script>"
    )
    item = {"id": "ticker", "layout": "headline", "fields": fields}
    return Screen("ticker", size, item, _page(style, body, script))


def led(size: tuple[int, int]) -> Screen:
    """led_text on an LED panel: amber pixel-font text running sideways."""
    width, height = size
    cell = height // 16 * 16  # the pixel font in whole 16-dot rows, as the agent sets it
    style = f"""
body{{width:{width}px;height:{height}px}}
#panel{{left:0;top:0;width:{width}px;height:{height}px;font-family:Unifont;
  font-size:{cell}px;line-height:{height}px;color:{_rgb(theme.ACCENT)}}}
"""
    body = (
        '<div class="box" id="panel"><div class="run" id="strip">'
        f"<span>{html.escape(TICKER_TEXT)}</span></div></div>"
    )
    script = (
        f"{RUN_SCRIPT}<script>document.fonts.ready.then(() => "
        f"run('strip', {width // 3}, {LED_SPEED}));</script>"
    )
    item = {"id": "led", "layout": "led_text", "fields": {"text": TICKER_TEXT}}
    return Screen("led", size, item, _page(style, body, script))


def screens(
    lcd_size: tuple[int, int] = (1920, 1080), led_size: tuple[int, int] = (128, 32)
) -> list[Screen]:
    return [static(lcd_size), ticker(lcd_size), led(led_size)]


def write(directory: Path, screen: Screen) -> Path:
    path = directory / f"{screen.name}.html"
    path.write_text(screen.page, encoding="utf-8")
    return path


if __name__ == "__main__":  # the items, to read what the agent is given
    for one in screens():
        print(one.name, json.dumps(one.item, ensure_ascii=False)[:200])
