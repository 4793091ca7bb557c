"""The cost of signed messages on the board (issue 13): the gate's time per message (JWS
read, Ed25519 verification, the payload handed on) for a 1 KB JSON alert, a 100 KB
playlist and a CAP document; the same for the unsigned message (the gate's look only);
the memory the crypto library (PyNaCl) adds to a running board, measured in a fresh process that
has built the whole agent first (what `run` holds) and then checks one signature; and
publish → first alert frame through a real Mosquitto on a board with `[trust]`
(signatures optional), signed and unsigned alerts taking turns, so the difference is
what checking a signature adds (target: ≤ 1 ms at p99).

Run from a checkout: `python bench/trust.py --runs 2000 --samples 40`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.storage import StorageHealth
from agent.trust.gate import TrustGate
from agent.trust.keyring import KeyringState
from agent.trust.keys import TrustedKey
from bench._harness import REPO, machine, percentile
from tests.support import playlist, text_item
from tests.test_e2e_alerts import alert
from tests.trust_signer import SigningKey

KEY = SigningKey("pctt-2026")
NOW = datetime.now(UTC)


def messages() -> dict[str, bytes]:
    one_kb = alert("bao-so-3", description="Gió mạnh cấp 10. " * 40)
    items = [text_item(f"tin-{n}", "Lịch tiêm chủng phường Phúc Xá " * 8) for n in range(300)]
    hundred_kb = playlist(1, items)
    cap = (REPO / "docs" / "examples" / "cap" / "vn-storm-bao-so-3.xml").read_bytes()
    return {
        f"alert, JSON ({len(one_kb)} B)": one_kb,
        f"playlist ({len(hundred_kb) // 1024} KiB)": hundred_kb,
        f"alert, CAP ({len(cap)} B)": cap,
    }


def gate(directory: Path) -> TrustGate:
    key = TrustedKey(
        kid=KEY.kid,
        public_bytes=KEY.public_raw,
        may_sign=frozenset({"alert", "playlist"}),
        scopes=None,
        not_after=None,
        root=True,
    )
    return TrustGate(
        require_signatures=False,
        keyring=KeyringState([key], directory, StorageHealth()),
        clock_synced=lambda: True,
        max_bytes=1 << 20,
    )


def _admit(
    trust: TrustGate, kind: Literal["alert", "playlist"], payload: bytes
) -> Callable[[], object]:
    return lambda: trust.admit(kind, "city", payload, NOW)


def timed_us(action: Callable[[], object], runs: int) -> list[float]:
    action()  # warm-up: the first verification builds the key object
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


RSS_PROBE = """
import json, sys
from pathlib import Path
def rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
from agent.config import load_config
from agent.core import Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
agent = Agent(load_config(Path(sys.argv[1]), {}), output=HeadlessOutput((320, 180)))
agent.link = None
before = rss_kib()
loaded_before = "nacl" in sys.modules
agent.trust.load()  # what Agent.start does first: the keyring, and the keys' verifiers
after = rss_kib()
signed = Path(sys.argv[2]).read_bytes()
agent.handle(Received("signage/v1/alert/city/bao-so-3", signed, retained=False))
print(json.dumps({"before": before, "after": after, "loaded_before": loaded_before,
                  "loaded_after": "nacl" in sys.modules,
                  "shown": agent.heartbeat().alerts_active}))
"""


def rss_added(directory: Path) -> dict[str, object]:
    jwk = KEY.write_jwk(directory)
    config = directory / "agent.toml"
    config.write_text(
        '[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\nname = "B"\n'
        f'[display]\noutput = "headless"\n[storage]\nstate_dir = "{directory / "state"}"\n'
        '[mqtt]\nhost = "127.0.0.1"\nport = 1\n'
        f'[trust]\nrequire_signatures = true\n[[trust.keys]]\nkid = "{KEY.kid}"\n'
        f'public_key = "{jwk}"\nmay_sign = ["alert"]\n',
        encoding="utf-8",
    )
    signed = directory / "alert.jws"
    signed.write_bytes(KEY.sign(alert("bao-so-3")))
    result = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(config), str(signed)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"SDL_VIDEODRIVER": "dummy", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    found: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def frame_latency(directory: Path, samples: int) -> dict[str, list[float]]:
    """Publish → `playback.started` of the alert (the frame presented), in ms, for signed
    and unsigned severe alerts in turns, while content rotates every second."""
    from tests.support import (
        COMMUNE_TOPIC,
        ROOT,
        AgentProcess,
        Broker,
        Observer,
        board_topic,
        event_matcher,
        write_config,
    )
    from tests.trust_signer import trust_toml

    events = board_topic("events")
    directory.mkdir()
    broker = Broker(directory)
    broker.start()
    observer = Observer(broker.port, [board_topic("#")]).connect()
    trust = trust_toml([(KEY.write_jwk(directory), KEY.kid, ["alert"])], require=False)
    config = write_config(directory, port=broker.port, size=(1920, 1080), extra=trust)
    agent = AgentProcess(config, directory / "agent.log").start()
    found: dict[str, list[float]] = {"signed": [], "unsigned": []}
    try:
        observer.wait_for(lambda m: m.topic == board_topic("status"), timeout=20)
        items = [text_item(f"tin-{n}", f"Thông báo số {n}", duration_s=1) for n in range(5)]
        observer.publish(COMMUNE_TOPIC, playlist(1, items))
        observer.wait_for(event_matcher(events, "playback.started"))
        for n in range(samples * 2):
            kind = "signed" if n % 2 == 0 else "unsigned"
            alert_id = f"bao-{n}"
            payload, cancel = alert(alert_id), alert(alert_id, msg_type="cancel")
            if kind == "signed":
                payload, cancel = KEY.sign(payload), KEY.sign(cancel)
            topic = f"{ROOT}/alert/city/{alert_id}"
            mark = observer.mark()
            sent = time.monotonic()
            observer.publish(topic, payload)
            shown = observer.wait_for(
                event_matcher(events, "playback.started", item_id=alert_id), start=mark
            )
            found[kind].append((shown.at - sent) * 1000)
            mark = observer.mark()
            time.sleep(0.1)
            observer.publish(topic, cancel)
            observer.wait_for(event_matcher(events, "alert.ended", alert_id=alert_id), start=mark)
            time.sleep(0.3)
    finally:
        agent.kill()
        observer.close()
        broker.kill()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=40, help="alerts of each kind, end to end")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="signage-bench-trust-") as tmp:
        directory = Path(tmp)
        trust = gate(directory)
        for name, payload in messages().items():
            signed = KEY.sign(payload)
            kind: Literal["alert", "playlist"] = (
                "playlist" if name.startswith("playlist") else "alert"
            )
            checked = timed_us(_admit(trust, kind, signed), args.runs)
            looked = timed_us(_admit(trust, kind, payload), args.runs)
            print(
                f"{name}: signed p50 {statistics.median(checked):.0f} µs, "
                f"p99 {percentile(checked, 99):.0f} µs; unsigned p50 "
                f"{statistics.median(looked):.1f} µs ({args.runs} runs, JWS {len(signed)} B)"
            )
        memory = rss_added(directory)
        latency = frame_latency(directory / "e2e", args.samples) if args.samples else {}
    before, after = int(str(memory["before"])), int(str(memory["after"]))
    print(
        f"RSS of a board with [trust] after construction: {before / 1024:.1f} MiB "
        f"(PyNaCl loaded: {memory['loaded_before']}); after start's trust.load(): "
        f"{after / 1024:.1f} MiB (+{(after - before) / 1024:.1f} MiB, PyNaCl loaded: "
        f"{memory['loaded_after']}; shown: {memory['shown']})"
    )
    for which, samples in latency.items():
        # Said apart: the first signed sample is the board's first alert ever (the alert
        # layout, its fonts); PyNaCl was loaded at start (TrustDesk.load).
        rest = samples[1:]
        print(
            f"publish → first alert frame, {which} ({len(rest)} samples after the first, "
            f"headless 1920x1080, content rotating): p50 {percentile(rest, 50):.1f} ms, "
            f"p99 {percentile(rest, 99):.1f} ms; the first: {samples[0]:.1f} ms"
        )


if __name__ == "__main__":
    main()
