"""The agent's core: holds the parts and runs the loop that ties them together.

One thread (the main one: SDL wants it) does everything that changes state. Other threads
(paho's network loop, the inbox observer, the asset fetcher, the serial writer, the
alert-feed poller, signal delivery) only put messages on `self.queue`
(agent/core_queue.py). Each turn of the loop: handle what arrived (the exhaustive `match`
below), put on air what is due (agent/presenter.py: drawn only when the frame changed),
send a heartbeat when one is due (agent/board_status.py), then sleep until the next
deadline or the next message.

The parts report through one event sink (agent/events.py), never back into the core:
content acceptance (agent/acceptance.py), alerts (agent/alert_desk.py), inbound routing
and the workers' reports (agent/intake.py), bad input (agent/refusals.py), commands
(through the narrow `CommandHost`), and what is on air (agent/on_air.py, pure). The
core's parts are built and wired by agent/parts.py (what they open, by agent/assembly.py);
the core holds them, applies the changes that touch several at once (a reload, layouts
received, a move) and runs the loop; signals are agent/signals.py's.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Never

from agent.assets import AssetFailure, AssetReady, FetcherRestarted
from agent.assignment import Moved
from agent.clock import Clock, SystemClock
from agent.config import AgentConfig
from agent.core_queue import CoreMessage, Reload, Wake
from agent.display_control import DisplayControl
from agent.events import TurnGuard
from agent.feed_reports import FeedAlert, FeedPollerRestarted
from agent.inbox import InboxFile
from agent.link import MqttLink
from agent.link_messages import Delivered, LinkDown, LinkTrouble, LinkUp, Received
from agent.messages import Channel, DisplayError, EventBase, Heartbeat, Playlist, group_channel
from agent.outbox import Outbox
from agent.output import Output
from agent.parts import build_parts, placed, wire_parts
from agent.sdnotify import Watchdog
from agent.signals import hand_over, install_handlers
from display_layouts.input_problems import Problem
from display_layouts.library import LayoutLibrary, scan_library
from firmware_bridge.events import SerialLinkChanged, SerialProblem

__all__ = ["Agent", "Reload", "Wake"]

log = logging.getLogger(__name__)

# A board with nothing due sleeps until its next deadline (a heartbeat, what goes on air
# next, a flood's summary), but never longer than this. What the cap guards: deadlines on
# the wall clock (a slot's end, a validity or schedule edge, a clock zone's minute) become
# a sleep when it starts, so a wall clock set during it (NTP stepping it at boot, a
# technician) is seen only at the next wake, where `Presenter.step` sees the wall clock
# moved against the monotonic one and makes a full turn. A set clock is rare (once per
# boot), and what it delays is the minute a clock shows or an edge of the schedule: 10 s,
# once, is as good as the board's reaction to it needs to be (the 1 s it was cost a wake
# a second: ~0.3 ms of CPU each on a small board, most of a static screen's cost).
IDLE_WAIT_S = 10.0
WATCHDOG_SHARE = 3  # and 3 turns per WatchdogSec, which wants progress within it
SCREEN_PUMP_S = 0.25  # a window must answer its window system


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock | None = None,
        output: Output | None = None,
        frame_file: Path | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        parts = build_parts(config, self.clock, output=output, frame_file=frame_file)
        # The parts, as the loop, the commands and tests know them (agent/parts.py builds
        # and wires them; the core holds them and owns the state they share).
        self.tz, self.topics, self.events = parts.tz, parts.topics, parts.events
        self.storage, self.assignments = parts.storage, parts.assignments
        self.inflow, self.queue = parts.inflow, parts.inflow.queue
        self.refusals = parts.refusals
        self.rejections = self.refusals.limiter  # the flood limits, as tests know them
        self.remote_layouts, self.seq = parts.remote_layouts, parts.seq
        self.content = content = parts.content  # its stores and fetcher, as tests know them
        self.store, self.assets, self.fetcher = content.store, content.assets, content.fetcher
        self.image_limits = content.image_limits
        self.playback, self.output, self.screen = parts.playback, parts.output, parts.screen
        self.renderer, self.brightness = self.screen.renderer, parts.brightness
        self.alert_desk, self.trust, self.broker = parts.alert_desk, parts.trust, parts.broker
        self.feeds, self.inbox = parts.feeds, parts.inbox
        wired = wire_parts(config, self.clock, parts, self)
        self.commands, self.intake = wired.commands, wired.intake
        self.presenter, self.notifier, self.status = wired.presenter, wired.notifier, wired.status
        self._stop = threading.Event()
        self._loop_progress = self.clock.monotonic()
        self.guard = TurnGuard(self.events)  # a bug in a turn's work must not stop the board
        self.watchdog = Watchdog(self.notifier, [self.render_loop_progress, self.broker_progress])
        self.exit_code = 0
        self._layout_problems = parts.layout_problems  # reported once the loop starts
        self._display_problem = parts.display_problem  # reported once the loop starts
        if self._display_problem:
            self.events.error()
        for problem in self._layout_problems:
            log.error("%s", problem)
        self.events.open(parts.outbox)  # what was found on disk goes out now
        self._stack = self._stops_of_what_is_open()

    def _stops_of_what_is_open(self) -> contextlib.ExitStack:
        """One stop path: what the constructor opened is closed last, in reverse (the
        parts started by `start` push their stops later, so they are popped first)."""
        stack = contextlib.ExitStack()
        stack.callback(self.output.close)
        stack.callback(self.seq.close)
        stack.callback(self.broker.spool)
        stack.callback(self.fetcher.stop)
        return stack

    # --- what parts and tests read ---------------------------------------------------------

    @property
    def playlists(self) -> dict[Channel, Playlist]:
        return self.content.playlists

    @playlists.setter
    def playlists(self, playlists: dict[Channel, Playlist]) -> None:
        self.content.playlists = playlists
        self.content.refresh_assets()  # readiness is indexed per held item

    @property
    def library(self) -> LayoutLibrary:
        return self.content.library

    @library.setter
    def library(self, library: LayoutLibrary) -> None:  # a reload; the renderer's apart
        self.content.library = library

    @property
    def display(self) -> DisplayControl:  # `display_power` sets its power
        return self.presenter.display

    @property
    def link(self) -> MqttLink | None:
        return self.broker.link

    @link.setter
    def link(self, link: MqttLink | None) -> None:  # tests run the core without one
        self.broker.link = link

    @property
    def outbox(self) -> Outbox | None:
        return self.broker.outbox

    @outbox.setter
    def outbox(self, outbox: Outbox | None) -> None:  # tests run the core without one
        self.broker.outbox = outbox
        self.events.outbox = outbox

    @property
    def _restored(self) -> list[EventBase]:
        return self.broker.restored

    @property
    def errors_total(self) -> int:
        return self.events.errors_total

    # --- set-up and shutdown -------------------------------------------------------------

    def reload(self) -> str | None:
        """Layouts read again (SIGHUP, `reload` command), the cached content checked against
        them and the frame drawn anew. A bad file is left out (one display.error each) and
        the rest is used; the problems are returned, or None when every file was good."""
        scan = scan_library(self.config.display.layouts_dir)
        problems = [skipped.summary() for skipped in scan.skipped]
        for problem in problems:
            log.error("%s", problem)
            self.events.display_error(problem)
        self.remote_layouts.local = scan.library
        library = self.remote_layouts.library()
        self.renderer.library = library
        self.content.use_layouts(library)
        self.screen.frame = None
        self.tick()
        return "; ".join(problems) if problems else None

    def layouts_received(self) -> None:
        """A layout arrived or was removed over MQTT: used at once, the frame drawn anew
        (on this turn's tick), content waiting for it re-checked."""
        library = self.remote_layouts.library()
        self.renderer.library = library
        self.content.layouts_received(library)
        self.screen.frame = None

    def place(self, moved: Moved) -> None:
        """An assignment accepted (CONTRACT §8), applied at once: the link subscribes the
        new groups' topics (their retained content arrives by it) and leaves the old ones;
        the old groups' content stops showing (`content.cleared` each) and their alerts
        end; alert targeting and the idle screen's name follow."""
        placement = moved.after
        self.topics.assign(placement.groups)
        if self.link is not None:
            self.link.resubscribe()
        left = [group_channel(group) for group in moved.left]
        self.content.leave(left)
        self.intake.leave(left)  # the alerts the groups left brought end too
        self.alert_desk.use_settings(placed(self.alert_desk.settings, placement))
        self.presenter.board_name = placement.name
        self.screen.frame = None  # the idle screen shows the name: drawn anew

    def render_loop_progress(self, allowed_s: float) -> bool:
        return self.clock.monotonic() - self._loop_progress < allowed_s

    def broker_progress(self, allowed_s: float) -> bool:
        return self.broker.progress(allowed_s)

    def request_stop(self, exit_code: int = 0) -> None:
        """Stop after this turn (a signal handler, a command, a closed window)."""
        self.exit_code = exit_code
        self._stop.set()
        hand_over(self.queue, Wake())  # wakes the loop; a signal handler may be calling

    def install_signal_handlers(self) -> None:
        install_handlers(self.queue, self.request_stop)

    def start(self) -> None:
        """Show cached content at once, then start listening (inbox, broker). Each part
        that starts registers its stop on the stack that `_shutdown` unwinds."""
        events, stack = self.events, self._stack
        start_output = getattr(self.output, "start", None)  # a serial writer's thread
        if callable(start_output):
            start_output()
        self.trust.load()  # the keyring kept: in force before the first message
        self.content.load()
        self.content.keep_groups(self.assignments.placement.groups)  # moved while off
        misfits = self.content.recheck(emit=False)  # before the first frame shows them
        restored = self.alert_desk.load(events.now())
        self.tick()  # the first frame, before (and without) any broker
        self.notifier.ready(self.status.line())
        self.watchdog.start()
        stack.callback(self.watchdog.stop)
        self.broker.hold_restored(restored)
        if self._display_problem:
            events.emit(DisplayError(at=events.now(), message=self._display_problem))
        for problem in self._layout_problems:
            events.display_error(problem)
        events.emit_all(list(misfits))
        if self.inbox is not None:
            self.inbox.start()
            stack.callback(self.inbox.stop)
        if self.feeds is not None:  # its first polls are spread over a few seconds
            self.feeds.start()
            stack.callback(self.feeds.stop)
        self.broker.start(stack)  # the link's stop is popped first

    def run(self) -> int:
        """Serve until asked to stop; returns the exit status."""
        try:
            self.start()
            while not self._stop.is_set():
                self._wait_and_handle()
                # A dead download worker is replaced (and reported); then what is due now.
                # A turn whose work fails does not count as progress: one failure costs
                # nothing, a loop failing turn after turn stops the watchdog's pings and
                # systemd starts the agent afresh.
                if self.guarded(self.fetcher.supervise) & self.guarded(self.step):
                    self._loop_progress = self.clock.monotonic()
        finally:
            self._shutdown()
        return self.exit_code

    def _shutdown(self) -> None:
        """The parts stop in reverse of their start: the link, the inbox, the watchdog;
        then what the constructor opened: the fetcher, the outbox (spooled), the heartbeat
        counter, the output."""
        log.info("stopping")
        self.notifier.stopping()
        self.refusals.report_pending()  # before the link stops: sent while it can be
        self._stack.close()

    # --- the loop ------------------------------------------------------------------------

    def _wait_and_handle(self) -> None:
        """One turn of handling what arrived (agent/inflow.py): most urgent first, bounded."""
        self.inflow.turn(self._seconds_until_next_deadline, self.handle)

    @property
    def _backlog(self) -> list[deque[CoreMessage]]:
        return self.inflow.backlog

    def _seconds_until_next_deadline(self) -> float:
        if self.inflow.waiting():
            return 0.0
        now = self.clock.now()
        mono = self.clock.monotonic()
        waits = [self.longest_wait_s(), self.status.timer.next_at - mono]
        if (summary_due := self.rejections.next_due()) is not None:
            waits.append(summary_due - mono)
        waits += [(change - now).total_seconds() for change in self.presenter.changes(now)]
        if self.output.kind == "screen":
            waits.append(SCREEN_PUMP_S)
        return max(0.0, min(waits))

    def longest_wait_s(self) -> float:
        """The cap of the loop's sleep: IDLE_WAIT_S, or less under a systemd watchdog."""
        watchdog_s = self.notifier.watchdog_s
        return IDLE_WAIT_S if watchdog_s is None else min(IDLE_WAIT_S, watchdog_s / WATCHDOG_SHARE)

    def tick(self) -> None:
        """Act on what is due now: what goes on air, flood summaries, a heartbeat."""
        now = self.events.now()
        if not self.output.pump():
            self.request_stop()
        self.presenter.turn(now)
        self.refusals.report_due()
        self.status.heartbeat_if_due()

    def step(self) -> None:
        """The loop's `tick`: when nothing arrived and none of the screen's deadlines
        passed, only the moving zones are repainted (a ticker frame: no playlist walked,
        no frame composed; agent/presenter.py)."""
        now = self.events.now()
        if not self.output.pump():
            self.request_stop()
        if not self.presenter.step(now):
            self.presenter.turn(now)
        self.refusals.report_due()
        self.status.heartbeat_if_due()

    # --- inbound -------------------------------------------------------------------------

    def guarded(self, step: Callable[[], object]) -> bool:
        """Run one piece of a turn's work: a bug in it is counted and logged, never fatal."""
        return self.guard.run(step)

    def handle(self, message: CoreMessage) -> None:
        """One message from another thread (broker, inbox, fetcher, serial, signal)."""
        self.presenter.unsettle()  # whatever it changes is on air at the next turn
        try:
            self._dispatch(message)
        except Exception:  # a bug in one message's handling must not stop the board
            self.events.error()
            log.exception("error handling %s", type(message).__name__)
        finally:
            if isinstance(message, Received):
                self.broker.handled(message)  # handled and persisted: acknowledged now

    def _dispatch(self, message: CoreMessage) -> None:
        match message:
            case Received() as received:
                self.intake.on_received(received)
            case InboxFile() as file:
                self.intake.on_inbox_file(file)
            case LinkUp() | LinkDown() | Delivered():
                if self.broker.on_link(message):
                    self.status.tell_systemd()
            case LinkTrouble():  # a denial: the technician's `systemctl status` says so now
                self.status.tell_systemd()
            case AssetReady() | AssetFailure() | FetcherRestarted():
                self.intake.on_asset(message)
            case FeedAlert(source=source, payload=payload, entry_id=entry_id):
                self.intake.on_feed_alert(source, payload, entry_id)
            case FeedPollerRestarted(message=text):
                self.events.display_error(text)  # as the fetcher's restarts are reported
            case SerialLinkChanged() | SerialProblem():
                self.intake.on_serial(message)
            case Reload():
                log.info("SIGHUP: reloading layouts")
                self.reload()
            case Wake():
                pass
            case _:
                _unexpected(message)

    def reject(self, topic: str, channel: Channel | None, errors: list[Problem]) -> bool:
        """Report bad input (agent/refusals.py); returns whether it was reported."""
        return self.refusals.reject(topic, channel, errors)

    # --- outbound ------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes) -> None:
        """Straight to the broker when connected (screenshots); lost when not."""
        self.broker.publish(topic, payload)

    def send(self, topic: str, body: str, *, urgent: bool = False) -> None:
        """Via the outbox: across outages and restarts (agent/events.py)."""
        self.events.send(topic, body, urgent=urgent)

    def heartbeat(self) -> Heartbeat:
        return self.status.heartbeat()


def _unexpected(message: Never) -> None:
    """Every kind of `CoreMessage` has its case above: mypy says so when one is missing;
    at run time, something else put on the queue (a bug) is said and left."""
    log.error("unexpected message on the core queue: %r", message)
