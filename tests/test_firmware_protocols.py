"""Controller protocols: the notes' worked examples byte for byte, and decoders that
survive any bytes, frames cut at any point, and resynchronise."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from firmware_bridge.frame import PanelFrame
from firmware_bridge.protocols import (
    SerialSettings,
    UnknownProtocol,
    create_protocol,
    serial_settings,
    unchecked_settings,
)
from firmware_bridge.protocols.adalight import AdalightDecoder
from firmware_bridge.protocols.adalight import frame_bytes as adalight_frame
from firmware_bridge.protocols.alpha import commands
from firmware_bridge.protocols.alpha.packets import AlphaDecoder, build_packet, checksum
from firmware_bridge.protocols.base import Packet, Pause, SignText
from firmware_bridge.protocols.tpm2 import Tpm2Decoder
from firmware_bridge.protocols.tpm2 import frame_bytes as tpm2_frame

NOON = datetime(2026, 11, 27, 14, 5, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))  # a Friday


def settings(protocol: str, size: tuple[int, int] = (128, 32), **kw: Any) -> SerialSettings:
    # Unchecked: the worked examples use panels smaller than a real one (2×1).
    return unchecked_settings(
        port="loop://", protocol=protocol, panel_width=size[0], panel_height=size[1], **kw
    )


def wire(packet: Packet) -> bytes:
    return b"".join(part for part in packet.parts if isinstance(part, bytes))


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- the worked examples ------------------------------------------------------------------


def test_tpm2_two_pixels_red_then_green() -> None:
    plugin = create_protocol(settings("tpm2", (2, 1), color="rgb"))
    [packet] = plugin.encode(PanelFrame(2, 1, "rgb", hexbytes("FF0000 00FF00")))
    assert wire(packet) == hexbytes("C9 DA 00 06 FF 00 00 00 FF 00 36")
    assert packet.ack == b"\xac"


def test_adalight_two_leds_red_then_green() -> None:
    plugin = create_protocol(settings("adalight", (2, 1), color="rgb"))
    [packet] = plugin.encode(PanelFrame(2, 1, "rgb", hexbytes("FF0000 00FF00")))
    assert wire(packet) == hexbytes("41 64 61 00 01 54 FF 00 00 00 FF 00")


def test_alpha_hello_in_file_a_held_on_the_middle_line() -> None:
    expected = hexbytes(
        "00 00 00 00 00 01 5A 30 30 02 41 41 1B 20 62 48 45 4C 4C 4F 03 30 32 39 38 04"
    )
    assert wire(build_packet((commands.write_text(b"A", "middle", "hold", b"HELLO"),))) == expected
    sign = create_protocol(settings("alpha", alpha_position="middle", color="mono"))
    assert [wire(p) for p in sign.encode(SignText("HELLO"))] == [expected]


def test_tpm2_mono_panel_gets_one_bit_per_pixel() -> None:
    plugin = create_protocol(settings("tpm2", color="mono"))
    [packet] = plugin.encode(PanelFrame(128, 32, "mono", bytes(128 * 32)))
    assert packet.size == 512 + 5


def test_tpm2_cuts_a_frame_larger_than_a_packet_and_says_so() -> None:
    plugin = create_protocol(settings("tpm2", (256, 128), color="rgb"))
    assert "only the top 85 rows" in plugin.warnings[0]
    [packet] = plugin.encode(PanelFrame(256, 128, "rgb", bytes(256 * 128 * 3)))
    assert packet.size == 85 * 256 * 3 + 5


def test_an_unknown_protocol_is_refused_by_name() -> None:
    with pytest.raises(UnknownProtocol, match="'vendorx'"):
        create_protocol(settings("vendorx"))
    with pytest.raises(UnknownProtocol):
        create_protocol(settings("base"))


# --- Alpha: what goes as text, what as a picture -----------------------------------------------


def test_alpha_draws_ascii_itself_but_not_vietnamese() -> None:
    sign = create_protocol(settings("alpha"))
    assert sign.draws_text("Road closed 8:00-12:00")
    assert not sign.draws_text("Cúp nước khu phố 3")
    assert not sign.draws_text("   ")
    assert not sign.draws_text("x" * 600)


def test_alpha_picture_is_written_then_called_from_the_text_file() -> None:
    sign = create_protocol(settings("alpha", (4, 2), color="tricolor"))
    picture, text = sign.encode(PanelFrame(4, 2, "tricolor", bytes([0, 1, 2, 3, 3, 2, 1, 0])))
    header, pause, rows = picture.parts[0], picture.parts[1], picture.parts[2]
    assert isinstance(header, bytes)
    assert header.endswith(b"\x02IB0204")
    assert pause == Pause(commands.DOTS_HEADER_PAUSE_S)
    assert isinstance(rows, bytes)
    assert rows.startswith(b"0123\r3210\r\x03")
    assert wire(text).endswith(b"AA\x1b0b\x14B\x03" + wire(text)[-5:-1] + b"\x04")
    assert picture.gap_after_s >= 0.1
    assert text.gap_after_s >= 0.1


def test_alpha_blank_frame_clears_the_sign_without_a_picture() -> None:
    sign = create_protocol(settings("alpha", (4, 2)))
    [text] = sign.encode(PanelFrame(4, 2, "mono", bytes(8)))
    assert b"\x1b0b \x03" in wire(text)


def test_alpha_sets_up_memory_and_clock_on_connect() -> None:
    sign = create_protocol(settings("alpha", (128, 32), color="tricolor"))
    memory, time_of_day, date, weekday = (wire(p) for p in sign.on_connect(NOON))
    assert b"E$AAU0200FF00BDU20802000\x03" in memory
    assert b"E 1405\x03" in time_of_day
    assert b"E;112726\x03" in date
    assert b"E&6\x03" in weekday  # Friday; the sign counts Sunday as 1
    assert sign.on_connect(NOON)[0].gap_after_s >= 1.0


def test_alpha_mode_auto_holds_what_fits_and_rotates_the_rest() -> None:
    sign = create_protocol(settings("alpha", (64, 16), color="mono"))
    assert b"\x1b0b" in wire(sign.encode(SignText("SHORT"))[0])
    assert b"\x1b0a" in wire(sign.encode(SignText("A MUCH LONGER NOTICE"))[0])


def test_alpha_says_what_it_cannot_do_as_configured() -> None:
    sign = create_protocol(settings("alpha", (300, 32), color="rgb"))
    text = " ".join(sign.warnings)
    assert "cut to 255×32" in text
    assert "sent as tricolor" in text
    assert sign.color == "tricolor"
    # An unknown mode no longer reaches the sign as a warning: the settings refuse it
    # (issue 11: a misspelt alpha_mode fails `validate`).
    with pytest.raises(ValidationError, match="'zoom'"):
        serial_settings(
            port="loop://", protocol="alpha", panel_width=300, panel_height=32, alpha_mode="zoom"
        )


# --- decoders ----------------------------------------------------------------------------------


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(len(data), c) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


payloads = st.binary(min_size=1, max_size=300)


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_tpm2_decoder_survives_any_bytes(chunks: list[bytes]) -> None:
    decoder = Tpm2Decoder(gap_s=0.5)
    for n, chunk in enumerate(chunks):
        decoder.feed(chunk, now=n * 0.1)


@given(st.lists(payloads, min_size=1, max_size=5), st.lists(st.integers(0, 2000), max_size=10))
def test_tpm2_frames_split_anywhere_decode_whole(frames: list[bytes], cuts: list[int]) -> None:
    decoder = Tpm2Decoder()
    stream = b"".join(tpm2_frame(p) for p in frames)
    got = [packet.payload for chunk in split(stream, cuts) for packet in decoder.feed(chunk)]
    assert got == frames


@given(st.binary(max_size=100).map(lambda b: b.replace(b"\xc9", b"")), payloads)
def test_tpm2_resynchronises_after_garbage(garbage: bytes, payload: bytes) -> None:
    decoder = Tpm2Decoder()
    assert [p.payload for p in decoder.feed(garbage + tpm2_frame(payload))] == [payload]


@given(payloads, st.integers(1, 50), payloads)
def test_tpm2_drops_a_cut_frame_after_silence(cut: bytes, keep: int, payload: bytes) -> None:
    decoder = Tpm2Decoder(gap_s=0.5)
    decoder.feed(tpm2_frame(cut)[:keep], now=0.0)
    assert [p.payload for p in decoder.feed(tpm2_frame(payload), now=1.0)] == [payload]


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_adalight_decoder_survives_any_bytes(chunks: list[bytes]) -> None:
    decoder = AdalightDecoder()
    for chunk in chunks:
        decoder.feed(chunk)


@given(st.lists(payloads, min_size=1, max_size=4), st.lists(st.integers(0, 2000), max_size=8))
def test_adalight_frames_split_anywhere_decode_whole(frames: list[bytes], cuts: list[int]) -> None:
    rgb = [p[: max(3, len(p) // 3 * 3)].ljust(3, b"\0") for p in frames]
    decoder = AdalightDecoder()
    stream = b"".join(adalight_frame(p) for p in rgb)
    assert [f.rgb for chunk in split(stream, cuts) for f in decoder.feed(chunk)] == rgb


ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1)


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_alpha_decoder_survives_any_bytes(chunks: list[bytes]) -> None:
    decoder = AlphaDecoder()
    for n, chunk in enumerate(chunks):
        decoder.feed(chunk, now=n * 0.4)


@given(st.lists(ascii_text, min_size=1, max_size=4), st.lists(st.integers(0, 400), max_size=8))
def test_alpha_packets_split_anywhere_decode_with_good_checksums(
    texts: list[str], cuts: list[int]
) -> None:
    packets = [
        build_packet((commands.write_text(b"A", "fill", "hold", t.encode()),)) for t in texts
    ]
    decoder = AlphaDecoder()
    got = [p for chunk in split(b"".join(map(wire, packets)), cuts) for p in decoder.feed(chunk)]
    assert [p.commands[0].checksum for p in got] == ["ok"] * len(texts)
    assert [p.commands[0].data[4:].decode() for p in got] == texts


@given(ascii_text, st.integers(1, 30), ascii_text)
def test_alpha_cut_packet_does_not_take_the_next_one(cut: str, keep: int, text: str) -> None:
    first = wire(build_packet((commands.write_text(b"A", "fill", "hold", cut.encode()),)))
    second = wire(build_packet((commands.write_text(b"A", "fill", "hold", text.encode()),)))
    [packet] = AlphaDecoder().feed(first[: min(keep, len(first) - 1)] + second)
    assert packet.commands[0].data.endswith(text.encode())


def test_alpha_decoder_catches_a_corrupted_byte() -> None:
    data = bytearray(wire(build_packet((commands.write_text(b"A", "fill", "hold", b"HELLO"),))))
    data[data.index(b"HELLO")] = ord("J")
    [packet] = AlphaDecoder().feed(bytes(data))
    assert packet.commands[0].checksum == "bad"


def test_alpha_decoder_reads_nested_commands() -> None:
    set_time = b"\x02E 1405\x03"
    nested = b"\0\0\0\0\0\x01Z00" + set_time + checksum(set_time) + b"\x02AA\x1b0bHI\x04"
    [packet] = AlphaDecoder().feed(nested)
    assert [(c.code, c.checksum) for c in packet.commands] == [("E", "ok"), ("A", "absent")]
