"""`signage-fleet publish` refuses what a board would refuse, before a byte is published:
each kind's bad file exits 65 naming the file and the field path, a bad target too; a
broker that is not there is 69, options that do not go together 2. A real Mosquitto and
an observer on every topic check that nothing was sent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.trust.signing import generate_key_files
from tests.support import REPO, ROOT, Broker, Observer, free_port, playlist, text_item
from tests.test_e2e_alerts import alert

TRACEBACK = "Traceback (most recent call last)"


def run_publish(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "fleet.cli", "publish", *args],
        cwd=REPO,
        input=None if stdin is None else stdin.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert TRACEBACK not in done.stderr, done.stderr
    return done


@pytest.fixture
def watcher(broker: Broker) -> Observer:
    return Observer(broker.port, [f"{ROOT}/#"]).connect()


def nothing_published(observer: Observer) -> None:
    """Only our marker arrives: a message sent before it would have come first. (The
    publisher's own end-of-retained markers, on {root}/fleet/sync/…, reach no board.)"""
    observer.publish(f"{ROOT}/test/marker", b"end")
    observer.wait_for(lambda m: m.topic == f"{ROOT}/test/marker")
    sent = [m.topic for m in observer.messages if not m.topic.startswith(f"{ROOT}/fleet/sync/")]
    assert sent == [f"{ROOT}/test/marker"]


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


BAD_FILES: dict[str, tuple[str, str, bytes | str, str]] = {
    # kind: (file name, --to, content, what stderr must say after the file name)
    "playlist": (
        "p.json",
        "city",
        playlist(1, [{"id": "a", "layout": "fullscreen_txt", "fields": {"text": "x"}}]),
        "items.0.layout",
    ),
    "alert": ("a.json", "city", alert("bao", severity="terrible"), "severity"),
    "cap": ("a.xml", "city", "<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>", "alert/"),
    "cancel": ("c.json", "city", alert("bao", expires="soon"), "expires"),
    "layout": ("l.yaml", "", "name: bus_times\nzones:\n  - name: x\n    type: marquee\n", "type"),
    "assignment": (
        "as.json",
        "board/b-1",
        json.dumps({"type": "assignment", "version": 1, "groups": ["Nhom A"]}),
        "groups.0",
    ),
    "command": (
        "cmd.json",
        "board/b-1",
        json.dumps({"type": "command", "command": "set_brightness", "args": {"percent": 150}}),
        "args.percent",
    ),
    "keyring": (
        "k.json",
        "",
        json.dumps({"type": "keyring", "version": 1, "keys": [{"kid": "x"}]}),
        "keys.0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_of_each_kind_is_refused_and_nothing_is_published(
    case: str, tmp_path: Path, broker: Broker, watcher: Observer
) -> None:
    name, to, content, path = BAD_FILES[case]
    kind = "alert" if case == "cap" else case
    file = write(tmp_path, name, content)
    options = ["--to", to] if to else []
    if kind == "keyring":  # taken only signed: the key is fine, the keyring is not
        options += ["--key", str(generate_key_files("hanoi-root", tmp_path).private)]
    done = run_publish(kind, file, *options, "--broker", f"127.0.0.1:{broker.port}")
    assert done.returncode == 65, done.stderr
    assert done.stdout == ""
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{file}: "), done.stderr
    assert path in done.stderr
    nothing_published(watcher)
    watcher.close()


@pytest.mark.parametrize(
    ("kind", "to", "said"),
    [
        ("playlist", "town", "is not one of city"),
        ("playlist", "commune/ba-dinh", "is not one of city"),
        ("alert", "district/Ba Dinh", "is not a district"),
        ("command", "board/B/x", "is not a board id"),
    ],
)
def test_a_bad_target_is_refused(  # noqa: PLR0917  (parameters and fixtures)
    kind: str, to: str, said: str, tmp_path: Path, broker: Broker, watcher: Observer
) -> None:
    content = {
        "playlist": playlist(1, [text_item("a", "xin chào")]),
        "alert": alert("bao"),
        "command": json.dumps({"type": "command", "command": "ping"}).encode(),
    }[kind]
    file = write(tmp_path, "m.json", content)
    done = run_publish(kind, file, "--to", to, "--broker", f"127.0.0.1:{broker.port}")
    assert done.returncode == 65, done.stderr
    assert said in done.stderr
    nothing_published(watcher)
    watcher.close()


def test_an_unreachable_broker_is_69_and_usage_errors_are_2(tmp_path: Path) -> None:
    file = write(tmp_path, "p.json", playlist(1, [text_item("a", "xin chào")]))
    done = run_publish("playlist", file, "--to", "city", "--broker", f"127.0.0.1:{free_port()}")
    assert done.returncode == 69
    assert "connection refused" in done.stderr
    for options in (["--bump"], ["--wait"]):
        done = run_publish("alert", file, "--to", "city", "--broker", "127.0.0.1:1", *options)
        assert done.returncode == 2, done.stderr
    ring = write(tmp_path, "k.json", json.dumps({"type": "keyring", "version": 1, "keys": []}))
    done = run_publish("keyring", ring, "--broker", "127.0.0.1:1")
    assert done.returncode == 2
    assert "--key" in done.stderr
    done = run_publish("playlist", file, "--to", "city", "--broker", "nowhere")
    assert done.returncode == 2
    assert "HOST:PORT" in done.stderr


def test_a_refused_publish_is_69_with_the_brokers_reason(tmp_path: Path) -> None:
    """An ACL that denies the topic: MQTT 5's PUBACK says 'not authorized', and so do we."""
    acl = tmp_path / "acl"
    acl.write_text("topic read signage/v1/#\n")
    broker = Broker(tmp_path, f"allow_anonymous true\nacl_file {acl}\n")
    broker.start()
    try:
        file = write(tmp_path, "p.json", playlist(1, [text_item("a", "xin chào")]))
        done = run_publish("playlist", file, "--to", "city", "--broker", f"127.0.0.1:{broker.port}")
    finally:
        broker.kill()
    assert done.returncode == 69, (done.stdout, done.stderr)
    assert "not authorized (0x87)" in done.stderr.lower()


def test_a_message_over_the_brokers_packet_limit_is_65_and_not_sent(
    tmp_path: Path,
) -> None:
    broker = Broker(tmp_path, "allow_anonymous true\nmax_packet_size 2000\n")
    broker.start()
    try:
        watcher = Observer(broker.port, [f"{ROOT}/#"]).connect()
        items = [text_item(f"tin-{n}", "Thông báo của phường " * 10) for n in range(10)]
        file = write(tmp_path, "p.json", playlist(1, items))
        done = run_publish("playlist", file, "--to", "city", "--broker", f"127.0.0.1:{broker.port}")
        assert done.returncode == 65, done.stderr
        assert "the broker takes at most 2000" in done.stderr
        nothing_published(watcher)
        watcher.close()
    finally:
        broker.kill()


def test_a_login_with_a_password_file(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "city-ops", "mat-khau-1"], check=True
    )
    broker = Broker(tmp_path, f"allow_anonymous false\npassword_file {passwords}\n")
    broker.start()
    try:
        file = write(tmp_path, "p.json", playlist(1, [text_item("a", "xin chào")]))
        good = write(tmp_path, "good", "mat-khau-1\n")
        bad = write(tmp_path, "bad", "sai\n")
        where = ("--to", "city", "--broker", f"127.0.0.1:{broker.port}", "--username", "city-ops")
        done = run_publish("playlist", file, *where, "--password-file", good)
        assert done.returncode == 0, done.stderr
        done = run_publish("playlist", file, *where, "--password-file", bad)
        assert done.returncode == 69
        assert "refused the connection" in done.stderr
    finally:
        broker.kill()


@pytest.mark.parametrize(
    ("to", "said"),
    [
        (None, "--to names the topic"),
        ("board/b-1/assignment", "clear empties content/TARGET"),
        ("alert/city", "an alert's topic is alert/TARGET/ID"),
        ("alert/city/bao so 3", "cannot be an alert topic's last level"),
        ("layout/Bus", "is not a layout name"),
    ],
)
def test_clear_names_only_topics_an_empty_payload_clears(
    to: str | None, said: str, broker: Broker, watcher: Observer
) -> None:
    options = [] if to is None else ["--to", to]
    done = run_publish("clear", "-", *options, "--broker", f"127.0.0.1:{broker.port}")
    assert done.returncode == 65, done.stderr
    assert said in done.stderr
    nothing_published(watcher)
    watcher.close()
