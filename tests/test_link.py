from __future__ import annotations

import queue
import random
import time
from datetime import UTC
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.clock import SystemClock
from agent.config import MqttConfig
from agent.link import MqttLink
from agent.link_attempts import backoff_delay
from agent.link_inbound import QOS0_BACKLOG, RECEIVE_MAXIMUM
from agent.link_messages import LinkUp, Received
from agent.topics import AlertTopic, CommandTopic, ContentTopic, Topics
from tests.support import Broker, wait_until

TOPICS = Topics("signage/v1", "ba-dinh", "phuc-xa", "hn-01")


def test_subscriptions_cover_the_four_content_channels_and_commands() -> None:
    assert TOPICS.subscriptions(alerts=False) == [
        "signage/v1/content/city",
        "signage/v1/content/district/ba-dinh",
        "signage/v1/content/commune/ba-dinh/phuc-xa",
        "signage/v1/content/board/hn-01",
        "signage/v1/board/hn-01/assignment",  # where the board belongs (CONTRACT §8)
        "signage/v1/board/hn-01/cmd",
        "signage/v1/layout/+",  # layouts over MQTT (CONTRACT §8)
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


# --- inbound flow control, against a real Mosquitto -----------------------------------------

CMD = "signage/v1/board/hn-01/cmd"


class Link:
    """An MqttLink of board hn-01 whose core is the test: it reads the queue itself."""

    def __init__(self, broker: Broker) -> None:
        config = MqttConfig(host="127.0.0.1", port=broker.port, keepalive_s=5)
        self.queue: queue.Queue[Any] = queue.Queue()
        self.link = MqttLink(config, "hn-01", TOPICS, self.queue, SystemClock())
        self.link.start()
        self.next(LinkUp, 10)

    def next(self, kind: type[Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            message = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(message, kind):
                return message

    def received(self) -> list[Received]:
        found: list[Received] = []
        while True:
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                return found
            if isinstance(message, Received):
                found.append(message)

    def stop(self) -> None:
        self.link.stop()


def city_publisher(broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def publish_many(client: mqtt.Client, count: int, qos: int) -> None:
    infos = [client.publish(CMD, f"{n}".encode(), qos=qos) for n in range(count)]
    for info in infos:
        info.wait_for_publish(20)


def test_the_broker_holds_a_burst_until_the_core_has_handled_what_it_sent(
    broker: Broker,
) -> None:
    board = Link(broker)
    city = city_publisher(broker)
    try:
        # The link's own probe of its cmd topic is settled first: arriving among the burst,
        # its acknowledgement would wait for theirs (arrival order) and hold one of the
        # broker's in-flight slots.
        wait_until(lambda: board.link.command_reads == "proven", 10, "the command probe")
        publish_many(city, 600, qos=1)
        # Not acknowledged yet: the broker sends no more than the receive maximum.
        first = wait_until(lambda: (got := board.received()) and got, 10, "the first messages")
        time.sleep(0.5)  # give the broker the chance to (wrongly) send more
        first += board.received()
        assert len(first) == RECEIVE_MAXIMUM
        # Acknowledged ones make room for the rest; none is lost, none reordered. (Mosquitto
        # before 2.0.13 — Debian 12 has 2.0.11 — releases all it queued after the first
        # PUBACK: the core's queue takes that too, without blocking or dropping.)
        delivered: list[int] = []
        pending = first
        deadline = time.monotonic() + 30
        while len(delivered) < 600 and time.monotonic() < deadline:
            for message in pending:
                assert message.qos == 1
                delivered.append(int(message.payload))
                board.link.ack(message)
            if len(delivered) < 600:
                pending = [board.next(Received, 10), *board.received()]
        assert delivered == list(range(600))
        assert board.link.dropped_inbound == 0
    finally:
        city.disconnect()
        city.loop_stop()
        board.stop()


def test_qos0_floods_are_capped_while_the_core_is_busy(broker: Broker) -> None:
    board = Link(broker)
    city = city_publisher(broker)
    try:
        publish_many(city, QOS0_BACKLOG * 3, qos=0)
        # QoS 0 has no flow control: beyond the cap, messages are counted and dropped.
        wait_until(
            lambda: board.link.dropped_inbound >= QOS0_BACKLOG,
            15,
            "the QoS 0 flood to be capped",
        )
        waiting = board.received()
        assert len(waiting) <= QOS0_BACKLOG
        # The dashboard sees the drops: the heartbeat's mqtt block counts them.
        dropped = board.link.health(UTC, None).dropped_inbound
        assert dropped >= QOS0_BACKLOG
        for message in waiting:
            board.link.ack(message)
        # Handled: room again for what comes next.
        city.publish(CMD, b"after", qos=0)
        deadline = time.monotonic() + 10
        while (later := board.next(Received, 10)).payload != b"after":
            board.link.ack(later)  # the rest of the flood, still arriving
            assert time.monotonic() < deadline
    finally:
        city.disconnect()
        city.loop_stop()
        board.stop()


def test_the_backoff_never_overflows_after_a_long_outage() -> None:
    """Attempt 1025 (about 13 h of outage with the defaults) overflowed 2 ** attempt."""
    import random

    from agent.link_attempts import backoff_delay

    for attempt in (1, 30, 1025, 10**6):
        delay = backoff_delay(attempt, 1.0, 60.0, random.Random(attempt))
        assert 0.5 <= delay <= 60.0


def test_acknowledgements_go_in_the_order_the_messages_arrived() -> None:
    """MQTT asks for PUBACKs in arrival order [MQTT-4.6.0-2]; the core handles a backlog
    alerts first, so an alert's acknowledgement waits for the command before it."""
    from agent.link_inbound import ArrivalOrder

    sent: list[int] = []
    order = ArrivalOrder(lambda mid, _qos: sent.append(mid))
    for mid in (1, 2, 3, 4):  # 1 a command, 2 and 3 alerts, 4 content
        order.arrived(mid, 1)
    order.handled(2)  # alerts first
    order.handled(3)
    assert sent == []  # 1 is not handled yet: nothing may overtake its acknowledgement
    order.handled(1)
    assert sent == [1, 2, 3]
    order.handled(4)
    assert sent == [1, 2, 3, 4]
    order.arrived(5, 1)
    order.reset()  # a new connection: the broker sends 5 again
    order.handled(5)
    assert sent == [1, 2, 3, 4]
