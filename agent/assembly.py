"""What the core opens at construction: the broker link with the outbox behind it, and
the output. Nothing here starts a thread: the parts' `start` does (see Agent.start)."""

from __future__ import annotations

import queue
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agent.clock import Clock
from agent.config import AgentConfig
from agent.core_queue import CoreMessage
from agent.link import MqttLink
from agent.outbox import MAX_MESSAGE_BYTES, Outbox
from agent.output import Output, open_output
from agent.storage import SeqCounter, StorageHealth
from agent.topics import Topics

# Messages handed to paho and not yet acknowledged: no more than paho's in-flight limit
# (`link.INFLIGHT_MAXIMUM`), so none wait in paho's own queue, where an alert event could
# not overtake them.
OUTBOX_WINDOW = 20


def open_broker(
    config: AgentConfig,
    topics: Topics,
    inbox: queue.Queue[CoreMessage],
    clock: Clock,
    *,
    seq: SeqCounter,
    health: StorageHealth,
) -> tuple[MqttLink | None, Outbox | None]:
    """The MQTT link and the outbox behind it; neither without `[mqtt]` (inbox only)."""
    mqtt = config.mqtt
    if mqtt is None:
        return None, None
    link = MqttLink(mqtt, config.board.id, topics, inbox, clock, subscribe_alerts=True)
    outbox = Outbox(
        config.storage.state_dir,
        link.publish,
        bound=mqtt.outbox_bound,
        window=OUTBOX_WINDOW,
        topics=(topics.heartbeat, topics.events, topics.command_result),
        # The hard cap, or the broker's limit once it has announced or shown one.
        max_message_bytes=lambda: min(MAX_MESSAGE_BYTES, link.max_packet_size or MAX_MESSAGE_BYTES),
        health=health,
    )
    if outbox.highest_seq is not None:  # never below a heartbeat still waiting
        seq.at_least(outbox.highest_seq + 1)
    return link, outbox


def open_board_output(
    config: AgentConfig,
    frame_file: Path | None,
    *,
    report: Callable[[object], None],
    now: Callable[[], datetime],
) -> tuple[Output, str | None]:
    """The configured output, and a problem to report when it fell back to another one.
    A serial controller's writer thread starts with `start()`, not here."""
    if config.serial is not None and config.display.output == "serial":
        from firmware_bridge.output import SerialOutput  # only boards with a controller

        return SerialOutput(config.serial, report, now=now), None
    display = config.display
    size = (display.width, display.height) if display.width and display.height else None
    return open_output(display.output, size, display.fullscreen, frame_file)
