"""End to end: a real agent and Mosquitto, a hostile image server and a good one.

A playlist names images on both. The agent must live, keep showing what it can (the text
and the good pictures; the broken ones are never shown with a hole), get every good image
despite the hostile server, and say once per bad image, with `asset.failed`, why.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.hostile_http import (
    HostileServer,
    bomb_png,
    corrupt_png,
    hostile_server,
    huge_png,
    truncated_png,
    valid_png,
)
from tests.support import (
    COMMUNE_TOPIC,
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

pytestmark = pytest.mark.e2e

EVENTS = board_topic("events")
DEADLINE_S = 4

CONTENT = f"""
[content]
download_connect_timeout_s = 2
download_first_byte_timeout_s = 2
download_deadline_s = {DEADLINE_S}
"""

# item id → (path on the hostile server, body, what its asset.failed must say)
BAD = {
    "xau-silent": ("/silent", b"s", "no answer within 2 s"),
    "xau-drip": ("/drip/drip", valid_png((1, 1, 1)), "total deadline of 4 s"),
    "xau-status": ("/bad-status", b"b", "malformed status line"),
    "xau-chunked": ("/bad-chunked", b"c", "broken chunked encoding"),
    "xau-headers": ("/many-headers/h", valid_png((2, 2, 2)), "more than 100 headers"),
    "xau-redirect": ("/redirect-away/r", valid_png((3, 3, 3)), "redirect to another host"),
    "xau-huge": ("/files/huge", huge_png(), "30000×30000"),
    "xau-corrupt": ("/files/corrupt", corrupt_png(), "damaged"),
    "xau-bomb": ("/files/bomb", bomb_png(), "4000×4000"),
    "xau-truncated": ("/files/truncated", truncated_png(), "truncated"),
}


@pytest.fixture
def servers() -> Iterator[tuple[HostileServer, HostileServer]]:
    with hostile_server(drip_interval_s=0.5) as hostile, hostile_server() as good:
        hostile.other_port = good.port
        yield hostile, good


def image_item(item_id: str, url: str, data: bytes) -> dict[str, Any]:
    image = {"url": url, "sha256": hashlib.sha256(data).hexdigest()}
    fields = {"image": image, "caption": f"Ảnh {item_id}"}
    return {"id": item_id, "layout": "image_caption", "fields": fields, "duration_s": 1}


def peak_rss_mb(agent: AgentProcess) -> float:
    """The kernel's high-water mark of the agent's resident memory (VmHWM)."""
    assert agent.process is not None
    status = Path(f"/proc/{agent.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def started(item_id: str) -> Any:
    return event_matcher(EVENTS, "playback.started", item_id=item_id)


def test_hostile_image_servers_cost_one_event_each_and_nothing_else(
    tmp_path: Path,
    broker: Broker,
    observer: Observer,
    agents: list[AgentProcess],
    servers: tuple[HostileServer, HostileServer],
) -> None:
    hostile, good = servers
    config = write_config(tmp_path, port=broker.port, extra=CONTENT)
    agent = AgentProcess(config, tmp_path / "agent.log").start()
    agents.append(agent)
    wait_online(observer)

    # The last good content, before any image is asked for.
    observer.publish(COMMUNE_TOPIC, playlist(1, [text_item("tin-cu", "Lịch tiêm chủng")]))
    observer.wait_for(started("tin-cu"), timeout=15)

    goods = {f"anh-tot-{i}": valid_png((40 * i, 120, 200), (20 + i, 12)) for i in range(3)}
    items = [text_item("tin-moi", "Thông báo mất điện", duration_s=1)]
    for item_id, data in goods.items():
        good.files[item_id] = data
        items.append(image_item(item_id, good.url(f"/files/{item_id}"), data))
    for item_id, (path, body, _why) in BAD.items():
        name = path.rsplit("/", 1)[-1]
        hostile.files[name] = body
        good.files[name] = body  # where /redirect-away points: it would verify there
        items.append(image_item(item_id, hostile.url(path), body))
    mark = observer.mark()
    observer.publish(COMMUNE_TOPIC, playlist(2, items))
    observer.wait_for(event_matcher(EVENTS, "content.accepted", version=2), timeout=15, start=mark)

    # Every good image arrives and is shown, within its own deadline, whatever the
    # hostile server does meanwhile (it holds one download at a time for up to 4 s).
    for item_id in goods:
        observer.wait_for(started(item_id), timeout=3 * DEADLINE_S, start=mark)

    # One clear asset.failed per bad image, saying why.
    worst = sum(DEADLINE_S for _ in BAD)  # the hostile server's downloads, one at a time
    failures: dict[str, Message] = {}
    for item_id, (_path, _body, why) in BAD.items():
        failures[item_id] = observer.wait_for(
            event_matcher(EVENTS, "asset.failed", item_id=item_id), timeout=worst, start=mark
        )
        message = failures[item_id].json()["message"]
        assert why in message, (item_id, message)
        assert "Traceback" not in message

    # Afterwards the board still rotates the good items, and never shows a broken one.
    after = observer.mark()
    observer.wait_for(started("tin-moi"), timeout=15, start=after)
    for item_id in goods:
        observer.wait_for(started(item_id), timeout=15, start=after)
    for item_id in BAD:
        assert not observer.find(started(item_id), start=mark), f"{item_id} was shown"
    assert agent.alive()

    # A broken inline picture rejects the playlist with its path; v2 keeps playing.
    inline = "data:image/png;base64," + base64.b64encode(bomb_png(20000, 20000)).decode()
    bad_inline = {"id": "bom", "layout": "image_caption", "fields": {"image": inline}}
    before = observer.mark()
    observer.publish(COMMUNE_TOPIC, playlist(3, [bad_inline]))
    rejected = observer.wait_for(
        event_matcher(EVENTS, "content.rejected"), timeout=15, start=before
    ).json()
    assert [e["path"] for e in rejected["errors"]] == ["items.0.fields.image"]
    assert "20000×20000" in rejected["errors"][0]["message"]
    observer.wait_for(started("tin-moi"), timeout=15, start=before)
    assert not observer.find(started("bom"), start=before)
    assert agent.alive()
    assert "Traceback" not in agent.log()
    # No picture was decoded whole: the board's budget held (184 MB before the fix).
    assert peak_rss_mb(agent) <= 64, "the board's memory budget (docs/performance.md)"
