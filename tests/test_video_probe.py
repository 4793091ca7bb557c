"""The probe refuses every bad clip of issue 17 with a one-line reason naming the file,
and accepts the good ones (agent/video/probe.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.video import unavailable_reason
from agent.video.probe import ClipLimits, ClipProblem, ProblemKind, dimension_problem, probe_clip
from tests import video_clips
from tests.support import REPO


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clips")
    video_clips.h264_clip(root / "good.mp4")
    video_clips.vp9_clip(root / "good.webm")
    video_clips.vp9_clip(root / "good.ivf", fmt="ivf")
    return root


@pytest.mark.parametrize(
    ("name", "codec"), [("good.mp4", "h264"), ("good.webm", "vp9"), ("good.ivf", "vp9")]
)
def test_a_good_clip_is_accepted_with_its_facts(clips: Path, name: str, codec: str) -> None:
    info = probe_clip(clips / name)
    assert (info.codec, info.width, info.height) == (codec, 160, 90)
    assert float(info.frame_rate) == 10
    assert info.duration_s == pytest.approx(3.0, abs=0.11)
    assert info.frame_count == 30
    assert not info.has_audio


BadClip = Callable[[Path, Path], Path]

BAD_CLIPS: list[tuple[str, BadClip, ProblemKind, str]] = [  # name, how, kind, words
    (
        "truncated.mp4",
        lambda path, clips: video_clips.truncated_clip(path, clips / "good.mp4"),
        "unreadable",
        "not a video file",
    ),
    (
        "truncated.webm",
        lambda path, clips: video_clips.truncated_clip(path, clips / "good.webm", keep=0.08),
        "unreadable",
        "not a video file",
    ),
    ("text.mp4", lambda path, _: video_clips.text_clip(path), "unreadable", "not a video file"),
    ("ten-hours.mp4", lambda path, _: video_clips.ten_hour_clip(path), "duration", "36000 s long"),
    (
        "absurd.ivf",
        lambda path, clips: video_clips.absurd_size_clip(path, clips / "good.ivf"),
        "dimensions",
        "picture size",
    ),
    (
        "too-big.ivf",
        lambda path, clips: video_clips.absurd_size_clip(path, clips / "good.ivf", (4000, 4000)),
        "dimensions",
        "4000x4000 is beyond the limit of 3840x2160",
    ),
    ("audio.mp4", lambda path, _: video_clips.audio_only_clip(path), "no_video", "streams: audio"),
    (
        "playlist.mp4",
        lambda path, _: video_clips.playlist_clip(path),
        "unreadable",
        "not a video file",
    ),
    ("empty.mp4", lambda path, _: (path.write_bytes(b""), path)[1], "unreadable", "empty"),
    ("missing.mp4", lambda path, _: path, "unreadable", "No such file"),
]


@pytest.mark.parametrize("case", BAD_CLIPS, ids=[case[0] for case in BAD_CLIPS])
def test_a_bad_clip_is_refused_with_its_reason(
    clips: Path, tmp_path: Path, case: tuple[str, BadClip, ProblemKind, str]
) -> None:
    name, make, kind, words = case
    path = make(tmp_path / name, clips)
    with pytest.raises(ClipProblem) as refused:
        probe_clip(path)
    problem = refused.value
    print(problem)
    assert (problem.kind, problem.path) == (kind, path)
    assert words in problem.reason
    assert str(problem).startswith(f"{name}: ")
    assert "\n" not in str(problem)
    assert len(str(problem)) < 260


def test_a_fifo_named_mp4_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """FFmpeg would block opening a FIFO until someone writes; the probe never opens one."""
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(ClipProblem, match=r"pipe\.mp4: not a regular file"):
        probe_clip(fifo)


def test_the_duration_limit_is_configurable(clips: Path) -> None:
    with pytest.raises(ClipProblem, match="3 s long, beyond the limit of 2 s"):
        probe_clip(clips / "good.mp4", ClipLimits(max_duration_s=2))


def test_a_frame_rate_outside_the_range_is_refused(clips: Path) -> None:
    with pytest.raises(ClipProblem) as refused:
        probe_clip(clips / "good.mp4", ClipLimits(min_frame_rate=24))
    assert refused.value.kind == "frame_rate"
    assert "frame rate 10 fps is outside 24-120 fps" in refused.value.reason


def test_a_first_frame_that_does_not_decode_is_refused(clips: Path, tmp_path: Path) -> None:
    """The header is intact, the first frame's bytes are noise: refused, not shown black."""
    data = bytearray((clips / "good.ivf").read_bytes())
    start = 32 + 12
    size = int.from_bytes(data[32:36], "little")
    data[start : start + size] = bytes([0xFF]) * size  # a frame marker VP9 rejects
    path = tmp_path / "noise.ivf"
    path.write_bytes(bytes(data))
    with pytest.raises(ClipProblem) as refused:
        probe_clip(path)
    assert refused.value.kind == "undecodable", refused.value
    assert "the first frame does not decode" in refused.value.reason


def test_dimension_limits_accept_either_orientation() -> None:
    assert dimension_problem(3840, 2160) is None
    assert dimension_problem(2160, 3840) is None
    assert dimension_problem(3841, 2160) is not None
    assert dimension_problem(0, 90) is not None
    assert dimension_problem(65535, 65535) is not None


def test_video_is_available_here_and_a_board_without_pyav_is_told_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert unavailable_reason() is None
    monkeypatch.setitem(sys.modules, "av", None)  # what an import finds on a board without it
    reason = unavailable_reason()
    assert reason is not None
    assert "PyAV is not installed" in reason
    assert "signage-agent[video]" in reason


def test_importing_the_package_does_not_load_pyav() -> None:
    """`agent.video` is imported to ask whether video works; only its modules load PyAV."""
    code = "import sys, agent.video; print('av' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_nothing_outside_the_package_imports_it_yet() -> None:
    """Groundwork for issue 17: `signage-agent run` must not load the decoder until a
    playlist holds a video item; until the integration, nothing imports agent.video but
    doctor's video line (inside its check: tests/test_doctor_video.py proves it lazy)."""
    from tests.test_layers import imports_of

    users = [i for i in imports_of("agent") if i.target.startswith("agent.video")]
    outside = [i for i in users if not i.source.startswith(("agent.video", "agent.doctor.video"))]
    assert not outside, outside
