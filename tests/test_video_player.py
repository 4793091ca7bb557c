"""ClipPlayer (agent/video/player.py) on clips the tests make: the frame on the Surface
is read back from its pixels (tests/video_clips.py burns the frame number in as bars)."""

from __future__ import annotations

import gc
from fractions import Fraction
from pathlib import Path

import psutil
import pygame
import pytest

from agent.video.decoder import (
    DecoderChoice,
    PlatformInfo,
    choose_decoder,
    expected_decoder,
    letterbox,
)
from agent.video.player import ClipPlayer
from agent.video.probe import ClipProblem
from tests import video_clips
from tests.video_clips import RATE, read_counter

ZONE = (320, 320)  # a square zone: a 16:9 clip gets bars above and below
PICTURE = (0, 70, 320, 180)  # where the picture lands in it


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pygame.init()
    root = tmp_path_factory.mktemp("clips")
    video_clips.h264_clip(root / "clip.mp4")
    video_clips.vp9_clip(root / "clip.webm")
    video_clips.h264_clip(root / "fast.mp4", container_options={"movflags": "faststart"})
    return root


def shown(surface: pygame.Surface | None, box: tuple[int, int, int, int] = PICTURE) -> int:
    assert surface is not None, "the player showed nothing"
    return read_counter(surface, box)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm"])
def test_the_right_frame_at_the_right_time(clips: Path, name: str) -> None:
    """At any moment the frame on screen is the one whose slot the clock is in: within
    one frame duration of the truth, the injected clock driving it."""
    clock = FakeClock()
    with ClipPlayer(clips / name, ZONE, clock) as player:
        player.start()
        for number in range(30):
            for into in (0.0, 0.04, 0.099):
                clock.now = 100.0 + number / RATE + into
                assert shown(player.frame_now()) == number, (number, into)
        assert player.frames_dropped == 0
        assert player.frames_shown == 30
        clock.now = 103.0
        assert player.frame_now() is None  # played once: over at its end
        assert player.seconds_shown(player.elapsed()) == 3.0


def test_the_picture_is_scaled_to_the_zone_and_letterboxed(clips: Path) -> None:
    with ClipPlayer(clips / "clip.mp4", ZONE) as player:
        surface = player.frame_at(0.55)
        assert surface is not None
        assert surface.get_size() == ZONE
        assert shown(surface) == 5
        for y in (0, 35, 69, 250, 319):  # the bars
            assert tuple(surface.get_at((160, y)))[:3] == (0, 0, 0), y
        for y in (71, 160, 248):  # the picture, full width
            assert tuple(surface.get_at((5, y)))[:3] != (0, 0, 0), y
    with ClipPlayer(clips / "clip.webm", (400, 90)) as wide:  # bars left and right
        surface = wide.frame_at(0.0)
        assert surface is not None
        assert wide._decoder.box == letterbox((160, 90), (400, 90))
        assert shown(surface, (120, 0, 160, 90)) == 0
        assert tuple(surface.get_at((60, 45)))[:3] == (0, 0, 0)
        assert tuple(surface.get_at((340, 45)))[:3] == (0, 0, 0)


def test_the_picture_is_scaled_by_ffmpeg_not_in_python(clips: Path) -> None:
    """The decoder converts a frame to the letterboxed size itself: what it hands over is
    already the zone's size, RGB24."""
    with ClipPlayer(clips / "clip.mp4", (1280, 720)) as player:
        decoder = player._decoder
        frame = decoder.next_frame()
        assert frame is not None
        scaled = decoder.scale(frame)
        assert (scaled.width, scaled.height, scaled.format.name) == (1280, 720, "rgb24")


def test_letterbox_sizes() -> None:
    assert letterbox((1920, 1080), (1920, 1080)) == letterbox((1920, 1080), (1920, 1080))
    box = letterbox((1920, 1080), (1080, 1920))  # a portrait screen
    assert (box.width, box.height, box.x, box.y) == (1080, 608, 0, 656)
    box = letterbox((640, 480), (1920, 1080))
    assert (box.width, box.height, box.x, box.y) == (1440, 1080, 240, 0)
    box = letterbox((720, 576), (1024, 576), Fraction(64, 45))  # anamorphic PAL 16:9
    assert (box.width, box.height, box.x, box.y) == (1024, 576, 0, 0)
    with pytest.raises(ValueError, match="positive"):
        letterbox((0, 90), (320, 320))


def test_a_duration_loops_the_clip(clips: Path) -> None:
    with ClipPlayer(clips / "clip.mp4", ZONE, duration_s=7.0) as player:
        assert shown(player.frame_at(2.95)) == 29
        assert shown(player.frame_at(3.0)) == 0  # seeked back to the start
        assert shown(player.frame_at(3.35)) == 3
        assert shown(player.frame_at(6.95)) == 9
        assert player.frame_at(7.0) is None
        assert player.seconds_shown(8.0) == 7.0


def test_a_board_far_behind_drops_frames_and_counts_them(clips: Path) -> None:
    with ClipPlayer(clips / "clip.mp4", ZONE) as player:
        assert shown(player.frame_at(0.0)) == 0
        assert shown(player.frame_at(0.5)) == 5  # decoded forward: 1-4 dropped
        assert player.frames_dropped == 4
        assert shown(player.frame_at(2.75)) == 27  # > 2 s behind: a seek, 6-26 dropped
        assert player.frames_dropped == 4 + 21
        assert shown(player.frame_at(1.0)) == 27  # time never goes back: the frame stays
        assert player.frames_shown == 3


def test_a_clip_whose_data_ends_early_stops_with_a_problem(clips: Path, tmp_path: Path) -> None:
    """A truncated download that still probes (its index is at the front) plays what it
    has, then stops with `problem` instead of freezing on its last frame."""
    path = video_clips.truncated_clip(tmp_path / "half.mp4", clips / "fast.mp4", keep=0.6)
    with ClipPlayer(path, ZONE) as player:
        assert shown(player.frame_at(0.0)) == 0
        assert player.frame_at(2.9) is None
        assert player.problem is not None
        assert player.problem.kind == "truncated"
        assert "half.mp4" in str(player.problem)


def test_a_refused_clip_raises_its_problem(tmp_path: Path) -> None:
    with pytest.raises(ClipProblem, match="no video stream"):
        ClipPlayer(video_clips.audio_only_clip(tmp_path / "a.mp4"), ZONE)


def test_hardware_is_chosen_only_where_the_board_has_it() -> None:
    codecs = {"h264", "h264_v4l2m2m", "vp9", "hevc"}
    pi4 = PlatformInfo("Raspberry Pi 4 Model B Rev 1.4", ("bcm2835-codec-decode", "rpi-hevc-dec"))
    pi5 = PlatformInfo("Raspberry Pi 5 Model B Rev 1.0", ("rpi-hevc-dec",))
    pc = PlatformInfo("x86_64", ())
    assert choose_decoder("h264", codecs, pi4) == DecoderChoice(
        "h264_v4l2m2m", True, "V4L2 M2M decoder on Raspberry Pi 4 Model B Rev 1.4"
    )
    assert choose_decoder("h264", codecs - {"h264_v4l2m2m"}, pi4).hardware is False
    assert (
        choose_decoder("h264", codecs, pi5).reason == "Raspberry Pi 5 has no H.264 hardware decoder"
    )
    assert choose_decoder("h264", codecs, pc).name == "h264"
    assert choose_decoder("hevc", codecs, pi5).hardware is False
    assert choose_decoder("vp9", codecs, pi4) == DecoderChoice(
        "vp9", False, "no hardware decoder is used for vp9"
    )
    assert choose_decoder("av1", codecs, pc).name == "libdav1d"


def test_this_machine_is_expected_to_decode_in_software() -> None:
    """No V4L2 decoding device here (a VM): doctor would say software, and why."""
    choice = expected_decoder("h264")
    assert (choice.name, choice.hardware) == ("h264", False)
    assert choice.reason == "no V4L2 memory-to-memory decoding device"


def test_a_hardware_decoder_that_fails_falls_back_to_software(clips: Path) -> None:
    """This machine has FFmpeg's h264_v4l2m2m but no V4L2 device: forced to try it, the
    player says why it fell back and plays the clip in software."""
    forced = DecoderChoice("h264_v4l2m2m", True, "forced by the test")
    with ClipPlayer(clips / "clip.mp4", ZONE, choice=forced) as player:
        assert player.choice.hardware is False
        assert player.choice.name == "h264"
        assert player.choice.reason.startswith("h264_v4l2m2m failed")
        assert shown(player.frame_at(0.0)) == 0
        assert shown(player.frame_at(1.25)) == 12


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def test_opening_and_closing_clips_does_not_leak(clips: Path) -> None:
    """200 clip changes (the bench does 1 000): RSS after them is within a generous bound
    of RSS after a warm-up (allocator pools and FFmpeg's one-time tables settle first)."""
    paths = [clips / "clip.mp4", clips / "clip.webm"]
    for path in paths * 5:
        with ClipPlayer(path, ZONE) as player:
            player.frame_at(0.25)
    before = rss()
    for index in range(200):
        with ClipPlayer(paths[index % 2], ZONE) as player:
            assert player.frame_at(0.25) is not None
    after = rss()
    growth = (after - before) / 2**20
    print(
        f"RSS before {before / 2**20:.1f} MiB, after 200 clips {after / 2**20:.1f} MiB, "
        f"growth {growth:.1f} MiB"
    )
    assert growth < 16, f"RSS grew {growth:.1f} MiB over 200 clip changes"
