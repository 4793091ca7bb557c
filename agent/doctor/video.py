"""Video clips: can this board play them, and which decoder would H.264 clips get?

PyAV is imported only inside `check_video` (through agent.video's modules): the rest of
doctor, and a board's agent whose playlists hold no clip, never load FFmpeg's libraries.
The line is a warning at worst: a board without the `video` extra runs everything else,
and the installer does not install that extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agent.doctor.access import (
    READ,
    WRITE,
    Identity,
    checking_identity,
    describe_mode,
    run_as_service_hint,
)
from agent.doctor.check import Check

DEV = Path("/dev")

PI4_NO_DEVICE_FIX = (
    "the kernel's bcm2835-codec driver provides it (/dev/video10): sudo modprobe "
    "bcm2835-codec, then run doctor again; until then H.264 clips play in software, at a "
    "higher CPU cost (keep them at the board's size, at most 1080p30)"
)


def check_video(
    *,
    model_file: Path | None = None,
    v4l2_sysfs: Path | None = None,
    dev: Path = DEV,
    identity: Identity | None = None,
) -> Check:
    """One line: the decoder H.264 clips would get here, or why clips cannot play. The
    paths (default: agent.video.decoder's, the real board's) and `identity` (default: the
    service's, see access.py) are for tests."""
    from agent.video import unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        return _cannot_play(reason)
    from agent.video import decoder

    model_file = model_file or decoder.DEVICE_TREE_MODEL
    v4l2_sysfs = v4l2_sysfs or decoder.V4L2_SYSFS
    board = decoder.platform_info(model_file, v4l2_sysfs)
    choice = decoder.expected_decoder("h264", board)
    if choice.hardware:
        return _hardware(choice.name, _decoding_device(v4l2_sysfs, dev), identity)
    if "Raspberry Pi 5" in board.model:
        return Check.passed(
            f"video: {choice.name} (software; a Raspberry Pi 5 has no H.264 decoder block: "
            "its processor decodes H.264 clips, best at the board's size, at most 1080p30)"
        )
    if "Raspberry Pi 4" in board.model and not board.has_m2m_decoder:
        return Check.warning(
            f"video: {choice.name} (software; this Raspberry Pi 4 shows no H.264 decoding "
            "device, bcm2835-codec-decode)",
            PI4_NO_DEVICE_FIX,
        )
    return Check.passed(f"video: {choice.name} (software; {choice.reason}) for H.264 clips")


def _cannot_play(reason: str) -> Check:
    from agent.video import NOT_SUPPORTED

    if reason.startswith(f"{NOT_SUPPORTED}: PyAV is not installed"):
        return Check.warning(
            "video: clips cannot play on this board: PyAV (the video extra) is not "
            "installed; everything else works",
            "the installer installs signage-agent without it; on a board that plays "
            f"clips: sudo {sys.executable} -m pip install 'signage-agent[video]' "
            "(its wheel brings FFmpeg), then: sudo systemctl restart signage-agent",
        )
    return Check.warning(
        f"video: clips cannot play: {reason.removeprefix(NOT_SUPPORTED + ': ')}",
        f"reinstall PyAV, whose wheel brings FFmpeg: sudo {sys.executable} -m pip "
        "install --force-reinstall --no-deps 'av>=14', then run doctor again",
    )


def _hardware(name: str, device: Path | None, identity: Identity | None) -> Check:
    """The V4L2 decoder's line; a device the service may not open means software."""
    if device is None:
        return Check.passed(f"video: {name} (hardware, V4L2 M2M) for H.264 clips")
    identity = identity or checking_identity()
    if not identity.may(device, READ | WRITE):
        return Check.warning(
            f"video: {identity.name} may not open {device} ({describe_mode(device)}): "
            f"H.264 clips would decode in software instead of {name}",
            f"the service has group video; {run_as_service_hint()}",
        )
    return Check.passed(f"video: {name} (hardware, V4L2 M2M on {device}) for H.264 clips")


def _decoding_device(v4l2_sysfs: Path, dev: Path) -> Path | None:
    """The device node of the first stateful V4L2 decoder (as PlatformInfo counts them)."""
    from agent.video.decoder import PlatformInfo

    try:
        devices = sorted(v4l2_sysfs.iterdir())
    except OSError:
        return None
    for device in devices:
        try:
            name = (device / "name").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        node = dev / device.name
        if PlatformInfo("", (name,)).has_m2m_decoder and node.exists():
            return node
    return None
