"""CAP through the core in-process: the config reaches the desk, a feed's document takes
the same path as an alert topic's, bad CAP is one content.rejected, the heartbeat says
whether the board can target."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from agent.core import Agent
from agent.link_messages import Received
from agent.output import HeadlessOutput
from tests.cap_documents import cap_alert
from tests.support import ROOT
from tests.test_core import TZ, FakeClock, events, make_config

FEED = "https://canhbao.example.vn/cap/ha-noi.atom"
SQUARE = (
    "<areaDesc>Phúc Xá</areaDesc>"
    "<polygon>21.0,105.8 21.0,105.9 21.1,105.9 21.1,105.8 21.0,105.8</polygon>"
)


@pytest.fixture
def located(tmp_path: Path) -> Iterator[Agent]:
    board = {"id": "hn-01", "district": "ba-dinh", "commune": "phuc-xa", "name": "Phúc Xá"}
    config = make_config(tmp_path, board=board | {"location": {"lat": 21.05, "lon": 105.85}})
    made = Agent(config, clock=FakeClock(), output=HeadlessOutput((320, 180)))
    made.link = None
    yield made
    made.fetcher.stop()
    made.seq.close()


def test_a_feed_document_and_a_topic_payload_share_one_incident(
    located: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    now = located.clock.now().astimezone(TZ)
    first = cap_alert("HN-1", now, area=SQUARE, expires=now + timedelta(hours=1))
    located.intake.on_feed_alert(FEED, first, "entry-1")
    located.tick()
    assert [e["alert_id"] for e in events(caplog, "alert.started")] == ["HN-1"]
    assert located.alert_desk.active_ids() == ["HN-1"]
    # The same document over MQTT: shown once, said once.
    located.handle(Received(f"{ROOT}/alert/city/hn-1", first, retained=True))
    assert len(events(caplog, "alert.started")) == 1
    beat = located.status.heartbeat()
    assert beat.alerts is not None
    assert beat.alerts.replays == 1
    assert beat.alerts.untargeted is False  # the board has a location
    # Elsewhere than the board: not shown.
    far = cap_alert("HN-9", now, area=SQUARE.replace("105.", "106."))
    located.intake.on_feed_alert(FEED, far, "entry-2")
    assert [e["reason"] for e in events(caplog, "alert.ignored")] == ["outside its areas"]


def test_bad_cap_from_a_feed_is_one_rejection_naming_the_element(
    located: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    now = located.clock.now().astimezone(TZ)
    bad = cap_alert("HN-2", now).replace(b"<severity>Severe", b"<severity>Serious")
    located.intake.on_feed_alert(FEED, bad, "entry-3")
    (rejected,) = events(caplog, "content.rejected")
    assert rejected["topic"] == f"feed:{FEED}"
    assert rejected["errors"][0]["path"].startswith("alert/info")
    assert located.alert_desk.active_ids() == []
