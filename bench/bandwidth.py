"""Bytes per board per day on the wire: what a cellular data plan pays for.

Runs a real agent against a real broker, measures the sizes of the heartbeats and events
it really sends (idle, and rotating a 20-item playlist), then scales them to a day at
the default cadence: a heartbeat every 30 s and, when rotating, a proof of play every
10 s (the default item duration). MQTT 5 framing, the broker's PUBACKs and keepalive
pings are counted exactly; TCP/IP and TLS overheads are estimates, printed separately.
Usage: python bench/bandwidth.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# Run as `python bench/bandwidth.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import board, machine
from tests.support import COMMUNE_TOPIC, Message, board_topic, playlist, text_item

DAY = 86_400
HEARTBEAT_S = 30  # the default interval
ITEM_S = 10  # the default duration_s
KEEPALIVE_S = 30
TCPIP_PER_SEGMENT = 52  # IPv4 20 + TCP 20 + timestamp option 12
SEGMENTS_PER_MESSAGE = 3  # PUBLISH, PUBACK, and (at most) one bare ACK
TLS_PER_RECORD = 29  # TLS 1.2/1.3 AES-GCM: header 5 + nonce 8 + tag 16 (1.3: 22)

NOTICE = "Lịch tiêm chủng tuần này: trạm y tế phường tiêm vắc-xin sởi cho trẻ từ 9 tháng tuổi."


def mqtt_publish_bytes(message: Message) -> int:
    """A QoS 1 MQTT 5 PUBLISH with no properties, plus its 4-byte PUBACK."""
    body = 2 + len(message.topic.encode()) + 2 + 1 + len(message.payload)
    length_bytes = 1 if body < 128 else 2 if body < 16_384 else 3
    return 1 + length_bytes + body + 4


def measure(seconds: float, rotating: bool) -> tuple[list[Message], list[Message]]:
    with board((1920, 1080), heartbeat_s=1) as (observer, _agent):
        if rotating:
            items = [
                text_item(f"muc-{n}", f"{NOTICE} ({n + 1}/20)", duration_s=1) for n in range(20)
            ]
            observer.publish(COMMUNE_TOPIC, playlist(1, items))
        mark = observer.mark()
        time.sleep(seconds)
        beats = observer.find(lambda m: m.topic == board_topic("heartbeat"), start=mark)
        events = observer.find(lambda m: m.topic == board_topic("events"), start=mark)
    return beats, events


def per_day(beats: list[Message], events: list[Message], rotating: bool) -> dict[str, float]:
    heartbeat = statistics.mean(mqtt_publish_bytes(m) for m in beats)
    plays = [m for m in events if b'"playback.started"' in m.payload]
    event = statistics.mean(mqtt_publish_bytes(m) for m in plays) if plays else 0.0
    messages = DAY / HEARTBEAT_S + (DAY / ITEM_S if rotating else 0)
    mqtt = DAY / HEARTBEAT_S * heartbeat + (DAY / ITEM_S * event if rotating else 0)
    mqtt += DAY / KEEPALIVE_S * 4  # PINGREQ + PINGRESP, at most one pair per keepalive
    tcpip = messages * SEGMENTS_PER_MESSAGE * TCPIP_PER_SEGMENT
    tls = messages * 2 * TLS_PER_RECORD
    return {
        "heartbeat": heartbeat,
        "event": event,
        "messages": messages,
        "mqtt": mqtt,
        "tcpip": tcpip,
        "tls": tls,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"sizes measured over {args.seconds:.0f} s per case; a day at one heartbeat per "
        f"{HEARTBEAT_S} s and, rotating, one proof of play per {ITEM_S} s"
    )
    for name, rotating in (("idle", False), ("20-item playlist rotating", True)):
        day = per_day(*measure(args.seconds, rotating), rotating)
        total = day["mqtt"] + day["tcpip"]
        print(f"  {name}:")
        print(
            f"    heartbeat {day['heartbeat']:.0f} B, proof of play {day['event']:.0f} B "
            f"(MQTT framing and PUBACK included), {day['messages']:.0f} messages/day"
        )
        print(
            f"    MQTT {day['mqtt'] / 1e6:.2f} MB/day; with TCP/IP ≈ {total / 1e6:.2f} MB/day; "
            f"with TLS ≈ {(total + day['tls']) / 1e6:.2f} MB/day "
            f"(≈ {(total + day['tls']) * 30 / 1e6:.0f} MB/month)"
        )


if __name__ == "__main__":
    main()
