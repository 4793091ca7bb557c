from __future__ import annotations

import random

from agent.link import backoff_delay
from agent.topics import AlertTopic, CommandTopic, ContentTopic, Topics

TOPICS = Topics("signage/v1", "ba-dinh", "phuc-xa", "hn-01")


def test_subscriptions_cover_the_four_content_channels_and_commands() -> None:
    assert TOPICS.subscriptions(alerts=False) == [
        "signage/v1/content/city",
        "signage/v1/content/district/ba-dinh",
        "signage/v1/content/commune/ba-dinh/phuc-xa",
        "signage/v1/content/board/hn-01",
        "signage/v1/board/hn-01/cmd",
    ]
    assert "signage/v1/alert/commune/ba-dinh/phuc-xa/+" in TOPICS.subscriptions(alerts=True)


def test_routes() -> None:
    assert TOPICS.route("signage/v1/content/district/ba-dinh") == ContentTopic("district")
    assert TOPICS.route("signage/v1/board/hn-01/cmd") == CommandTopic()
    assert TOPICS.route("signage/v1/alert/city/bao-so-3") == AlertTopic("city", "bao-so-3")
    assert TOPICS.route("signage/v1/content/district/hoan-kiem") is None
    assert TOPICS.route("signage/v1/board/hn-02/cmd") is None


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 1.0, 60.0, rng) for attempt in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        step = min(60.0, 2.0 ** (attempt - 1))
        assert step * 0.5 <= delay <= step
    assert max(delays) <= 60.0


def test_boards_draw_different_delays() -> None:
    fleet = {round(backoff_delay(3, 1.0, 60.0, random.Random(f"board-{n}")), 3) for n in range(50)}
    assert len(fleet) > 40  # not in lockstep
