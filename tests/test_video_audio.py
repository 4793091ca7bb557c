"""A clip's sound (agent/video/audio.py) through a real pygame.mixer on SDL's dummy
audio driver (tests/conftest.py sets SDL_AUDIODRIVER=dummy), which plays in real time
without a sound card: the clips have a real AAC sine tone (tests/video_clips.py)."""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest

from agent.video import audio
from agent.video.audio import CHUNK_S, LEAD_S
from agent.video.player import ClipPlayer
from tests import video_clips

ZONE = (320, 180)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pygame.init()
    root = tmp_path_factory.mktemp("sound")
    video_clips.h264_clip(root / "tone.mp4", tone_hz=440)
    video_clips.h264_clip(root / "mute.mp4")
    return root


@pytest.fixture
def mixer() -> Iterator[int]:
    """The mixer open on the dummy driver; its rate (samples per second)."""
    pygame.mixer.init()
    found = pygame.mixer.get_init()
    assert found is not None
    yield found[0]
    pygame.mixer.stop()


def loudest(sound: pygame.mixer.Sound) -> int:
    """The largest sample of a Sound in the mixer's signed 16-bit format."""
    samples = array("h", sound.get_raw())
    return max(abs(value) for value in samples)


def test_with_audio_the_tone_reaches_the_mixer_in_step_with_the_picture(
    clips: Path, mixer: int
) -> None:
    with ClipPlayer(clips / "tone.mp4", ZONE, audio=True) as player:
        assert player.audio is not None
        player.start()
        busy, deadline = False, time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert player.frame_now() is not None
            assert player.audio.queued_until <= player.elapsed() + LEAD_S + CHUNK_S
            channel = player.audio._channel
            busy = busy or (channel is not None and channel.get_busy())
            time.sleep(1 / 30)
        elapsed = player.elapsed()
        queued_s = player.audio_samples_queued / mixer
        assert busy, "the Channel played"
        # What went to the mixer covers the time played (half of it on a loaded test
        # machine, whose held-up frame loop lets the sound skip ahead), at most the lead
        # beyond it.
        assert elapsed * 0.5 <= queued_s <= elapsed + LEAD_S + CHUNK_S
        channel = player.audio._channel
        assert channel is not None
        sound = channel.get_sound()
        assert sound is not None
        assert loudest(sound) > 8000, "a half-volume sine, not silence"
    assert not channel.get_busy(), "close() silenced it"


def test_without_audio_the_sound_track_is_never_decoded(clips: Path, mixer: int) -> None:
    clock = FakeClock()
    with ClipPlayer(clips / "tone.mp4", ZONE, clock) as player:
        assert player.info.has_audio
        player.start()
        for _ in range(20):
            clock.now += 0.1
            assert player.frame_now() is not None
        assert player.audio is None
        assert player.audio_samples_queued == 0
        assert not pygame.mixer.get_busy()


def test_a_clip_without_sound_plays_with_audio_on(clips: Path, mixer: int) -> None:
    with ClipPlayer(clips / "mute.mp4", ZONE, FakeClock(), audio=True) as player:
        assert player.audio is None
        assert player.frame_at(1.0) is not None


def test_a_stalled_picture_holds_the_sound_and_a_jump_ahead_follows_it(
    clips: Path, mixer: int
) -> None:
    clock = FakeClock()
    with ClipPlayer(clips / "tone.mp4", ZONE, clock, audio=True) as player:
        assert player.audio is not None
        player.start()
        for _ in range(30):  # the picture's clock stands still: the sound must not run on
            player.frame_now()
            time.sleep(0.01)
        assert player.audio.queued_until <= LEAD_S + CHUNK_S
        clock.now += 2.0  # the frame loop was held up for two seconds
        player.frame_now()
        assert 2.0 <= player.audio.queued_until <= 2.0 + LEAD_S + CHUNK_S


def test_a_loop_starts_the_sound_again_and_the_end_silences_it(clips: Path, mixer: int) -> None:
    clock = FakeClock()
    with ClipPlayer(clips / "tone.mp4", ZONE, clock, audio=True, duration_s=4.5) as player:
        assert player.audio is not None
        player.start()
        clock.now += 2.9
        player.frame_now()
        clock.now += 0.3  # the second pass: 0.2 s into the clip again
        player.frame_now()
        assert player.audio.queued_until <= 0.2 + LEAD_S + CHUNK_S
        before = player.audio_samples_queued
        time.sleep(0.4)  # the mixer plays in real time: let it use up what is queued
        clock.now += 0.4
        player.frame_now()
        assert player.audio_samples_queued > before
        channel = player.audio._channel
        assert channel is not None
        clock.now += 5.0  # past the item's 4.5 s
        assert player.frame_now() is None
        assert not channel.get_busy(), "the sound ends with the item"


def test_no_sound_device_is_said_once_and_clips_play_silently(
    clips: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pygame.mixer.quit()
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-sound-driver")  # as SDL finds no device
    monkeypatch.setattr(audio, "_logged", set())
    caplog.set_level(logging.WARNING, logger="agent.video.audio")
    try:
        for _ in range(2):
            with ClipPlayer(clips / "tone.mp4", ZONE, FakeClock(), audio=True) as player:
                assert player.audio is None
                assert player.frame_at(1.0) is not None
    finally:
        monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    said = [r.getMessage() for r in caplog.records if r.name == "agent.video.audio"]
    assert len(said) == 1, said
    assert "clips play without sound: the sound device does not open" in said[0]
