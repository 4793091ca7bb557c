"""A city at scale on one machine (issue 15): a city Mosquitto, two regional Mosquittos
bridged to it, real agents and simulated boards on the regional brokers, the fleet
service on the city broker.

Measured: a severe alert published at the city broker → `alert.started` on every board
(from the publisher's send time, the alert's `sent`, to each board's `received_at`: one
machine, one clock), for the real agents and the simulated boards separately; the fleet
service's ingest rate (rows it stored per second) and CPU at N boards × 30 s heartbeats,
and in bursts with shorter intervals (to find its ceiling); the API's and the page's
response times at that size. Everything this starts is stopped at the end.

Usage: python bench/fleet_scale.py [--boards 2000] [--agents 20] [--duration 120]
       [--alerts 10] [--burst 5 2 1] [--burst-s 30] [--quick] [--json PATH]
Numbers and their reading: docs/performance.md ("Fleet at city scale"), docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import machine
from bench.board_sim import places
from bench.scale_measure import (
    CpuMeter,
    alert_summary,
    print_report,
    time_requests,
    wait_reach,
)
from bench.scale_parts import (
    ROOT,
    CityObserver,
    FleetService,
    fleet_available,
    start_agents,
    start_brokers,
    wait_bridged,
)
from tests.support import REPO, AgentProcess, Broker, playlist, text_item

REGIONS = ["region-a", "region-b"]


class SimProcess:
    """One `python -m bench.board_sim` process: the simulated boards of one region."""

    def __init__(self, port: int, prefix: str, count: int, item_s: float) -> None:
        self.prefix, self.count = prefix, count
        command = [
            sys.executable, "-m", "bench.board_sim", "--port", str(port), "--prefix", prefix,
            "--count", str(count), "--item-s", str(item_s),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self.stats: dict[str, Any] = {}

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())

    def wait_ready(self, timeout: float) -> None:
        line = self.lines.get(timeout=timeout)
        if not line.startswith("ready"):
            raise RuntimeError(f"board_sim {self.prefix}: {line}")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.send("stop")
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        while not self.lines.empty():
            line = self.lines.get()
            if line.startswith("stats "):
                self.stats = json.loads(line[6:])


def alert(alert_id: str, sent: datetime, msg_type: str = "alert") -> bytes:
    return json.dumps(
        {
            "type": "alert", "id": alert_id, "msg_type": msg_type, "status": "actual",
            "sender": "hanoi-civil-defense", "sent": sent.isoformat(),
            "expires": (sent + timedelta(hours=1)).isoformat(), "severity": "severe",
            "urgency": "immediate", "headline": "Bão số 3 đổ bộ: người dân ở trong nhà",
            "description": "Gió mạnh cấp 10, giật cấp 12, mưa rất to từ chiều nay đến sáng mai.",
        },
        ensure_ascii=False,
    ).encode()  # fmt: skip


def stored_counts(db: Path) -> dict[str, int]:
    """What the fleet service has stored: events, heartbeats (the sum of each board's
    latest `seq`: every board here starts at seq 1) and heartbeat history rows."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as connection:
        events = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        beats = connection.execute("SELECT coalesce(sum(last_heartbeat_seq), 0) FROM boards")
        heartbeats = beats.fetchone()[0]
        boards = connection.execute("SELECT count(*) FROM boards").fetchone()[0]
    return {"events": events, "heartbeats": heartbeats, "boards": boards}


def ingest_window(
    fleet: FleetService, observer: CityObserver, seconds: float, meters: dict[str, CpuMeter]
) -> dict[str, Any]:
    """Over `seconds`: rows stored per second, messages offered per second at the city,
    and the CPU of each measured process (percent of one core)."""
    for meter in meters.values():
        meter.begin()
    before, offered_before, t0 = stored_counts(fleet.db_path), _offered(observer), time.monotonic()
    time.sleep(seconds)
    after, offered_after, t1 = stored_counts(fleet.db_path), _offered(observer), time.monotonic()
    wall = t1 - t0
    stored = (after["events"] - before["events"]) + (after["heartbeats"] - before["heartbeats"])
    return {
        "seconds": round(wall, 1),
        "offered_per_s": round((offered_after - offered_before) / wall, 1),
        "stored_per_s": round(stored / wall, 1),
        "boards_stored": after["boards"],
        "cpu_percent": {name: meter.percent() for name, meter in meters.items()},
    }


def _offered(observer: CityObserver) -> int:
    return observer.heartbeats + observer.events


def run_alerts(
    observer: CityObserver, agents: set[str], sims: set[str], count: int
) -> list[dict[str, Any]]:
    everyone = agents | sims
    results = []
    for n in range(count):
        alert_id = f"scale-{n}"
        topic = f"{ROOT}/alert/city/{alert_id}"
        sent = datetime.now(UTC)
        observer.publish(topic, alert(alert_id, sent), retain=True)
        complete = observer.wait(
            lambda a=alert_id: len(observer.receipts.get(a, {})) >= len(everyone), 90
        )
        receipts = dict(observer.receipts.get(alert_id, {}))
        results.append(
            {"alert_id": alert_id, "sent": sent, "receipts": receipts, "complete": complete}
        )
        observer.publish(topic, alert(alert_id, datetime.now(UTC), "cancel"), retain=True)
        time.sleep(2)
        observer.publish(topic, b"", retain=True)  # the retained alert is gone for good
        time.sleep(2)
    return results


@dataclass
class City:
    """Everything the bench started, ready: brokers, fleet, observer, boards."""

    city: Broker
    regional: dict[str, Broker]
    fleet: FleetService | None
    api_skip: str | None
    observer: CityObserver
    sims: list[SimProcess]
    agents: list[AgentProcess]
    agent_ids: set[str]
    sim_ids: set[str]


def start_city(stack: ExitStack, directory: Path, args: argparse.Namespace) -> City:
    """Start every part, each stopped by `stack`; wait until every board is online."""
    city, regional = start_brokers(directory, REGIONS)
    stack.callback(city.kill)
    for broker in regional.values():
        stack.callback(broker.kill)
    wait_bridged(city, regional)
    fleet: FleetService | None = None
    api_skip = skipped = fleet_available()
    if skipped is None:
        fleet = FleetService(directory, city.port)
        api_skip = fleet.add_user()
        fleet.start()
        stack.callback(fleet.stop)
    observer = CityObserver(city.port)
    stack.callback(observer.close)
    items = [text_item(f"tin-{n}", f"Thông báo số {n}", duration_s=10) for n in range(3)]
    observer.publish(f"{ROOT}/content/city", playlist(1, items), retain=True)
    sims = []
    for n, broker in enumerate(regional.values()):
        share = args.boards // len(regional) + (n < args.boards % len(regional))
        sims.append(SimProcess(broker.port, f"sim-{n}", share, args.item_s))
        stack.callback(sims[-1].stop)
    agents = start_agents(directory / "agents", args.agents, [b.port for b in regional.values()])
    for agent in agents:
        stack.callback(agent.kill)
    for sim in sims:
        sim.wait_ready(300)
    everyone = args.boards + args.agents
    if not observer.wait(lambda: len(observer.online) >= everyone, 300):
        raise SystemExit(f"only {len(observer.online)} boards online at the city after 300 s")
    return City(
        city, regional, fleet, api_skip, observer, sims, agents,
        agent_ids={f"agent-{n:02d}" for n in range(args.agents)},
        sim_ids={p.board_id for sim in sims for p in places(sim.prefix, sim.count)},
    )  # fmt: skip


def cpu_meters(parts: City) -> dict[str, CpuMeter]:
    fleet = parts.fleet
    brokers = (parts.city, *parts.regional.values())
    return {
        "fleet": CpuMeter([fleet.process.pid] if fleet and fleet.process else []),
        "mosquitto (3)": CpuMeter([b.process.pid for b in brokers if b.process]),
        "simulator": CpuMeter([s.process.pid for s in parts.sims]),
        "agents": CpuMeter([a.process.pid for a in parts.agents if a.process]),
    }


def measure(parts: City, args: argparse.Namespace, results: dict[str, Any]) -> None:
    meters = cpu_meters(parts)
    fleet, observer = parts.fleet, parts.observer
    time.sleep(min(30.0, args.duration / 4))  # every board's first heartbeat is in
    if fleet is not None:
        results["steady"] = ingest_window(fleet, observer, args.duration, meters)
    else:
        for meter in meters.values():
            meter.begin()
        time.sleep(args.duration)
        results["steady"] = {"cpu_percent": {k: m.percent() for k, m in meters.items()}}
        results["fleet_skipped"] = fleet_available()
    print(f"steady: {results['steady']}", flush=True)
    alerts = run_alerts(observer, parts.agent_ids, parts.sim_ids, args.alerts)
    results["alerts"] = {
        "agents": alert_summary(alerts, parts.agent_ids),
        "simulated": alert_summary(alerts, parts.sim_ids),
        "all": alert_summary(alerts, parts.agent_ids | parts.sim_ids),
    }
    if fleet is not None and parts.api_skip is None and fleet.user is not None:
        base = f"http://127.0.0.1:{fleet.http_port}"
        board = min(parts.sim_ids)
        # The API is timed once the fleet holds the last alert's whole reach: 10 alerts
        # leave it 2 events per board each to store, a backlog of tens of seconds.
        results["reach"] = wait_reach(
            base, alerts[-1]["alert_id"], len(parts.agent_ids | parts.sim_ids), fleet.user,
            sent=alerts[-1]["sent"], timeout=600,
        )  # fmt: skip
        print(f"reach: {results['reach']}", flush=True)
        paths = [
            "/api/boards", f"/api/boards/{board}", f"/api/boards/{board}/events", "/api/alerts",
            f"/api/alerts/{alerts[-1]['alert_id']}", "/",
        ]  # fmt: skip
        results["api"] = time_requests(base, paths, fleet.user, args.requests)
    else:
        results["api_skipped"] = parts.api_skip
    if fleet is not None:
        results["bursts"] = bursts(parts, fleet, args, meters)


def bursts(
    parts: City, fleet: FleetService, args: argparse.Namespace, meters: dict[str, CpuMeter]
) -> list[dict[str, Any]]:
    windows = []
    for interval in args.burst:
        for sim in parts.sims:
            sim.send(f"interval {interval}")
        time.sleep(interval)  # the new schedule has started everywhere
        window = ingest_window(fleet, parts.observer, args.burst_s, meters)
        windows.append({"heartbeat_s": interval, **window})
        print(f"burst {interval} s: {window}", flush=True)
    for sim in parts.sims:
        sim.send("interval 30")
    return windows


def main() -> None:
    args = parse_args()
    results: dict[str, Any] = {
        "machine": machine(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "boards": args.boards, "agents": args.agents, "command": " ".join(sys.argv),
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="signage-scale-") as tmp, ExitStack() as stack:
        started = time.monotonic()
        parts = start_city(stack, Path(tmp), args)
        results["all_online_s"] = round(time.monotonic() - started, 1)
        print(f"{len(parts.observer.online)} boards online after {results['all_online_s']} s")
        measure(parts, args, results)
        for sim in parts.sims:
            sim.stop()
        results["simulator_stats"] = {sim.prefix: sim.stats for sim in parts.sims}
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="the fleet at city scale (issue 15)")
    parser.add_argument("--boards", type=int, default=2000, help="simulated boards")
    parser.add_argument("--agents", type=int, default=20, help="real signage-agent processes")
    parser.add_argument("--duration", type=float, default=120, help="steady window, seconds")
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--item-s", type=float, default=20, help="simulated items' duration")
    parser.add_argument("--requests", type=int, default=20, help="per API path")
    parser.add_argument("--burst", type=float, nargs="*", default=[5, 2, 1], help="intervals")
    parser.add_argument("--burst-s", type=float, default=30, help="each burst window")
    parser.add_argument("--quick", action="store_true", help="200 boards, 4 agents, 30 s")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    args = parser.parse_args()
    if args.quick:
        args.boards, args.agents, args.duration = 200, 4, 30
        args.alerts, args.burst, args.burst_s, args.requests = 3, [2], 15, 5
    return args


if __name__ == "__main__":
    main()
