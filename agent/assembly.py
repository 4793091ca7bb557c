"""What the core's parts open at construction (agent/parts.py builds them with these):
the state dir's stores with content acceptance over them, the broker link with the
outbox behind it, the alert-feed poller, and the output and screen. Nothing here starts
a thread: the parts' `start` does (see Agent.start)."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.acceptance import ContentDesk
from agent.assets import AssetCache, AssetFetcher, image_limits, settings_from
from agent.caches import ContentStore, cached_content_limit
from agent.clock import Clock
from agent.config import AgentConfig
from agent.core_queue import CoreMessage
from agent.events import Events
from agent.feed_reports import FeedPollerRestarted
from agent.heartbeat_seq import SeqCounter
from agent.link import MqttLink
from agent.outbound import MAX_MESSAGE_BYTES
from agent.outbox import Outbox
from agent.output import Output, open_output
from agent.refusals import Refusals
from agent.screen import Screen
from agent.storage import StorageHealth, ensure_dir
from agent.topics import Topics
from display_layouts.image_formats import ImageSource
from display_layouts.library import LayoutLibrary
from display_layouts.render import Renderer
from display_layouts.video_source import VideoSource
from firmware_bridge.events import SerialLinkChanged, SerialProblem

if TYPE_CHECKING:
    from agent.alert_feeds import FeedPoller

log = logging.getLogger(__name__)

# Messages handed to paho and not yet acknowledged: no more than paho's in-flight limit
# (`link.INFLIGHT_MAXIMUM`), so none wait in paho's own queue, where an alert event could
# not overtake them.
OUTBOX_WINDOW = 20


def open_state(
    config: AgentConfig,
    events: Events,
    refusals: Refusals,
    inbox: queue.Queue[CoreMessage],
    *,
    library: LayoutLibrary,
    health: StorageHealth,
) -> tuple[ContentDesk, SeqCounter]:
    """The state dir's stores (content, the heartbeat counter, the image cache), the image
    fetcher (no workers yet) and content acceptance over them."""
    content = config.content
    state_dir = config.storage.state_dir
    ensure_dir(state_dir, health)
    max_bytes = cached_content_limit(content.max_payload_bytes)
    store = ContentStore(state_dir, health, max_bytes=max_bytes)
    seq = SeqCounter(state_dir / "heartbeat.seq", health)
    limits = image_limits(content)
    ensure_dir(state_dir / "assets", health)
    assets = AssetCache(
        state_dir / "assets", limits=limits, max_bytes=content.max_asset_bytes, health=health
    )
    fetcher = AssetFetcher(assets, inbox, settings=settings_from(content))
    desk = ContentDesk(
        events,
        refusals,
        store=store,
        storage=health,
        assets=assets,
        fetcher=fetcher,
        library=library,
        max_payload_bytes=content.max_payload_bytes,
        image_limits=limits,
        audio=config.display.audio,
    )
    return desk, seq


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
    link = MqttLink(
        mqtt,
        config.board.id,
        topics,
        inbox,
        clock,
        subscribe_alerts=True,
        subscribe_keyring=config.trust is not None,
    )
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


def open_feeds(
    config: AgentConfig, inbox: queue.Queue[CoreMessage], clock: Clock
) -> FeedPoller | None:
    """The alert-feed poller (no thread yet), or None without `[alerts] feeds`: a board
    without feeds does not load agent/alert_feeds/ at all. What it finds goes on the
    core's queue (unbounded: the poller's thread never waits on it)."""
    if not config.alerts.feeds:
        return None
    from agent.alert_feeds import FeedPoller, feed_settings_from  # only boards with feeds

    return FeedPoller(
        feed_settings_from(config),
        inbox.put,
        clock=clock,
        on_restart=lambda message: inbox.put(FeedPollerRestarted(message)),
    )


def open_board_output(
    config: AgentConfig,
    frame_file: Path | None,
    inbox: queue.Queue[CoreMessage],
    *,
    now: Callable[[], datetime],
) -> tuple[Output, str | None]:
    """The configured output, and a problem to report when it fell back to another one.
    A serial controller's writer thread starts with `start()`, not here; it reports on
    the core's queue."""
    if config.serial is not None and config.display.output == "serial":
        from firmware_bridge.output import SerialOutput  # only boards with a controller

        def report(message: object) -> None:  # the writer's thread: onto the queue, typed
            if isinstance(message, SerialLinkChanged | SerialProblem):
                inbox.put(message)
            else:
                log.error("unexpected report from the serial writer: %r", message)

        return SerialOutput(config.serial, report, now=now), None
    display = config.display
    size = (display.width, display.height) if display.width and display.height else None
    return open_output(display.output, size, display.fullscreen, frame_file)


def open_screen(
    config: AgentConfig,
    output: Output,
    library: LayoutLibrary,
    *,
    images: ImageSource,
    videos: VideoSource,
    on_error: Callable[[str], None],
) -> Screen:
    """The renderer for the output (its size; LED rows get the LED font) and the screen
    that draws with it."""
    renderer = Renderer(
        output.size,
        library=library,
        images=images,
        videos=videos,
        fps=config.display.fps,
        panel="led" if output.kind == "serial" else None,
    )
    return Screen(output, renderer, on_error)
