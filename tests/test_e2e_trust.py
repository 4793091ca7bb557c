"""Signed messages end to end through a real Mosquitto, on a board with
`require_signatures = true` (CONTRACT §7, issue 13): what the city signed is shown, a
forgery changes nothing and is refused for the right reason, keys rotate by keyring
(also across a restart without the broker), old signed commands are not replayed, and a
signed CAP document is shown like a signed JSON alert."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import (
    COMMUNE_TOPIC,
    ROOT,
    AgentProcess,
    Broker,
    Message,
    Observer,
    board_topic,
    event_matcher,
    playlist,
    text_item,
    wait_online,
    write_config,
)
from tests.test_e2e_alerts import alert, heartbeat_after
from tests.test_e2e_feeds import FIRST_ID, storm_documents
from tests.trust_signer import SigningKey, b64, keyring, trust_toml

pytestmark = pytest.mark.e2e
EVENTS = board_topic("events")
RESULTS = board_topic("cmd/result")
TRUST_TOPIC = f"{ROOT}/trust"
COMMANDS = board_topic("cmd")

# The city's root (keyrings and commands) and the content authority's key are in the
# board's config; the alert authority's keys come and go by keyring.
ROOT_KEY, CONTENT_KEY = SigningKey("hanoi-root"), SigningKey("hanoi-content")
OLD_ALERTS, NEW_ALERTS = SigningKey("pctt-2026"), SigningKey("pctt-2027")
RETIRED = SigningKey("pctt-2025")  # revoked by the first keyring already


def first_keyring() -> bytes:
    return ROOT_KEY.sign(keyring(1, [(OLD_ALERTS, ["alert"])], [RETIRED.kid]))


def start(
    tmp_path: Path, broker: Broker, agents: list[AgentProcess], *, more: str = ""
) -> AgentProcess:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    trust = trust_toml(
        [
            (ROOT_KEY.write_jwk(keys), ROOT_KEY.kid, ["keyring", "command"]),
            (CONTENT_KEY.write_jwk(keys), CONTENT_KEY.kid, ["playlist"]),
        ]
    )
    config = write_config(tmp_path, port=broker.port, heartbeat_s=1, extra=trust + more)
    agent = AgentProcess(config, tmp_path / f"agent-{len(agents)}.log").start()
    agents.append(agent)
    return agent


def rejected(topic: str, reason: str) -> Callable[[Message], bool]:
    """The `content.rejected` of `topic` whose first problem starts with `reason`."""

    def match(m: Message) -> bool:
        if m.topic != EVENTS:
            return False
        body = m.json()
        if body.get("kind") != "content.rejected" or body.get("topic") != topic:
            return False
        return str(body["errors"][0]["message"]).startswith(reason)

    return match


def one_byte_changed(signed: bytes) -> bytes:
    """The signed message with one byte of its alert changed (the sender's first letter:
    still a valid alert, were it unsigned)."""
    head, body, signature = signed.split(b".")
    raw = bytearray(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    raw[raw.index(b"hanoi")] = ord("H")
    return b".".join([head, b64(bytes(raw)).encode(), signature])


def test_a_signed_alert_is_shown_and_forgeries_change_nothing(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    observer.publish(TRUST_TOPIC, first_keyring(), retain=True)
    start(tmp_path, broker, agents)
    wait_online(observer)
    observer.wait_for(event_matcher(EVENTS, "trust.keyring_accepted", version=1))
    content = CONTENT_KEY.sign(playlist(1, [text_item("tin", "Lịch tiêm chủng", duration_s=600)]))
    observer.publish(COMMUNE_TOPIC, content, retain=True)
    observer.wait_for(event_matcher(EVENTS, "playback.started", item_id="tin"))

    forgeries = {
        "unsigned": alert("f1"),
        "bad signature": one_byte_changed(OLD_ALERTS.sign(alert("f2"))),
        "unknown kid": SigningKey("pctt-fake").sign(alert("f3")),
        "revoked": RETIRED.sign(alert("f4")),
        "not allowed to sign this kind": CONTENT_KEY.sign(alert("f5")),
    }
    for n, (reason, payload) in enumerate(forgeries.items(), start=1):
        topic = f"{ROOT}/alert/city/f{n}"
        observer.publish(topic, payload, retain=True)
        observer.wait_for(rejected(topic, reason))
    beat = heartbeat_after(observer, observer.mark())
    assert beat["now_showing"]["item_id"] == "tin"
    assert beat["alerts_active"] == []
    assert observer.find(event_matcher(EVENTS, "alert.started")) == []
    assert beat["trust"] == {
        "require_signatures": True,
        "keyring_version": 1,
        "keys": 3,
        "expiry_held": [],
    }

    observer.publish(f"{ROOT}/alert/city/bao-so-3", OLD_ALERTS.sign(alert("bao-so-3")), retain=True)
    observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id="bao-so-3"))
    observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id="bao-so-3", layout="alert_full")
    )


def test_a_keyring_rotates_the_alert_key_and_a_restart_without_broker_keeps_it(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    observer.publish(TRUST_TOPIC, first_keyring(), retain=True)
    agent = start(tmp_path, broker, agents, more=f'[inbox]\ndir = "{inbox}"\n')
    wait_online(observer)
    observer.wait_for(event_matcher(EVENTS, "trust.keyring_accepted", version=1))
    rotated = keyring(2, [(NEW_ALERTS, ["alert"])], [OLD_ALERTS.kid, RETIRED.kid])
    observer.publish(TRUST_TOPIC, ROOT_KEY.sign(rotated), retain=True)
    accepted = observer.wait_for(event_matcher(EVENTS, "trust.keyring_accepted", version=2))
    assert accepted.json()["signed_by"] == "hanoi-root"
    old_topic = f"{ROOT}/alert/city/old"
    observer.publish(old_topic, OLD_ALERTS.sign(alert("old")), retain=True)
    observer.wait_for(rejected(old_topic, "revoked: key 'pctt-2026' was revoked (keyring 2)"))
    assert agent.terminate() == 0

    broker.kill()  # the board restarts with no broker at all
    again = start(tmp_path, broker, agents, more=f'[inbox]\ndir = "{inbox}"\n')
    again.wait_log("keyring version 2 restored: 3 keys trusted", timeout=15)
    (inbox / "old.json").write_bytes(OLD_ALERTS.sign(alert("usb-old")))
    again.wait_log("revoked: key 'pctt-2026' was revoked (keyring 2)", timeout=15)
    (inbox / "new.json").write_bytes(NEW_ALERTS.sign(alert("usb-new")))
    again.wait_log('"kind":"alert.started","alert_id":"usb-new"', timeout=15)
    assert '"kind":"alert.started","alert_id":"usb-old"' not in again.log()


def _command(command_id: str, issued_at: datetime) -> bytes:
    body = {
        "type": "command",
        "id": command_id,
        "command": "ping",
        "issued_at": issued_at.isoformat(),
    }
    return ROOT_KEY.sign(json.dumps(body).encode())


def test_a_replayed_old_signed_command_is_refused(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    start(tmp_path, broker, agents)
    wait_online(observer)
    fresh = _command("dash-1", datetime.now(UTC))
    observer.publish(COMMANDS, fresh)
    result = observer.wait_for(lambda m: m.topic == RESULTS)
    assert result.json()["ok"] is True
    mark = observer.mark()
    observer.publish(COMMANDS, fresh)  # the same bytes again: the id ran already
    recorded = _command("dash-2", datetime.now(UTC) - timedelta(minutes=10))
    observer.publish(COMMANDS, recorded)  # recorded ten minutes ago, sent again now
    refused = observer.wait_for(rejected(COMMANDS, "issued at"), start=mark)
    assert refused.json()["errors"][0]["path"] == "issued_at"
    answer = observer.wait_for(lambda m: m.topic == RESULTS, start=mark)
    assert answer.json()["id"] == "dash-2"
    assert answer.json()["ok"] is False
    assert "refused as a replay" in answer.json()["error"]
    unsigned = json.dumps({"type": "command", "id": "dash-3", "command": "ping"})
    observer.publish(COMMANDS, unsigned)
    observer.wait_for(rejected(COMMANDS, "unsigned"), start=mark)
    observer.wait_for(lambda m: m.topic == RESULTS and m.json()["id"] == "dash-3")
    assert [m.json()["id"] for m in observer.find(lambda m: m.topic == RESULTS)] == [
        "dash-1",
        "dash-2",
        "dash-3",
    ]


def test_a_signed_cap_alert_is_shown_like_a_signed_json_one(
    tmp_path: Path, broker: Broker, observer: Observer, agents: list[AgentProcess]
) -> None:
    observer.publish(TRUST_TOPIC, first_keyring(), retain=True)
    start(tmp_path, broker, agents)
    wait_online(observer)
    observer.wait_for(event_matcher(EVENTS, "trust.keyring_accepted", version=1))
    storm = storm_documents()["vn-storm-bao-so-3"]
    unsigned_topic, topic = f"{ROOT}/alert/city/cap-unsigned", f"{ROOT}/alert/city/bao-so-3"
    observer.publish(unsigned_topic, storm, retain=True)
    observer.wait_for(rejected(unsigned_topic, "unsigned"))
    mislabelled = f"{ROOT}/alert/city/cap-as-json"
    observer.publish(mislabelled, OLD_ALERTS.sign(storm, cty="json"), retain=True)
    observer.wait_for(rejected(mislabelled, "bad signature: JWS cty is json"))
    observer.publish(topic, OLD_ALERTS.sign(storm), retain=True)
    started = observer.wait_for(event_matcher(EVENTS, "alert.started", alert_id=FIRST_ID))
    assert started.json()["severity"] == "extreme"
    observer.wait_for(
        event_matcher(EVENTS, "playback.started", item_id=FIRST_ID, layout="alert_full")
    )
