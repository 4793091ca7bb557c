"""`preview`: content as the docs show it (an item), stills of scrolling text (`--at`),
pictures from local files and from URLs (the board's downloader, against real servers),
and a window that fits the screen."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import base64
import io
import json
from pathlib import Path

import pygame
import pytest

from agent.assets.download import DEFAULT_MAX_ASSET_BYTES
from agent.preview import preview
from agent.preview.draft import Preview, PreviewError
from agent.preview.picture import fitted_size, render_still
from tests.http_server import image_server
from tests.test_preview import args, write_json

TICKER = {"title": "Tin", "body": "Nội dung", "ticker": "Cảnh báo ngập lụt • Mất điện • Tắc đường"}


def pixels(surface: pygame.Surface) -> bytes:
    return pygame.image.tobytes(surface, "RGB")


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    surface = pygame.Surface(size)
    surface.fill(colour)
    out = io.BytesIO()
    pygame.image.save(surface, out, "picture.png")
    return out.getvalue()


# --- an item as the docs show one --------------------------------------------------------


def test_an_item_is_drawn_with_its_own_layout(tmp_path: Path) -> None:
    item = write_json(
        tmp_path / "item.json",
        {"id": "tin", "layout": "fullscreen_text", "fields": {"text": "Mất điện"}},
    )
    bare = write_json(tmp_path / "bare.json", {"text": "Mất điện"})
    from_item = render_still(Preview(None, item, (320, 180)), 0)
    named = render_still(Preview("fullscreen_text", item, (320, 180)), 0)
    from_slots = render_still(Preview("fullscreen_text", bare, (320, 180)), 0)
    assert pixels(from_item) == pixels(named) == pixels(from_slots)
    # The same content parsed already (the studio's form): no file needed.
    given = Preview(None, None, (320, 180), data=json.loads(item.read_text("utf-8")))
    assert pixels(render_still(given, 0)) == pixels(from_item)
    with pytest.raises(PreviewError) as caught:
        Preview(None, None, (320, 180), data={"text": "x"}).load()
    assert caught.value.problems == ["content: names no layout: give the LAYOUT to draw it with"]
    with pytest.raises(PreviewError) as caught:
        Preview("fullscreen_text", None, (320, 180), data={"txt": "x"}).load()
    assert caught.value.problems[0].startswith(
        "content: items.0.fields.txt: layout 'fullscreen_text'"
    )


def test_an_item_for_another_layout_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = write_json(
        tmp_path / "item.json", {"id": "tin", "layout": "led_text", "fields": {"text": "x"}}
    )
    assert preview(args("fullscreen_text", content=item, out=tmp_path / "x.png")) == 1
    err = capsys.readouterr().err
    assert f"{item}: the item is for layout 'led_text', not 'fullscreen_text'" in err
    bare = write_json(tmp_path / "bare.json", {"text": "x"})
    assert preview(args(None, content=bare, out=tmp_path / "x.png")) == 1
    assert f"{bare}: names no layout: give the LAYOUT" in capsys.readouterr().err


def test_an_items_other_keys_are_checked_as_the_board_checks_them(tmp_path: Path) -> None:
    item = write_json(
        tmp_path / "item.json",
        {"id": "tin", "layout": "fullscreen_text", "fields": {"text": "x"}, "duration_s": 0},
    )
    with pytest.raises(PreviewError) as caught:
        Preview(None, item, (320, 180)).load()
    assert caught.value.problems == [
        f"{item}: duration_s: Input should be greater than or equal to 1"
    ]


def test_a_playlist_without_layout_previews_its_first_item(tmp_path: Path) -> None:
    playlist = write_json(
        tmp_path / "p.json",
        {
            "type": "playlist",
            "version": 1,
            "issued_at": "2026-11-27T07:30:00+07:00",
            "items": [{"id": "a", "layout": "led_text", "fields": {"text": "Bão"}}],
        },
    )
    _renderer, scene = Preview(None, playlist, (128, 32)).load()
    assert scene.layout == "led_text"
    with pytest.raises(PreviewError) as caught:
        Preview("headline", playlist, (128, 32)).load()
    assert caught.value.problems == [
        f"{playlist}: no item with layout 'headline'; its items use led_text"
    ]


# --- --at: stills of scrolling text --------------------------------------------------------


def test_at_draws_where_the_ticker_has_scrolled_to_the_same_every_time(tmp_path: Path) -> None:
    news = write_json(tmp_path / "news.json", TICKER)
    session = Preview("headline", news, (640, 360))
    start, later, again = (render_still(session, at) for at in (0, 3, 3))
    assert pixels(start) != pixels(later)
    assert pixels(later) == pixels(again)
    ticker = pygame.Rect(0, 330, 640, 30)  # only the ticker band moved
    header = pygame.Rect(0, 0, 480, 50)
    assert pixels(start.subsurface(header)) == pixels(later.subsurface(header))
    assert pixels(start.subsurface(ticker)) != pixels(later.subsurface(ticker))


def test_at_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    led = write_json(tmp_path / "led.json", {"text": "Cảnh báo ngập lụt trên đường Phúc Xá"})
    shots = []
    for at in (0.0, 3.0, 3.0):
        out = tmp_path / f"at-{at}.png"
        assert preview(args("led_text", content=led, size="128x32", at=at, out=out)) == 0
        shots.append(pixels(pygame.image.load(str(out))))
    # Two runs, two sessions: the scroll position depends on the seconds alone.
    assert shots[0] != shots[1]
    assert shots[1] == shots[2]
    capsys.readouterr()
    assert preview(args("led_text", content=led, at=float("nan"))) == 2
    assert preview(args("led_text", content=led, at=-1.0)) == 2
    assert "--at must be seconds from 0 to 86400" in capsys.readouterr().err


# --- pictures ----------------------------------------------------------------------------


def caption(tmp_path: Path, image: object) -> Path:
    return write_json(tmp_path / "pic.json", {"image": image, "caption": "Ảnh"})


def centre(surface: pygame.Surface) -> tuple[int, int, int]:
    colour = surface.get_at((surface.get_width() // 2, surface.get_height() // 3))
    return colour.r, colour.g, colour.b


def test_a_local_picture_is_embedded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "red.png").write_bytes(png((64, 48), (220, 20, 20)))
    content = caption(tmp_path, "pics/red.png")  # relative to the content file
    out = tmp_path / "out.png"
    assert preview(args("image_caption", content=content, out=out)) == 0
    assert centre(pygame.image.load(str(out))) == (220, 20, 20)
    assert "a playlist must carry it so" in capsys.readouterr().err
    absolute = caption(tmp_path, str(tmp_path / "pics" / "red.png"))
    assert centre(render_still(Preview("image_caption", absolute, (640, 360)))) == (220, 20, 20)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: None, "no picture file {path}"),
        (lambda p: p.write_text("<html>"), "{path}: not a PNG or JPEG picture"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 600_000), "{path} is 585 KiB;"),
        (lambda p: p.write_bytes(png((64, 48), (1, 2, 3))[:60]), "{path}: "),
    ],
    ids=["missing", "not a picture", "too large", "truncated"],
)
def test_a_local_picture_that_cannot_be_used_names_the_field_and_file(
    tmp_path: Path, make: object, problem: str
) -> None:
    path = tmp_path / "photo.png"
    make(path)  # type: ignore[operator]
    content = caption(tmp_path, "photo.png")
    with pytest.raises(PreviewError) as caught:
        Preview("image_caption", content, (640, 360)).load()
    (said,) = caught.value.problems
    assert said.startswith(f"{content}: fields.image: {problem.format(path=path)}")


def test_a_url_picture_is_fetched_once_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    blue = png((64, 48), (20, 20, 220))
    digest = hashlib.sha256(blue).hexdigest()
    with image_server() as server:
        server.files["/blue.png"] = blue
        url = server.url("/blue.png")
        session = Preview("image_caption", caption(tmp_path, url), (640, 360))
        assert centre(render_still(session)) == (20, 20, 220)
        assert centre(render_still(session)) == (20, 20, 220)  # from the session's folder
        assert server.requests == ["/blue.png"]
        notes = session.pictures.take_notes()
        assert notes == [
            f'fields.image: a board needs the picture\'s SHA-256 too: {{"url": "{url}", '
            f'"sha256": "{digest}"}}'
        ]
        verified = caption(tmp_path, {"url": url, "sha256": digest})
        assert centre(render_still(Preview("image_caption", verified, (640, 360)))) == (20, 20, 220)
        extra = caption(tmp_path, {"url": url, "sha256": digest, "alt": "Ảnh"})
        with pytest.raises(PreviewError) as caught:
            Preview("image_caption", extra, (640, 360)).load()
        assert caught.value.problems == [f"{extra}: fields.image.alt: unknown key"]
        wrong = caption(tmp_path, {"url": url, "sha256": "0" * 64})
        with pytest.raises(PreviewError) as caught:
            Preview("image_caption", wrong, (640, 360)).load()
        assert caught.value.problems == [
            f"{wrong}: fields.image: {url}: SHA-256 mismatch: got {digest}"
        ]


def test_a_hostile_picture_server_is_refused(tmp_path: Path) -> None:
    with image_server() as server:
        server.files["/page.png"] = b"<html>not a picture</html>"
        server.files["/huge.png"] = b"\x89PNG\r\n\x1a\n" + b"\0" * DEFAULT_MAX_ASSET_BYTES
        server.failures["/gone.png"] = [500]
        expected = {
            "/page.png": "not a PNG or JPEG image",
            "/huge.png": f"larger than the limit of {DEFAULT_MAX_ASSET_BYTES} bytes",
            "/gone.png": "HTTP 500",
        }
        for path, problem in expected.items():
            url = server.url(path)
            content = caption(tmp_path, url)
            with pytest.raises(PreviewError) as caught:
                Preview("image_caption", content, (640, 360)).load()
            (said,) = caught.value.problems
            assert said.startswith(f"{content}: fields.image: {url}: {problem}"), said
    assert not any(tmp_path.glob("*.part"))


def test_the_session_folder_is_removed_with_the_session(tmp_path: Path) -> None:
    import gc

    with image_server() as server:
        server.files["/red.png"] = png((8, 8), (200, 0, 0))
        session = Preview("image_caption", caption(tmp_path, server.url("/red.png")), (64, 36))
        render_still(session)
    (folder,) = {path.parent for path in session.pictures._files.values()}
    assert folder.is_dir()
    del session
    gc.collect()
    assert not folder.exists()


def test_a_data_uri_is_drawn_as_it_is(tmp_path: Path) -> None:
    uri = "data:image/png;base64," + base64.b64encode(png((8, 8), (0, 200, 0))).decode()
    content = caption(tmp_path, uri)
    assert centre(render_still(Preview("image_caption", content, (640, 360)))) == (0, 200, 0)


# --- the window fits the screen ----------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "desktop", "shown"),
    [
        ((640, 360), (1920, 1080), (640, 360)),  # fits: unchanged
        ((1920, 1080), (1920, 1080), (1728, 972)),  # room for the frame and taskbar
        ((1080, 1920), (1366, 768), (388, 691)),  # portrait on a laptop
        ((3072, 768), (1366, 768), (1229, 307)),  # 256x64 LED dots
        ((8192, 8), (800, 600), (720, 1)),  # never nothing
    ],
)
def test_a_view_larger_than_the_screen_is_scaled_down_keeping_its_aspect(
    view: tuple[int, int], desktop: tuple[int, int], shown: tuple[int, int]
) -> None:
    assert fitted_size(view, desktop) == shown


def test_the_window_is_opened_at_the_fitted_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.preview.window import Window

    news = write_json(tmp_path / "news.json", TICKER)
    session = Preview("headline", news, (1920, 1080))  # the dummy desktop is 1024x768
    window = Window(session)
    try:
        assert window.screen.size == fitted_size((1920, 1080), (1024, 768))
        renderer, scene = session.load()
        window.show(renderer, scene, [])
        assert window.screen.canvas.get_at((5, 5))[:3] != (0, 0, 0)
    finally:
        window.screen.close()
    said = capsys.readouterr().err
    assert "the 1920x1080 view is shown at 48% (921x518) to fit the screen" in said
