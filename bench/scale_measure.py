"""Measuring for bench/fleet_scale.py: CPU of process groups, alert receipts summed up,
HTTP response times, and the printed table."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import psutil

from bench._harness import percentile


class CpuMeter:
    """CPU time of a group of processes over a window, as percent of one core."""

    def __init__(self, pids: list[int]) -> None:
        self.processes = []
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.processes.append(psutil.Process(pid))
        self._start = 0.0
        self._at = 0.0

    def _used(self) -> float:
        total = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def begin(self) -> None:
        self._start, self._at = self._used(), time.monotonic()

    def percent(self) -> float | None:
        if not self.processes:
            return None
        wall = time.monotonic() - self._at
        return round(100 * (self._used() - self._start) / wall, 1) if wall > 0 else None


def _stats(samples: list[float]) -> dict[str, float] | None:
    if not samples:
        return None
    return {
        "p50": round(percentile(samples, 50), 1),
        "p95": round(percentile(samples, 95), 1),
        "max": round(max(samples), 1),
    }


def alert_summary(alerts: list[dict[str, Any]], boards: set[str]) -> dict[str, Any]:
    """Over every alert: each board's latency (its `received_at` minus the alert's
    `sent`), the time until the last board of `boards` had it, and until the city saw
    the last receipt; boards that never answered."""
    latencies: list[float] = []
    to_all: list[float] = []
    receipts_back: list[float] = []
    missing = 0
    for alert in alerts:
        sent = alert["sent"]
        receipts = [r for b, r in alert["receipts"].items() if b in boards]
        missing += len(boards) - len(receipts)
        mine = [(r.received_at - sent).total_seconds() * 1000 for r in receipts]
        latencies += mine
        if mine and len(receipts) == len(boards):
            to_all.append(max(mine))
            receipts_back.append(max((r.seen_at - sent).total_seconds() * 1000 for r in receipts))
    return {
        "boards": len(boards),
        "alerts": len(alerts),
        "latency_ms": _stats(latencies),
        "time_to_all_ms": _stats(to_all),
        "receipts_at_city_ms": _stats(receipts_back),
        "missing_receipts": missing,
    }


def time_requests(base: str, paths: list[str], user: tuple[str, str], count: int) -> dict[str, Any]:
    """GET each path `count` times with HTTP Basic auth, gzip accepted: status, bytes on
    the wire, p50/p95/max ms."""
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    results: dict[str, Any] = {}
    for path in paths:
        samples: list[float] = []
        status, size = 0, 0
        for _ in range(count):
            # As a browser asks: gzip (the size recorded is what crossed the wire).
            headers = {"Authorization": f"Basic {token}", "Accept-Encoding": "gzip"}
            request = urllib.request.Request(base + path, headers=headers)
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    body = response.read()
                    status, size = response.status, len(body)
            except urllib.error.HTTPError as error:
                status, size = error.code, 0
            except OSError as error:
                results[path] = {"error": str(error)}
                break
            samples.append((time.perf_counter() - start) * 1000)
        else:
            results[path] = {"status": status, "bytes": size, "ms": _stats(samples)}
    return results


def wait_reach(
    base: str, alert_id: str, boards: int, user: tuple[str, str], *, sent: datetime, timeout: float
) -> dict[str, Any]:
    """Poll the fleet's reach report of `alert_id` until it shows `boards` boards: how long
    after the alert was `sent` the operations room saw the whole reach, and how many
    boards it showed when it gave up. The fleet stores every receipt first: this is the
    ingest backlog an alert storm leaves, as the reach page lives it."""
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    request = urllib.request.Request(
        f"{base}/api/alerts/{alert_id}", headers={"Authorization": f"Basic {token}"}
    )
    showing, deadline = 0, time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with contextlib.suppress(urllib.error.HTTPError):
            with urllib.request.urlopen(request, timeout=60) as response:
                showing = len(json.load(response)["boards_showing"])
            if showing >= boards:
                after = (datetime.now(UTC) - sent).total_seconds()
                return {"complete_after_s": round(after, 1), "showing": showing}
        time.sleep(0.5)
    return {"complete_after_s": None, "showing": showing}


def _row(name: str, summary: dict[str, Any]) -> str:
    def cell(key: str) -> str:
        s = summary.get(key)
        return (
            f"{s['p50']:7.1f} {s['p95']:7.1f} {s['max']:7.1f}" if s else "      –       –       –"
        )

    return (
        f"  {name:10s} {summary['boards']:6d}  {cell('latency_ms')}   {cell('time_to_all_ms')}"
        f"   {cell('receipts_at_city_ms')}   {summary['missing_receipts']}"
    )


def print_report(results: dict[str, Any]) -> None:
    print(f"\nmachine: {results['machine']} (shared with other sessions)")
    print(f"{results['boards']} simulated boards + {results['agents']} agents, {results['date']}")
    print(f"all online at the city broker after {results.get('all_online_s')} s")
    alerts = results.get("alerts")
    if alerts:
        print(
            f"\nsevere alert at the city broker → alert.started, {alerts['all']['alerts']} alerts"
        )
        print(
            "  boards      count  latency p50/p95/max ms  time to all p50/p95/max"
            "   receipts at city p50/p95/max   missing"
        )
        for name, key in (("agents", "agents"), ("simulated", "simulated"), ("all", "all")):
            print(_row(name, alerts[key]))
    steady = results.get("steady", {})
    print("\nsteady load (30 s heartbeats): CPU % of one core: " + str(steady.get("cpu_percent")))
    if "stored_per_s" in steady:
        print(
            f"  fleet ingest: offered {steady['offered_per_s']} msg/s at the city, "
            f"stored {steady['stored_per_s']} rows/s, {steady['boards_stored']} boards stored"
        )
    for burst in results.get("bursts", []):
        print(
            f"  burst, heartbeats every {burst['heartbeat_s']} s: offered {burst['offered_per_s']}"
            f" msg/s, stored {burst['stored_per_s']} rows/s, CPU {burst['cpu_percent']}"
        )
    if "reach" in results:
        print(f"  the fleet's reach report of the last alert: {results['reach']}")
    for path, timing in results.get("api", {}).items():
        print(f"  GET {path}: {timing}")
    for key in ("fleet_skipped", "api_skipped"):
        if results.get(key):
            print(f"  {key.replace('_', ' ')}: {results[key]}")
    print(f"simulator: {results.get('simulator_stats')}")
