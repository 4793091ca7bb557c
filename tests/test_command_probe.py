"""The command probe's verdicts (agent/command_probe.py); the real-broker cases are in
tests/hostile/test_conn_acl.py."""

from __future__ import annotations

import json

from agent.command_probe import CommandReadProbe

TOPIC = "signage/v1/board/b1/cmd"


def sent_probe(*, verifiable: bool = True) -> tuple[CommandReadProbe, bytes]:
    probe = CommandReadProbe(TOPIC, wait_s=5)
    payload = probe.payload()
    probe.sent(7, at=100.0, verifiable=verifiable)
    return probe, payload


def test_a_probe_that_comes_back_proves_read_permission_once() -> None:
    probe, payload = sent_probe()
    assert probe.acknowledged(7, accepted=True, reason="Success")
    assert probe.verdict(101.0) is None  # not back yet, still within the wait
    assert probe.pending()  # the link's supervisor keeps asking
    assert probe.is_probe(TOPIC, payload)
    verdict = probe.verdict(101.5)
    assert verdict is not None
    assert verdict.finding == "proven"
    assert not probe.pending()  # judged: the supervisor may sleep until its deadlines
    assert probe.verdict(200.0) is None  # said once per connection


def test_accepted_but_never_delivered_is_a_denial_after_the_wait_under_mqtt_5() -> None:
    probe, _payload = sent_probe()
    probe.acknowledged(7, accepted=True, reason="Success")
    assert probe.verdict(104.9) is None
    verdict = probe.verdict(105.0)
    assert verdict is not None
    assert verdict.finding == "denied"
    assert TOPIC in verdict.reason


def test_a_refused_probe_publish_is_no_denial_but_untestable_at_once() -> None:
    probe, _payload = sent_probe()
    probe.acknowledged(7, accepted=False, reason="Not authorized")
    verdict = probe.verdict(100.1)
    assert verdict is not None
    assert verdict.finding == "untestable"
    assert "Not authorized" in verdict.reason


def test_without_a_puback_yet_there_is_no_verdict_under_mqtt_5() -> None:
    probe, _payload = sent_probe()
    assert probe.verdict(1000.0) is None


def test_under_mqtt_3_a_missing_probe_proves_nothing() -> None:
    probe, _payload = sent_probe(verifiable=False)
    probe.acknowledged(7, accepted=True, reason="Success")
    verdict = probe.verdict(106.0)
    assert verdict is not None
    assert verdict.finding == "untestable"
    assert "3.1.1" in verdict.reason


def test_only_this_processs_probes_on_the_cmd_topic_are_swallowed() -> None:
    probe, payload = sent_probe()
    earlier = payload
    current = probe.payload()  # a new connection
    assert probe.is_probe(TOPIC, earlier)  # a late copy of the last connection's probe
    assert probe.verdict(1000.0) is None  # ... is not this connection's proof
    assert probe.is_probe(TOPIC, current)
    assert not probe.is_probe("signage/v1/board/b2/cmd", current)
    forged = json.dumps({"type": "probe", "probe": "0123456789abcdef"}).encode()
    assert not probe.is_probe(TOPIC, forged)  # a stranger's "probe" goes to the commands
    ping = json.dumps({"type": "command", "id": "p", "command": "ping"}).encode()
    assert not probe.is_probe(TOPIC, ping)
    assert not probe.is_probe(TOPIC, b"\xff" * 10)
    assert not probe.acknowledged(8, accepted=True, reason="Success")  # not the probe's mid
