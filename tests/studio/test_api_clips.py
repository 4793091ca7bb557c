"""The studio's still of a video item (issue 17): a real clip served over HTTP, drawn by
the board's player at the moment asked, through the real server."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pygame

from tests import video_clips
from tests.http_server import image_server
from tests.studio.conftest import StudioClient
from tests.test_preview_clips import clip_box


def test_the_still_shows_the_clip_s_frame_at_the_moment_asked(
    client: StudioClient, tmp_path: Path
) -> None:
    data = video_clips.vp9_clip(tmp_path / "clip.webm").read_bytes()
    ref = {"sha256": hashlib.sha256(data).hexdigest()}
    with image_server() as server:
        server.files["/clip.webm"] = data
        ref["url"] = server.url("/clip.webm")
        fields = {"video": ref, "caption": "Hướng dẫn"}
        for at, number in ((0, 0), (1.5, 15), (0.2, 2)):
            body = {"layout": "video", "fields": fields, "size": "640x360", "at": at}
            answer = client.post("/api/preview", body)
            assert answer.status == 200, answer.body[:300]
            shown = pygame.image.load(io.BytesIO(answer.body), "still.png")
            assert video_clips.read_counter(shown, clip_box(shown)) == number
        assert server.requests == ["/clip.webm"]  # downloaded once for the studio's life


def test_a_bad_clip_is_said_beside_the_video_field(client: StudioClient, tmp_path: Path) -> None:
    data = video_clips.text_clip(tmp_path / "x.mp4").read_bytes()
    with image_server() as server:
        server.files["/x.mp4"] = data
        ref = {"url": server.url("/x.mp4"), "sha256": hashlib.sha256(data).hexdigest()}
        answer = client.post("/api/preview", {"layout": "video", "fields": {"video": ref}})
    assert answer.status == 400
    [problem] = answer.problems
    assert problem["field"] == "video"
    assert problem["message_en"].startswith(f"{ref['url']}: not a video file the board can read")
    assert problem["message_vi"].startswith(f"Tệp {ref['url']} không phải đoạn phim")
