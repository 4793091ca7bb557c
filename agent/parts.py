"""The core's parts, built and wired in one place: the one graph of who holds whom.

`build_parts` makes the parts that need no core (addresses, the event sink, where the
board belongs, the layouts, content acceptance over the state dir, the output and screen,
alerts, trust, the broker side, feeds and the inbox), opening what it opens through
agent/assembly.py. `wire_parts` then makes the parts that act for the core (commands,
inbound routing, what goes on air, what the board says about itself), given the narrow
`CoreHooks` the core provides. Nothing here starts a thread (see Agent.start) or runs
the loop: agent/core.py does, and owns the state.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from agent.acceptance import ContentDesk
from agent.alert_desk import AlertDesk, AlertSettings
from agent.assembly import open_board_output, open_broker, open_feeds, open_screen, open_state
from agent.assignment import AssignmentState, Moved, Placement
from agent.board_status import BoardStatus
from agent.brightness import Brightness
from agent.broker_side import BrokerSide
from agent.caches import AlertStore
from agent.clock import Clock
from agent.commands import CommandHost, CommandRunner
from agent.config import AgentConfig
from agent.events import Events
from agent.health import alerts_health, clock_synced
from agent.heartbeat_seq import SeqCounter
from agent.inflow import Inflow
from agent.intake import Intake
from agent.messages import AlertsHealth
from agent.outbox import Outbox
from agent.output import Output
from agent.playback import Playback
from agent.presenter import Presenter
from agent.refusals import Refusals
from agent.remote_layouts import RemoteLayouts
from agent.screen import Screen
from agent.sdnotify import Notifier
from agent.storage import StorageHealth
from agent.topics import Topics
from agent.trust.desk import TrustDesk
from display_layouts.library import scan_library

if TYPE_CHECKING:
    from agent.alert_feeds import FeedPoller
    from agent.inbox.watcher import InboxWatcher


class CoreHooks(CommandHost, Protocol):
    """What the wired parts call on the core: the commands' host, and the two changes
    that touch several parts at once (a move, layouts received over MQTT)."""

    def place(self, moved: Moved) -> None: ...
    def layouts_received(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Parts:
    """The parts that need no core, as `build_parts` made them."""

    tz: ZoneInfo
    topics: Topics
    events: Events
    storage: StorageHealth
    assignments: AssignmentState
    inflow: Inflow  # the queue other threads put on (agent/inflow.py)
    refusals: Refusals
    remote_layouts: RemoteLayouts
    layout_problems: list[str]  # bad layout files left out: reported once the loop runs
    content: ContentDesk
    seq: SeqCounter
    playback: Playback
    output: Output
    display_problem: str | None  # the output fell back to another one: said at start
    screen: Screen
    brightness: Brightness
    alert_desk: AlertDesk
    trust: TrustDesk
    broker: BrokerSide
    outbox: Outbox | None  # the events' outbox once they are opened (Agent.__init__)
    feeds: FeedPoller | None
    inbox: InboxWatcher | None


@dataclasses.dataclass(frozen=True)
class Wired:
    """The parts that act for the core, as `wire_parts` made them."""

    commands: CommandRunner
    intake: Intake
    presenter: Presenter
    notifier: Notifier
    status: BoardStatus


def build_parts(
    config: AgentConfig, clock: Clock, *, output: Output | None, frame_file: Path | None
) -> Parts:
    """The parts in the order they need one another; `output` given (tests) is used as is."""
    tz = ZoneInfo(config.board.timezone)
    board = config.board
    root = config.mqtt.topic_root if config.mqtt else "signage/v1"
    topics = Topics(root, board.district, board.commune, board.id)
    # Damaged state files are found before the outbox exists: said once it does.
    events = Events(clock, tz, topics.events)
    storage = StorageHealth(events.storage_error)
    state_dir = config.storage.state_dir
    # Where the board belongs (CONTRACT §8): the last remote assignment kept, else the
    # config's values; in force before the link first subscribes.
    assignments = AssignmentState(board, state_dir, storage)
    topics.assign(assignments.load().groups)
    inflow = Inflow(topics)
    refusals = Refusals(events, topics)
    # A bad layout file is left out and reported (display.error once the loop runs),
    # never fatal: the board starts with the rest, and the built-in layouts always work.
    scan = scan_library(config.display.layouts_dir)
    # And the layouts received over MQTT (CONTRACT §8), kept in the state dir.
    remote_layouts = RemoteLayouts(state_dir, storage)
    remote_layouts.local = scan.library
    remote_layouts.load()
    content, seq = open_state(
        config, events, refusals, inflow.queue, library=remote_layouts.library(), health=storage
    )
    board_output, display_problem = (
        (output, None)
        if output is not None
        else open_board_output(config, frame_file, inflow.queue, now=events.now)
    )
    screen = open_screen(
        config,
        board_output,
        content.library,
        images=content.image,
        videos=content.clips,
        on_error=events.display_error,
    )
    alert_desk = AlertDesk(
        AlertStore(state_dir, storage),
        events.storage_error,
        placed(AlertSettings.of(config), assignments.placement),
        clock_synced,
    )
    # Signed messages (CONTRACT §7): a gate with no keys without [trust].
    trust = TrustDesk(
        config.trust,
        state_dir,
        storage,
        clock_synced=clock_synced,
        max_bytes=config.content.max_payload_bytes,
    )
    link, outbox = open_broker(config, topics, inflow.queue, clock, seq=seq, health=storage)
    inbox = None
    if config.inbox:  # only a board with an inbox folder loads its watcher
        from agent.inbox.watcher import InboxWatcher

        inbox = InboxWatcher(config.inbox.dir, inflow.queue, max_files=config.inbox.max_files)
    return Parts(
        tz=tz,
        topics=topics,
        events=events,
        storage=storage,
        assignments=assignments,
        inflow=inflow,
        refusals=refusals,
        remote_layouts=remote_layouts,
        layout_problems=[skipped.summary() for skipped in scan.skipped],
        content=content,
        seq=seq,
        playback=Playback(tz, ready=content.may_show, length=content.item_length),
        output=board_output,
        display_problem=display_problem,
        screen=screen,
        brightness=Brightness(config.brightness.schedule, tz),
        alert_desk=alert_desk,
        trust=trust,
        broker=BrokerSide(events, inflow, link, outbox),
        outbox=outbox,
        # The second path for alerts (CONTRACT §6): None without `[alerts] feeds`.
        feeds=open_feeds(config, inflow.queue, clock),
        inbox=inbox,
    )


def wire_parts(config: AgentConfig, clock: Clock, parts: Parts, core: CoreHooks) -> Wired:
    """The parts that use other parts: commands, inbound routing, what goes on air,
    what the board says about itself."""
    state_dir = config.storage.state_dir
    commands = CommandRunner(core, state_dir / "commands.seen", parts.trust)
    intake = Intake(
        parts.events,
        parts.refusals,
        topics=parts.topics,
        content=parts.content,
        alerts=parts.alert_desk,
        commands=commands,
        trust=parts.trust,
        layouts=parts.remote_layouts,
        on_layouts=core.layouts_received,
        max_payload_bytes=config.content.max_payload_bytes,
        assignments=parts.assignments,
        place=core.place,
    )
    presenter = Presenter(
        parts.events,
        board_name=parts.assignments.placement.name,
        screen=parts.screen,
        playback=parts.playback,
        brightness=parts.brightness,
        alerts=parts.alert_desk,
        content=parts.content,
        wake_display=config.alerts.wake_display,
    )
    notifier = Notifier()

    def alert_sources() -> AlertsHealth:
        """The heartbeat's `alerts`: the broker's alert topics, then each feed."""
        last_at = intake.last_alert_received_at
        mqtt = config.mqtt is not None
        sources = alerts_health(mqtt=mqtt, last_message_at=last_at, feeds=parts.feeds)
        handling = parts.alert_desk.health()  # untargeted, replays: the desk's
        return sources.model_copy(
            update={"untargeted": handling.untargeted, "replays": handling.replays}
        )

    status = BoardStatus(
        parts.events,
        presenter,
        parts.broker,
        notifier,
        board_id=config.board.id,
        topic=parts.topics.heartbeat,
        clock=clock,
        seq=parts.seq,
        state_dir=state_dir,
        interval_s=config.health.heartbeat_interval_s,
        alert_sources=alert_sources,
        trust=parts.trust.health,
        assignment=parts.assignments.health_report,
    )
    return Wired(commands, intake, presenter, notifier, status)


def placed(settings: AlertSettings, placement: Placement) -> AlertSettings:
    """Alert targeting where the board belongs now: its area codes and location."""
    return dataclasses.replace(
        settings, area_codes=placement.area_codes, location=placement.location
    )
