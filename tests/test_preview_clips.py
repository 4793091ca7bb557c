"""`preview` of a video item (issue 17): real clips whose frames carry their number as
bars (tests/video_clips.py), local or served by a real HTTP server, drawn by the board's
own player; the still is the first frame, or the one due at `--at`."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no window, ever

import hashlib
from collections.abc import Callable
from pathlib import Path

import pygame
import pytest

from agent.preview import preview
from agent.preview.draft import Preview, PreviewError
from agent.preview.picture import render_still
from tests import video_clips
from tests.http_server import image_server
from tests.test_preview import args, write_json

CLIPS: dict[str, Callable[[Path], Path]] = {
    "h264": lambda folder: video_clips.h264_clip(folder / "clip.mp4"),
    "vp9": lambda folder: video_clips.vp9_clip(folder / "clip.webm"),
}


def clip_box(surface: pygame.Surface) -> tuple[int, int, int, int]:
    """The letterboxed clip in the `video` layout's zone (the top 87 %): the span of
    the middle row that is not black."""
    height = int(surface.get_height() * 0.87)
    row = height // 2
    lit = [x for x in range(surface.get_width()) if sum(tuple(surface.get_at((x, row)))[:3]) > 90]
    assert lit, "no clip drawn"
    return lit[0], 0, lit[-1] - lit[0] + 1, height


def counter(path: Path) -> int:
    shown = pygame.image.load(str(path))
    return video_clips.read_counter(shown, clip_box(shown))


def video_item(folder: Path, clip: object, name: str = "item", **extras: object) -> Path:
    fields = {"video": clip, "caption": "Hướng dẫn phòng chống bão"}
    item = {"id": "clip", "layout": "video", "fields": fields, **extras}
    return write_json(folder / f"{name}.json", item)


@pytest.mark.parametrize("codec", sorted(CLIPS))
def test_the_still_is_the_first_frame_or_the_one_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str
) -> None:
    clip = CLIPS[codec](tmp_path)
    content = video_item(tmp_path, clip.name)  # relative to the content file
    first, later, past = tmp_path / "first.png", tmp_path / "later.png", tmp_path / "past.png"
    assert preview(args(None, content=content, out=first)) == 0
    assert counter(first) == 0
    # 1.5 s at the clip's 10 fps: frame 15.
    assert preview(args(None, content=content, out=later, at=1.5)) == 0
    assert counter(later) == 15
    # Played once (no duration_s), past its 3 s the last frame stays, as on a board.
    assert preview(args(None, content=content, out=past, at=60)) == 0
    assert counter(past) == video_clips.RATE * video_clips.SECONDS - 1
    err = capsys.readouterr().err
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    # What a playlist must carry instead of a path, said once per run.
    assert f"{clip} is played from this computer" in err
    assert f'"sha256": "{digest}"' in err


def test_an_item_with_duration_s_loops_the_clip(tmp_path: Path) -> None:
    clip = video_clips.h264_clip(tmp_path / "clip.mp4")
    content = video_item(tmp_path, str(clip), duration_s=20)
    out = tmp_path / "loop.png"
    assert preview(args(None, content=content, out=out, at=3.5)) == 0
    assert counter(out) == 5  # 0.5 s into the second pass


def test_a_session_goes_back_and_forth_in_the_clip(tmp_path: Path) -> None:
    """One session (as --watch and the studio keep one): a still before the last one
    is drawn from the start again, not left at the later frame."""
    clip = video_clips.h264_clip(tmp_path / "clip.mp4")
    session = Preview(None, video_item(tmp_path, str(clip)), (640, 360))
    for at, number in ((2.0, 20), (0.4, 4), (2.9, 29), (0.0, 0)):
        shown = render_still(session, at)
        assert video_clips.read_counter(shown, clip_box(shown)) == number


def test_a_text_file_named_mp4_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = video_clips.text_clip(tmp_path / "huong-dan.mp4")
    content = video_item(tmp_path, bad.name)
    out = tmp_path / "bad.png"
    assert preview(args(None, content=content, out=out)) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"preview: {content}: fields.video: {bad}: not a video file the board can read "
        "(Invalid data found when processing input)"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (video_clips.audio_only_clip, "no video stream (streams: audio)"),
        (video_clips.ten_hour_clip, "36000 s long, beyond the limit of 3600 s"),
        (lambda path: path.with_name("missing.mp4"), "no clip file"),
    ],
)
def test_refused_clips_say_why(tmp_path: Path, make: Callable[[Path], Path], said: str) -> None:
    clip = make(tmp_path / "clip.mp4")
    with pytest.raises(PreviewError) as caught:
        Preview(None, video_item(tmp_path, str(clip)), (320, 180)).load()
    assert len(caught.value.problems) == 1
    assert said in caught.value.problems[0]
    assert str(clip) in caught.value.problems[0]


def test_a_truncated_clip_is_said_when_the_frame_due_is_past_its_data(tmp_path: Path) -> None:
    good = video_clips.h264_clip(
        tmp_path / "good.mp4", container_options={"movflags": "+faststart"}
    )
    cut = video_clips.truncated_clip(tmp_path / "cut.mp4", good, keep=0.6)
    session = Preview(None, video_item(tmp_path, str(cut)), (320, 180))
    first = render_still(session, 0)
    assert video_clips.read_counter(first, clip_box(first)) == 0
    with pytest.raises(PreviewError) as caught:
        render_still(session, 2.9)
    said = caught.value.problems[0]
    assert said.startswith(f"{cut}: the clip's data ends ")
    assert said.endswith(" s of the 3.0 s its header says")
    assert " -" not in said  # never "near -0.1 s" (asked far ahead, nothing decoded)


def test_a_served_clip_is_downloaded_once_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = video_clips.h264_clip(tmp_path / "clip.mp4").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with image_server() as server:
        server.files["/clips/bao.mp4"] = data
        url = server.url("/clips/bao.mp4")
        content = video_item(tmp_path, {"url": url, "sha256": digest})
        session = Preview(None, content, (640, 360))
        for at, number in ((0, 0), (1.5, 15)):
            shown = render_still(session, at)
            assert video_clips.read_counter(shown, clip_box(shown)) == number
        assert server.requests == ["/clips/bao.mp4"]  # kept for the session
        # A plain URL is played too, and the preview says the digest a board needs.
        plain = tmp_path / "plain.png"
        assert preview(args(None, content=video_item(tmp_path, url), out=plain)) == 0
        assert counter(plain) == 0
        assert f'{{"url": "{url}", "sha256": "{digest}"}}' in capsys.readouterr().err
        # Other bytes than the digest names, or none, are one line naming the URL.
        wrong = video_item(tmp_path, {"url": url, "sha256": "0" * 64}, "wrong")
        gone = {"url": server.url("/gone.mp4"), "sha256": digest}
        missing = video_item(tmp_path, gone, "missing")
        for content, said in ((wrong, f"SHA-256 mismatch: got {digest}"), (missing, "HTTP 404")):
            with pytest.raises(PreviewError) as caught:
                Preview(None, content, (320, 180)).load()
            assert said in caught.value.problems[0]


def test_a_served_text_file_is_refused_by_the_probe(tmp_path: Path) -> None:
    data = video_clips.text_clip(tmp_path / "x.mp4").read_bytes()
    with image_server() as server:
        server.files["/x.mp4"] = data
        url = server.url("/x.mp4")
        content = video_item(tmp_path, {"url": url, "sha256": hashlib.sha256(data).hexdigest()})
        with pytest.raises(PreviewError) as caught:
            Preview(None, content, (320, 180)).load()
    assert caught.value.problems == [
        f"{content}: fields.video: {url}: not a video file the board can read "
        "(Invalid data found when processing input)"
    ]
