"""Trust wired into the core (CONTRACT §7), in-process with an injected clock: the gate
in front of playlists, alerts and commands, the keyring topic, the inbox's physical
access, the heartbeat's `trust`, and `cryptography` loaded only when a signature is
checked."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.core import Agent
from agent.inbox import InboxFile
from agent.link_messages import Received
from agent.output import HeadlessOutput
from tests.support import COMMUNE_TOPIC, playlist, text_item
from tests.test_core import ALERT_TOPIC, FakeClock, alert_payload, events, make_config, now_showing
from tests.trust_signer import SigningKey, keyring

REPO = Path(__file__).resolve().parent.parent
KEYRING_TOPIC = "signage/v1/trust"
COMMAND_TOPIC = "signage/v1/board/hn-01/cmd"
RING, ALERTS, CONTENT = SigningKey("city-root"), SigningKey("alerts-2026"), SigningKey("content")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def trust_section(tmp_path: Path, *, require: bool = True) -> dict[str, Any]:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    entries = [(RING, ["keyring", "command"]), (CONTENT, ["playlist"])]
    return {
        "require_signatures": require,
        "keys": [
            {"kid": key.kid, "public_key": str(key.write_jwk(keys)), "may_sign": kinds}
            for key, kinds in entries
        ],
    }


FIRST_RING = RING.sign(keyring(1, [(ALERTS, ["alert"])], []))  # the alert key's first keyring


def board(tmp_path: Path, clock: FakeClock, **trust: Any) -> Agent:
    """A board whose config trusts the city's root (keyrings, commands) and a content key;
    the alert key comes with the first keyring."""
    config = make_config(tmp_path, trust=trust_section(tmp_path, **trust))
    made = Agent(config, clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None  # in-process: events go to the log only
    made.trust.load()
    if made.trust.keyring is not None and made.trust.keyring.version is None:
        publish(made, FIRST_RING, KEYRING_TOPIC, retained=True)
    return made


@pytest.fixture
def agent(tmp_path: Path, clock: FakeClock) -> Iterator[Agent]:
    made = board(tmp_path, clock)
    yield made
    close(made)


def close(agent: Agent) -> None:
    agent.fetcher.stop()
    agent.seq.close()


def publish(agent: Agent, body: bytes, topic: str, *, retained: bool = False) -> None:
    agent.handle(Received(topic, body, retained=retained))
    agent.tick()


def rejections(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [e["errors"][0]["message"] for e in events(caplog, "content.rejected")]


def test_a_signed_alert_is_shown_and_a_forged_one_changes_nothing(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(
        agent, CONTENT.sign(playlist(1, [text_item("a", "Lịch", duration_s=600)])), COMMUNE_TOPIC
    )
    assert now_showing(agent) == ("a", "commune")
    for forged in (
        alert_payload(),  # unsigned
        CONTENT.sign(alert_payload()),  # a key that may sign playlists only
        SigningKey("alerts-2026").sign(alert_payload()),  # the right kid, another key
    ):
        publish(agent, forged, ALERT_TOPIC)
        assert now_showing(agent) == ("a", "commune")
    assert [reason.split(":")[0] for reason in rejections(caplog)] == [
        "unsigned",
        "not allowed to sign this kind",
        "bad signature",
    ]
    publish(agent, ALERTS.sign(alert_payload()), ALERT_TOPIC)
    assert now_showing(agent) == ("bao-so-3", "alert")
    assert agent.heartbeat().alerts_active == ["bao-so-3"]


def test_an_empty_retained_payload_cannot_end_an_alert_when_signatures_are_required(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publish(agent, ALERTS.sign(alert_payload()), ALERT_TOPIC)
    publish(agent, b"", ALERT_TOPIC, retained=True)
    assert agent.heartbeat().alerts_active == ["bao-so-3"]
    assert rejections(caplog) == [
        "unsigned: an empty payload without a signature; this board requires them"
    ]
    publish(agent, ALERTS.sign(alert_payload(msg_type="cancel")), ALERT_TOPIC)
    assert agent.heartbeat().alerts_active == []


def test_a_keyring_rotates_the_alert_key_and_survives_a_restart(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    new = SigningKey("alerts-2027")
    first = board(tmp_path, clock)
    unsigned_ring = keyring(2, [(new, ["alert"])], ["alerts-2026"])
    publish(first, unsigned_ring, KEYRING_TOPIC, retained=True)
    publish(first, ALERTS.sign(unsigned_ring), KEYRING_TOPIC, retained=True)  # may not sign it
    publish(first, RING.sign(unsigned_ring), KEYRING_TOPIC, retained=True)
    assert [reason.split(":")[0] for reason in rejections(caplog)] == [
        "unsigned",
        "not allowed to sign this kind",
    ]
    accepted = events(caplog, "trust.keyring_accepted")[-1]
    assert accepted["version"] == 2
    assert accepted["keys"] == 3  # two roots and the new alert key
    assert accepted["revoked"] == 1
    assert accepted["signed_by"] == "city-root"
    publish(first, RING.sign(unsigned_ring), KEYRING_TOPIC, retained=True)
    (ignored,) = events(caplog, "trust.keyring_ignored")
    assert ignored["reason"] == "already held"
    close(first)
    # Restarted without a broker: the keyring kept on disk is in force at once.
    caplog.clear()
    second = board(tmp_path, clock)
    heartbeat = second.heartbeat().model_dump(mode="json")
    assert heartbeat["trust"] == {
        "require_signatures": True,
        "keyring_version": 2,
        "keys": 3,
        "expiry_held": [],
    }
    publish(second, ALERTS.sign(alert_payload()), ALERT_TOPIC)
    assert rejections(caplog) == ["revoked: key 'alerts-2026' was revoked (keyring 2)"]
    publish(second, new.sign(alert_payload()), ALERT_TOPIC)
    assert now_showing(second) == ("bao-so-3", "alert")
    close(second)


def _command(command_id: str, issued_at: str | None) -> bytes:
    body: dict[str, Any] = {"type": "command", "id": command_id, "command": "ping"}
    if issued_at is not None:
        body["issued_at"] = issued_at
    return json.dumps(body).encode()


def test_a_replayed_old_signed_command_is_refused(
    agent: Agent, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    issued = clock.now().isoformat()
    signed = RING.sign(_command("dash-1", issued))
    publish(agent, signed, COMMAND_TOPIC)
    assert "command dash-1 (ping) done" in caplog.text
    clock.advance(301)  # replayed five minutes later, under a new id, or after a restart
    publish(agent, RING.sign(_command("dash-2", issued)), COMMAND_TOPIC)
    publish(agent, RING.sign(_command("dash-3", None)), COMMAND_TOPIC)
    publish(agent, ALERTS.sign(_command("dash-4", clock.now().isoformat())), COMMAND_TOPIC)
    assert [e["errors"][0] for e in events(caplog, "content.rejected")] == [
        {
            "path": "issued_at",
            "message": f"issued at {issued}, 301 s ago: older than [trust] "
            "command_max_age_s (300 s), refused as a replay",
        },
        {"path": "issued_at", "message": "a signed command needs issued_at (when it was issued)"},
        {
            "path": "$",
            "message": "not allowed to sign this kind: key 'alerts-2026' may sign alert, "
            "not command",
        },
    ]
    assert "command dash-2" not in caplog.text


def test_an_inbox_file_is_physical_access_but_a_signed_one_is_checked(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = make_config(tmp_path, trust=trust_section(tmp_path), inbox={"dir": str(inbox)})
    made = Agent(config, clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None
    publish(made, FIRST_RING, KEYRING_TOPIC, retained=True)
    unsigned = inbox / "a.json"
    unsigned.write_bytes(playlist(1, [text_item("usb", "Từ USB", duration_s=600)]))
    made.handle(InboxFile(unsigned))
    made.tick()
    assert now_showing(made) == ("usb", "local")
    forged = inbox / "alert.json"
    forged.write_bytes(SigningKey("alerts-2026").sign(alert_payload()))
    made.handle(InboxFile(forged))
    made.tick()
    assert now_showing(made) == ("usb", "local")
    assert rejections(caplog) == ["bad signature: key 'alerts-2026' did not sign these bytes"]
    close(made)


def test_the_heartbeat_says_trust_off_without_the_section(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    made = Agent(make_config(tmp_path), clock=clock, output=HeadlessOutput((320, 180)))
    made.link = None
    assert made.heartbeat().model_dump(mode="json")["trust"] == "off"
    publish(made, ALERTS.sign(alert_payload()), ALERT_TOPIC)
    assert rejections(caplog) == [
        "signed message, but this board has no [trust] keys: add [trust] keys to check it, "
        "or send it unsigned"
    ]
    publish(made, alert_payload(), ALERT_TOPIC)
    assert now_showing(made) == ("bao-so-3", "alert")
    close(made)


def test_optional_signatures_take_unsigned_and_check_signed(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    made = board(tmp_path, clock, require=False)
    publish(made, SigningKey("stranger").sign(alert_payload()), ALERT_TOPIC)
    assert rejections(caplog) == ["unknown kid: no trusted key is called 'stranger'"]
    publish(made, alert_payload(), ALERT_TOPIC)
    assert now_showing(made) == ("bao-so-3", "alert")
    close(made)


# --- memory: a crypto library only where a signature is checked ----------------------------

PROBE = """
import json, sys
from pathlib import Path
from agent.config import load_config
from agent.core import Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
def loaded(name="nacl"):
    return any(m == name or m.startswith(name + ".") for m in sys.modules)
agent = Agent(load_config(Path(sys.argv[1]), {}), output=HeadlessOutput((64, 32)))
agent.link = None
built = loaded()
agent.trust.load()  # what Agent.start does first
started = loaded()
agent.handle(Received("signage/v1/alert/city/a", Path(sys.argv[2]).read_bytes(), retained=False))
print(json.dumps([built, started, loaded(), loaded("cryptography")]))
"""


@pytest.mark.parametrize("with_trust", [False, True])
def test_only_a_board_that_checks_a_signature_loads_a_crypto_library(
    tmp_path: Path, with_trust: bool
) -> None:
    """A board without [trust] never loads PyNaCl, not even for a signed message it
    refuses. A board with [trust] loads it when it starts (not when it is built): its
    first signed alert must not wait for the import. Neither ever loads `cryptography`
    (8.8 MB of RSS against PyNaCl's 2.2: agent/trust/ed25519.py)."""
    trust = ""
    if with_trust:
        path = ALERTS.write_jwk(tmp_path)
        trust = (
            f'[trust]\n[[trust.keys]]\nkid = "alerts-2026"\npublic_key = "{path}"\n'
            'may_sign = ["alert"]\n'
        )
    config = tmp_path / "agent.toml"
    config.write_text(
        '[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\nname = "B"\n'
        f'[display]\noutput = "headless"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        '[mqtt]\nhost = "127.0.0.1"\nport = 1\n' + trust,
        encoding="utf-8",
    )
    signed = tmp_path / "signed.jws"
    signed.write_bytes(ALERTS.sign(alert_payload(id="a", expires=_far())))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), str(signed)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=REPO,
        env={"SDL_VIDEODRIVER": "dummy", "PATH": "/usr/bin:/bin"},
    )
    line = result.stdout.strip().splitlines()[-1]
    built, started, after_a_signed_alert, cryptography = json.loads(line)
    assert built is False
    assert started is with_trust
    assert after_a_signed_alert is with_trust
    assert cryptography is False


def _far() -> str:
    return (FakeClock().now() + timedelta(days=3650)).isoformat()
