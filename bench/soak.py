"""Soak: a board rotating every second while its broker restarts every minute and junk
floods its command topic every five minutes.

Prints the agent's RSS and open file descriptors every 10 s and, at the end, their growth
after the first cycle (target: none), and the heartbeat `seq` gaps the dashboard saw
(target: 0; duplicates are allowed, QoS 1 is at least once).

Usage: python bench/soak.py [--minutes 30] [--restart-every 60] [--flood-every 300]
       [--flood 5000]

The broker keeps its sessions across restarts (persistence, clean shutdowns), as a city
broker does, and the dashboard stand-in has a persistent session: so a message the
board sent while the dashboard was reconnecting still reaches it, and a gap is the
board's loss, not the test's.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

# Run as `python bench/soak.py`: the checkout goes on the path for `bench` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import machine
from tests.support import (
    COMMUNE_TOPIC,
    AgentProcess,
    Broker,
    board_topic,
    playlist,
    text_item,
    write_config,
)

SAMPLE_EVERY_S = 10


class PersistentBroker(Broker):
    """Mosquitto that keeps sessions and queued messages across clean restarts."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        text = self.conf.read_text().replace(
            "persistence false\n",
            f"persistence true\npersistence_location {directory}/\nmax_queued_messages 100000\n",
        )
        self.conf.write_text(text)

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # saves the sessions
            self.process.wait(10)
            self.process = None


class Dashboard:
    """Counts the board's heartbeats by seq, through a persistent session."""

    def __init__(self, port: int) -> None:
        self.seqs: list[int] = []
        self.lock = threading.Lock()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="soak-dashboard", clean_session=False
        )
        client.on_connect = lambda c, *_a: c.subscribe(board_topic("heartbeat"), qos=1)
        client.on_message = self._on_message
        # paho annotates the delays int, but uses them as float seconds: sub-second ones work.
        client.reconnect_delay_set(0.2, 1)  # type: ignore[arg-type]
        client.connect("127.0.0.1", port)
        client.loop_start()
        self.client = client

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.seqs.append(int(json.loads(msg.payload)["seq"]))

    def summary(self) -> tuple[int, int, int]:
        """(distinct heartbeats, missing seqs between first and last, duplicates)."""
        with self.lock:
            seqs = list(self.seqs)
        distinct = set(seqs)
        if not distinct:
            return 0, 0, 0
        missing = (max(distinct) - min(distinct) + 1) - len(distinct)
        return len(distinct), missing, len(seqs) - len(distinct)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def flood(port: int, count: int) -> None:
    """Junk on the board's command topic, as fast as the broker takes it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"soak-flood-{time.time()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    topic = board_topic("cmd")
    for n in range(count):
        client.publish(topic, f"junk {n} {'x' * (n % 64)}".encode(), qos=0)
    client.publish(topic, b"{}", qos=1).wait_for_publish(30)
    client.disconnect()
    client.loop_stop()


NOTICES = ("Lịch tiêm chủng tuần này", "Mất điện tổ dân phố 5", "Nước sinh hoạt cấp lại")


def publish_content(port: int) -> None:
    items = [
        text_item(f"muc-{n}", f"Thông báo số {n + 1}: {NOTICES[n % 3]}", duration_s=1)
        for n in range(20)
    ]
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="soak-publisher")
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    publisher.publish(COMMUNE_TOPIC, playlist(1, items), qos=1, retain=True).wait_for_publish(10)
    publisher.disconnect()
    publisher.loop_stop()


Sample = tuple[float, float, int]  # seconds since start, RSS in MB, open fds


def soak(args: argparse.Namespace, directory: Path) -> tuple[list[Sample], Dashboard, int, int]:
    """Run the soak; returns the samples, the dashboard, and how many restarts and floods."""
    broker = PersistentBroker(directory)
    broker.start()
    dashboard = Dashboard(broker.port)
    config = write_config(directory, port=broker.port, heartbeat_s=1, size=(640, 360))
    agent = AgentProcess(config, directory / "agent.log").start()
    assert agent.process is not None
    process = psutil.Process(agent.process.pid)
    publish_content(broker.port)
    print("  t (s)   RSS (MB)   fds   heartbeats   missing seqs")
    started = time.monotonic()
    next_sample, next_restart = started, started + args.restart_every
    next_flood = started + args.flood_every / 2  # the first cycle holds a flood too
    samples: list[Sample] = []
    restarts = floods = 0
    try:
        while (now := time.monotonic()) - started < args.minutes * 60:
            if not agent.alive():
                raise SystemExit(f"the agent exited:\n{agent.log()[-3000:]}")
            if now >= next_restart:
                broker.restart()
                restarts += 1
                next_restart += args.restart_every
            if now >= next_flood:
                flood(broker.port, args.flood)
                floods += 1
                next_flood += args.flood_every
            if now >= next_sample:
                sample = (now - started, process.memory_info().rss / 2**20, process.num_fds())
                samples.append(sample)
                distinct, missing, _dups = dashboard.summary()
                print(
                    f"  {sample[0]:6.0f}   {sample[1]:8.1f}   {sample[2]:4d}   {distinct:10d}   "
                    f"{missing:6d}",
                    flush=True,
                )
                next_sample += SAMPLE_EVERY_S
            time.sleep(0.1)
        time.sleep(5)  # the last heartbeats through
    finally:
        agent.kill()
        dashboard.close()
        broker.stop()
    return samples, dashboard, restarts, floods


def report(samples: list[Sample], cycle: float) -> None:
    first = [s for s in samples if s[0] <= cycle]
    later = [s for s in samples if s[0] > cycle]
    if not (first and later):
        print("run longer than one cycle to see growth after it")
        return
    base_rss, base_fds = first[-1][1], first[-1][2]
    top_rss, top_fds = max(s[1] for s in later), max(s[2] for s in later)
    print(f"after the first cycle ({cycle:g} s): RSS {base_rss:.1f} MB, {base_fds} fds")
    print(
        f"  later: max RSS {top_rss:.1f} MB (growth {top_rss - base_rss:+.1f} MB), "
        f"final {later[-1][1]:.1f} MB; max fds {top_fds} (growth {top_fds - base_fds:+d}), "
        f"final {later[-1][2]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--restart-every", type=float, default=60)
    parser.add_argument("--flood-every", type=float, default=300)
    parser.add_argument("--flood", type=int, default=5000, help="junk messages per flood")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"soak: {args.minutes:g} min, 20 items at 1 s, broker restart every "
        f"{args.restart_every:g} s, {args.flood} junk commands every {args.flood_every:g} s"
    )
    with tempfile.TemporaryDirectory(prefix="signage-soak-") as tmp:
        samples, dashboard, restarts, floods = soak(args, Path(tmp))
    distinct, missing, dups = dashboard.summary()
    print(f"broker restarts: {restarts}, floods: {floods}")
    print(f"heartbeats seen: {distinct}, missing seqs: {missing} (target 0), duplicates: {dups}")
    report(samples, max(args.flood_every, args.restart_every))


if __name__ == "__main__":
    main()
