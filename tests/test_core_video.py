"""Video items in the core, in-process with an injected clock: real clips (frame numbers
burned in as bars) downloaded from a local HTTP server, decoded by PyAV, drawn on the
headless output. The right frame at the right time, loops and single plays, proof of
play with the seconds shown, an alert taking over, a clip that breaks while playing,
frames dropped when the board falls behind."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pygame
import pytest

pytest.importorskip("av")

from agent.assets import AssetFailure, AssetReady
from agent.core import Agent
from agent.output import HeadlessOutput
from display_layouts import theme
from tests import video_clips
from tests.http_server import ImageServer, image_server
from tests.support import REPO, playlist, text_item
from tests.test_core import ALERT_TOPIC, FakeClock, alert_payload, events, make_config, publish

SIZE = (320, 180)
BOX = (0, 0, *SIZE)  # the clip (16:9) fills a 16:9 board without a caption
FRAME_S = 1 / video_clips.RATE


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("core-clips")
    video_clips.h264_clip(root / "good.mp4")
    video_clips.vp9_clip(root / "good.webm", fmt="webm")
    video_clips.h264_clip(root / "fast.mp4", container_options={"movflags": "faststart"})
    video_clips.truncated_clip(root / "half.mp4", root / "fast.mp4", keep=0.6)
    video_clips.h264_clip(root / "tone.mp4", tone_hz=440)
    return root


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with image_server() as served:
        yield served


@pytest.fixture
def board(tmp_path: Path, clock: FakeClock) -> Iterator[Agent]:
    with board_of(tmp_path, clock, SIZE) as made:
        yield made


@contextmanager
def board_of(
    tmp_path: Path, clock: FakeClock, size: tuple[int, int], **display: Any
) -> Iterator[Agent]:
    """A board of `size` without its link (more `[display]` keys as given), closed after."""
    section = {"output": "headless", "width": size[0], "height": size[1], **display}
    config = make_config(tmp_path, display=section)
    made = Agent(config, clock=clock, output=HeadlessOutput(size))
    made.link = None
    try:
        yield made
    finally:
        made.content.clips.close()
        made.fetcher.stop()
        made.seq.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def clip_item(server: ImageServer, item_id: str, clip: Path, **extra: Any) -> dict[str, Any]:
    data = clip.read_bytes()
    server.files[f"/{clip.name}"] = data
    ref = {"url": server.url(f"/{clip.name}"), "sha256": hashlib.sha256(data).hexdigest()}
    return {"id": item_id, "layout": "video", "fields": {"video": ref}, **extra}


def downloaded(board: Agent, count: int = 1) -> None:
    for _ in range(count):
        message = board.queue.get(timeout=20)
        assert isinstance(message, AssetReady | AssetFailure), message
        board.handle(message)
    board.tick()


def share(canvas: pygame.Surface, colour: tuple[int, int, int]) -> float:
    """The part of the canvas drawn in `colour` (give or take a video codec's error)."""
    mask = pygame.mask.from_threshold(canvas, colour, (24, 24, 24, 255))
    return mask.count() / (canvas.get_width() * canvas.get_height())


def counter(board: Agent) -> int:
    return video_clips.read_counter(board.output.canvas, BOX)


def shown(board: Agent) -> str | None:
    showing = board.playback.showing
    return showing.entry.item.id if showing and showing.entry else None


@pytest.mark.parametrize("name", ["good.mp4", "good.webm"])
def test_the_frame_due_is_on_screen_within_one_frame(
    board: Agent, clock: FakeClock, server: ImageServer, clips: Path, name: str
) -> None:
    publish(board, playlist(1, [clip_item(server, "phim", clips / name, duration_s=30)]))
    assert shown(board) is None  # idle while the clip downloads: never a black screen
    downloaded(board)
    assert shown(board) == "phim"
    assert counter(board) == 0
    for frame in (1, 2, 7, 15, 29):
        # Half a frame past its time: the frame due, not the one before or after.
        target = frame * FRAME_S + FRAME_S / 2
        clock.advance(target - elapsed(board))
        board.tick()
        assert counter(board) == frame
    # The item loops the 3 s clip for its 30 s: 3.45 s in shows frame 4 of the next pass.
    clock.advance(3.45 - elapsed(board))
    board.tick()
    assert counter(board) == 4
    display = board.heartbeat().display
    assert display.frames_dropped > 0  # frames skipped by the jumps
    assert display.video_decoder is not None
    assert "software" in display.video_decoder


def test_an_led_panel_gets_the_clip_alone_scaled_to_its_size(
    tmp_path: Path, clock: FakeClock, server: ImageServer, clips: Path
) -> None:
    """A 128x32 panel: the layout's LED variant shows the clip without its caption, the
    16:9 picture scaled by FFmpeg to 57x32 between black bars, frame by frame."""
    led = (128, 32)
    with board_of(tmp_path, clock, led) as made:
        item = clip_item(server, "phim", clips / "good.mp4", duration_s=30)
        item["fields"]["caption"] = "Hướng dẫn phòng chống bão"
        publish(made, playlist(1, [item]))
        downloaded(made)
        box = ((led[0] - 57) // 2, 0, 57, 32)
        assert video_clips.read_counter(made.output.canvas, box) == 0
        clock.advance(7 * FRAME_S + FRAME_S / 2)
        made.tick()
        assert video_clips.read_counter(made.output.canvas, box) == 7
        assert made.output.canvas.get_at((2, 16))[:3] == (0, 0, 0)  # a bar beside it


def elapsed(board: Agent) -> float:
    showing = board.playback.showing
    assert showing is not None
    return (board.clock.now() - showing.since).total_seconds()


def test_a_clip_without_duration_plays_once_then_the_rotation_goes_on(
    board: Agent,
    clock: FakeClock,
    server: ImageServer,
    clips: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    items = [clip_item(server, "phim", clips / "good.mp4"), text_item("chu", "Thông báo")]
    publish(board, playlist(1, items))
    assert shown(board) == "chu"  # the clip downloads meanwhile
    clock.advance(10)
    downloaded(board)
    board.tick()
    assert shown(board) == "phim"
    started = board.playback.showing
    assert started is not None
    assert started.until is not None
    assert (started.until - started.since).total_seconds() == pytest.approx(3.0, abs=0.01)
    clock.advance(2.95)
    board.tick()
    assert counter(board) == 29  # its last frame, not a wrap to the first
    clock.advance(0.1)
    board.tick()
    assert shown(board) == "chu"
    ended = events(caplog, "playback.ended")
    assert [(e["item_id"], e["layout"]) for e in ended] == [("phim", "video")]
    assert ended[0]["seconds"] == pytest.approx(3.05, abs=0.01)


def test_a_severe_alert_takes_over_and_the_clip_restarts_after_the_cancel(
    board: Agent,
    clock: FakeClock,
    server: ImageServer,
    clips: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    publish(board, playlist(1, [clip_item(server, "phim", clips / "good.mp4", duration_s=60)]))
    downloaded(board)
    clock.advance(1.25)
    board.tick()
    assert counter(board) == 12
    publish(board, alert_payload(), topic=ALERT_TOPIC)
    assert board.heartbeat().now_showing.item_id == "bao-so-3"  # type: ignore[union-attr]
    canvas = board.output.canvas
    assert share(canvas, theme.ALERT_BACKGROUND) > 0.3  # the alert's frame, at once
    assert share(canvas, video_clips.ZERO) == 0  # and no bar of the clip is left on it
    assert board.content.clips._playing == {}  # its decoder is closed under the alert
    [ended] = events(caplog, "playback.ended")
    assert ended["item_id"] == "phim"
    assert ended["seconds"] == pytest.approx(1.25, abs=0.01)
    clock.advance(20)
    cancel = alert_payload(msg_type="cancel", sent="2026-11-27T09:00:30+07:00")
    publish(board, cancel, topic=ALERT_TOPIC)
    assert shown(board) == "phim"
    assert counter(board) == 0  # from its start: the viewers missed the rest of it
    plays = [e["item_id"] for e in events(caplog, "playback.started")]
    assert plays == ["phim", "bao-so-3", "phim"]


def test_a_clip_that_breaks_while_playing_is_skipped_and_reported(
    board: Agent,
    clock: FakeClock,
    server: ImageServer,
    clips: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    broken = clip_item(server, "hong", clips / "half.mp4", duration_s=30)
    publish(board, playlist(1, [broken, text_item("chu", "Thông báo", duration_s=30)]))
    downloaded(board)
    if shown(board) != "hong":  # the text item came first: move on to the clip
        clock.advance(30)
        board.tick()
    assert shown(board) == "hong"
    for _ in range(40):  # it plays what it has (60 % of 3 s), then its data ends
        clock.advance(FRAME_S)
        board.tick()
        if shown(board) != "hong":
            break
    assert shown(board) == "chu"  # skipped at once: never a frozen or black frame
    [failed] = events(caplog, "asset.failed")
    assert failed["item_id"] == "hong"
    assert "ends near" in failed["message"]
    data_end = float(re.search(r"ends near ([0-9.]+) s", failed["message"])[1])  # type: ignore[index]
    [ended] = events(caplog, "playback.ended")
    # Its last picture held no longer than a frame or two: not a frozen screen.
    assert ended["seconds"] <= data_end + 2 * FRAME_S + 0.05
    assert events(caplog, "display.error")  # the skip, said once
    assert board.screen.frame is not None
    assert board.screen.frame.base.layout == "fullscreen_text"
    clock.advance(30)
    board.tick()
    assert shown(board) == "chu"  # not shown again in this run
    assert json.dumps(events(caplog, "playback.ended")[-1]).count("hong") == 1


@pytest.mark.parametrize("audio", [False, True])
def test_the_clips_sound_plays_only_when_the_config_says_so(
    tmp_path: Path, clock: FakeClock, server: ImageServer, clips: Path, audio: bool
) -> None:
    with board_of(tmp_path, clock, SIZE, audio=audio) as made:
        item = clip_item(server, "phim", clips / "tone.mp4", duration_s=30)
        publish(made, playlist(1, [item]))
        downloaded(made)
        for _ in range(5):
            clock.advance(FRAME_S)
            made.tick()
        [playing] = made.content.clips._playing.values()
        assert (playing.player.audio_samples_queued > 0) is audio


# --- memory: the decoder only for a board that is sent a clip --------------------------

PROBE = """
import json, sys
from pathlib import Path
from agent.assets import AssetFailure
from agent.config import load_config
from agent.core import Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
agent = Agent(load_config(Path(sys.argv[1]), {}), output=HeadlessOutput((64, 32)))
agent.link = None
def offer(name):
    payload = Path(sys.argv[2]).parent.joinpath(name).read_bytes()
    agent.handle(Received("signage/v1/content/commune/ba-dinh/phuc-xa", payload, retained=False))
    agent.tick()
offer("text.json")
seen = ["av" in sys.modules]
offer("clip.json")  # its download fails (nothing listens on port 1), after loading PyAV
failure = agent.queue.get(timeout=20)
seen.append(isinstance(failure, AssetFailure) and "av" in sys.modules)
agent.fetcher.stop()
print(json.dumps(seen))
"""


def test_pyav_is_loaded_only_when_a_playlist_holds_a_clip(tmp_path: Path) -> None:
    """A board showing text never maps FFmpeg's libraries (tens of MB of RSS)."""
    config = tmp_path / "agent.toml"
    config.write_text(
        '[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\nname = "B"\n'
        f'[display]\noutput = "headless"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        '[mqtt]\nhost = "127.0.0.1"\nport = 1\n',
        encoding="utf-8",
    )
    (tmp_path / "text.json").write_bytes(playlist(1, [text_item("chu", "Thông báo")]))
    ref = {"url": "http://127.0.0.1:1/phim.mp4", "sha256": "ab" * 32}
    clip = {"id": "phim", "layout": "video", "fields": {"video": ref}}
    (tmp_path / "clip.json").write_bytes(playlist(2, [clip]))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), str(tmp_path / "text.json")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [False, True]
