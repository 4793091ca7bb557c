"""`doctor`'s video line (agent/doctor/video.py): the decoder H.264 clips would get.

The board is given as the files the decoder reads (the device tree's model, sysfs's
V4L2 devices, /dev), laid out in a temporary folder as a Pi 4, a Pi 5 and a PC have
them; PyAV and its FFmpeg are the real ones.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

from agent import doctor
from agent.doctor import Check, Outcome
from agent.doctor.access import Identity
from agent.doctor.video import check_video
from tests.support import REPO
from tests.test_doctor import config_with

PI4 = "Raspberry Pi 4 Model B Rev 1.4"
PI5 = "Raspberry Pi 5 Model B Rev 1.0"
PI4_DEVICES = {
    "video10": "bcm2835-codec-decode",
    "video11": "bcm2835-codec-encode",
    "video12": "bcm2835-codec-isp",
    "video19": "rpi-hevc-dec",
}


def board(
    tmp_path: Path,
    model: str,
    devices: dict[str, str],
    mode: int = 0o660,
    identity: Identity | None = None,
) -> Check:
    """check_video on a board laid out as `model` with these V4L2 devices."""
    model_file = tmp_path / "model"
    model_file.write_bytes(model.encode() + b"\0")  # the device tree's string ends in NUL
    sysfs, dev = tmp_path / "video4linux", tmp_path / "dev"
    sysfs.mkdir()
    dev.mkdir()
    for node, name in devices.items():
        (sysfs / node).mkdir()
        (sysfs / node / "name").write_text(name + "\n")
        (dev / node).touch()
        (dev / node).chmod(mode)
    return check_video(model_file=model_file, v4l2_sysfs=sysfs, dev=dev, identity=identity)


def report(check: Check) -> str:
    out = io.StringIO()
    check.show(out)
    return out.getvalue()


def test_a_pi4_uses_its_h264_block_through_v4l2(tmp_path: Path) -> None:
    if "h264_v4l2m2m" not in av.codecs_available:
        pytest.skip("this PyAV's FFmpeg has no h264_v4l2m2m (PyPI's Linux wheels have it)")
    check = board(tmp_path, PI4, PI4_DEVICES)
    device = tmp_path / "dev" / "video10"
    line = f"✓ video: h264_v4l2m2m (hardware, V4L2 M2M on {device}) for H.264 clips\n"
    assert report(check) == line


def test_a_decoding_device_the_service_may_not_open_is_a_warning(tmp_path: Path) -> None:
    if "h264_v4l2m2m" not in av.codecs_available:
        pytest.skip("this PyAV's FFmpeg has no h264_v4l2m2m")
    # A service user in none of the device's groups (the files belong to whoever runs this).
    stranger = Identity("signage-agent", uid=os.getuid() + 4242, gids=frozenset({4242}))
    check = board(tmp_path, PI4, PI4_DEVICES, mode=0o660, identity=stranger)
    assert check.outcome is Outcome.WARNING
    assert check.ok
    assert f"may not open {tmp_path / 'dev' / 'video10'}" in check.what
    assert "in software instead of h264_v4l2m2m" in check.what
    assert "group video" in check.fix
    assert "sudo -u signage-agent" in check.fix


def test_a_pi5_says_it_has_no_h264_block(tmp_path: Path) -> None:
    check = board(tmp_path, PI5, {"video19": "rpi-hevc-dec"})
    assert check.outcome is Outcome.PASSED
    assert check.what.startswith("video: h264 (software; a Raspberry Pi 5 has no H.264 decoder")
    assert "1080p30" in check.what


def test_a_pi4_without_its_decoding_device_says_which_driver(tmp_path: Path) -> None:
    check = board(tmp_path, PI4, {"video19": "rpi-hevc-dec"})
    assert check.outcome is Outcome.WARNING
    assert "this Raspberry Pi 4 shows no H.264 decoding device" in check.what
    assert "sudo modprobe bcm2835-codec" in check.fix


def test_a_pc_decodes_in_software_and_says_why(tmp_path: Path) -> None:
    check = board(tmp_path, "x86_64", {})
    assert report(check) == (
        "✓ video: h264 (software; no V4L2 memory-to-memory decoding device) for H.264 clips\n"
    )


def test_without_pyav_clips_cannot_play_and_the_fix_is_the_video_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # what an import finds on a board without it
    check = check_video()
    assert check.outcome is Outcome.WARNING, "a board without clips still works"
    assert check.what.startswith("video: clips cannot play on this board: PyAV")
    assert f"{sys.executable} -m pip install 'signage-agent[video]'" in check.fix
    assert "the installer installs signage-agent without it" in check.fix
    assert "systemctl restart signage-agent" in check.fix


def test_the_report_has_the_video_line_after_the_display(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent.doctor.host.clock_synced", lambda: True)
    out = io.StringIO()
    status = doctor.run_doctor(config_with(tmp_path, port=None), out, probe_loader=lambda: None)
    assert status == 0, out.getvalue()
    rows = out.getvalue().splitlines()
    video = next(n for n, row in enumerate(rows) if row.startswith("✓ video: "))
    assert rows[video - 1].startswith("✓ display output headless")


def test_doctor_loads_pyav_only_when_the_video_line_runs() -> None:
    code = (
        "import sys, agent.doctor; before = 'av' in sys.modules; "
        "from agent.doctor.video import check_video; check_video(); "
        "print(before, 'av' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "True"]
