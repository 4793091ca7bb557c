"""The agent's core: builds the parts, wires them and runs the loop that ties them together.

One thread (the main one: SDL wants it) does everything that changes state. Other threads
(paho's network loop, the inbox observer, the asset fetcher, the serial writer, signal
delivery) only put messages on `self.queue` (agent/core_queue.py). Each turn of the loop:
handle what arrived, ask the playback what is due, draw only when the frame changed, send
a heartbeat when one is due, then sleep until the next deadline or the next message.

The parts report through one event sink (agent/events.py), never back into the core:
content acceptance (agent/acceptance.py), alerts (agent/alert_desk.py), inbound routing
and the inbox (agent/intake.py), bad input (agent/refusals.py), commands (through the
narrow `CommandHost`), and what is on air (agent/on_air.py, pure).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Never
from zoneinfo import ZoneInfo

from agent import on_air
from agent.acceptance import ContentDesk
from agent.alert_desk import AlertDesk
from agent.assembly import open_board_output, open_broker
from agent.assets import (
    AssetCache,
    AssetFailure,
    AssetFetcher,
    AssetReady,
    FetcherRestarted,
    image_limits,
    settings_from,
)
from agent.brightness import Brightness
from agent.broker_side import BrokerSide
from agent.clock import Clock, SystemClock
from agent.commands import CommandRunner
from agent.config import AgentConfig
from agent.core_queue import CoreMessage, Reload, Wake
from agent.events import Events
from agent.faults import FaultRecovery
from agent.health import HeartbeatTimer, SystemProbe, assemble_heartbeat
from agent.inbox import InboxFile, InboxWatcher
from agent.inflow import Inflow
from agent.intake import Intake
from agent.link import MqttLink
from agent.link_messages import Delivered, LinkDown, LinkTrouble, LinkUp, Received
from agent.messages import (
    AssetFailed,
    Channel,
    DisplayError,
    EventBase,
    Heartbeat,
    NowShowing,
    Playlist,
    SerialLinkDown,
    SerialLinkUp,
)
from agent.outbox import Outbox
from agent.output import Output, serial_health
from agent.playback import Playback
from agent.refusals import Refusals
from agent.rejections import RejectionLimiter
from agent.screen import Frame, Screen
from agent.sdnotify import Notifier, Watchdog
from agent.storage import (
    AlertStore,
    ContentStore,
    SeqCounter,
    StorageHealth,
    cached_content_limit,
    ensure_dir,
)
from agent.topics import Topics
from display_layouts.input_problems import Problem
from display_layouts.library import LayoutLibrary, scan_library
from display_layouts.render import Renderer
from firmware_bridge.events import SerialLinkChanged, SerialProblem

__all__ = ["Agent", "Reload", "Wake"]

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0  # re-check at least this often: wall-clock jumps (NTP at boot) are caught
SCREEN_PUMP_S = 0.25  # a window must answer its window system


MAX_FAILURES_LOGGED = 100  # kinds of loop failure whose traceback is logged (bounded)


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
        self.tz = ZoneInfo(config.board.timezone)
        board = config.board
        root = config.mqtt.topic_root if config.mqtt else "signage/v1"
        self.topics = Topics(root, board.district, board.commune, board.id)
        # Damaged state files are found before the outbox exists: said once it does.
        self.events = Events(self.clock, self.tz, self.topics.events)
        self.storage = StorageHealth(self.events.storage_error)
        self.inflow = Inflow(self.topics)  # the queue other threads put on (agent/inflow.py)
        self.queue = self.inflow.queue
        self.refusals = Refusals(self.events, self.topics)
        # A bad layout file is left out and reported (display.error once the loop runs),
        # never fatal: the board starts with the rest, and the built-in layouts always work.
        scan = scan_library(config.display.layouts_dir)
        self._layout_problems = [skipped.summary() for skipped in scan.skipped]
        self._open_content(config, scan.library)
        state_dir = config.storage.state_dir
        self.drawable = self.content.drawable
        self.playback = Playback(self.tz, ready=self.content.may_show)
        display_problem = self._open_display(config, output, frame_file)
        self.brightness = Brightness(config.brightness.schedule, self.tz)
        self.alert_desk = AlertDesk(AlertStore(state_dir, self.storage), self.events.storage_error)
        link, outbox = open_broker(
            config, self.topics, self.queue, self.clock, seq=self.seq, health=self.storage
        )
        self.broker = BrokerSide(self.events, self.inflow, link, outbox)
        self.inbox = (
            InboxWatcher(config.inbox.dir, self.queue, max_files=config.inbox.max_files)
            if config.inbox
            else None
        )
        self._wire_parts(state_dir)
        self._stop = threading.Event()
        self.notifier = Notifier()
        self._loop_progress = self.clock.monotonic()
        self._failures_logged: set[str] = set()  # kinds of failure of the loop's own work
        self.watchdog = Watchdog(self.notifier, [self.render_loop_progress, self.broker_progress])
        self.exit_code = 0
        self._started = self.clock.monotonic()
        self.heartbeats = HeartbeatTimer(config.health.heartbeat_interval_s, self._started)
        self._display_problem = display_problem  # reported once the loop starts
        self._logged_state = ""  # the heartbeat's state line last logged at INFO
        if display_problem:
            self.events.error()
        for problem in self._layout_problems:
            log.error("%s", problem)
        self.events.open(outbox)  # what was found on disk goes out now
        self._stack = self._stops_of_what_is_open()

    def _open_content(self, config: AgentConfig, library: LayoutLibrary) -> None:
        """The state dir's stores, the image cache and fetcher, and content acceptance."""
        state_dir = config.storage.state_dir
        ensure_dir(state_dir, self.storage)
        self.store = ContentStore(
            state_dir,
            self.storage,
            max_bytes=cached_content_limit(config.content.max_payload_bytes),
        )
        self.seq = SeqCounter(state_dir / "heartbeat.seq", self.storage)
        self.probe = SystemProbe(state_dir)
        self.image_limits = image_limits(config.content)
        ensure_dir(state_dir / "assets", self.storage)
        self.assets = AssetCache(
            state_dir / "assets",
            limits=self.image_limits,
            max_bytes=config.content.max_asset_bytes,
            health=self.storage,
        )
        self.fetcher = AssetFetcher(self.assets, self.queue, settings=settings_from(config.content))
        self.content = ContentDesk(
            self.events,
            self.refusals,
            store=self.store,
            storage=self.storage,
            assets=self.assets,
            fetcher=self.fetcher,
            library=library,
            max_payload_bytes=config.content.max_payload_bytes,
            image_limits=self.image_limits,
        )

    def _open_display(
        self, config: AgentConfig, output: Output | None, frame_file: Path | None
    ) -> str | None:
        """The output (no writer thread yet), the layouts, the renderer and the screen;
        returns a problem to report when the output fell back to another one."""
        self.output, problem = (
            (output, None)
            if output is not None
            else (
                open_board_output(config, frame_file, report=self._from_serial, now=self.events.now)
            )
        )
        self.renderer = Renderer(
            self.output.size,
            library=self.library,
            images=self.content.image,
            fps=config.display.fps,
            panel="led" if self.output.kind == "serial" else None,
        )
        self.screen = Screen(self.output, self.renderer, self.events.display_error)
        return problem

    def _wire_parts(self, state_dir: Path) -> None:
        """The parts that use other parts: commands, inbound routing, fault recovery."""
        self.commands = CommandRunner(self, state_dir / "commands.seen")
        self.intake = Intake(
            self.events,
            self.refusals,
            topics=self.topics,
            content=self.content,
            alerts=self.alert_desk,
            commands=self.commands,
            max_payload_bytes=self.config.content.max_payload_bytes,
        )
        self.faults = FaultRecovery(
            self.events,
            screen=self.screen,
            playback=self.playback,
            alerts=self.alert_desk,
            content=self.content,
            frame=self._frame,
        )

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

    @property
    def rejections(self) -> RejectionLimiter:
        return self.refusals.limiter

    # --- set-up and shutdown -------------------------------------------------------------

    def _from_serial(self, message: object) -> None:
        """The serial writer's reports (its thread): onto the queue, typed."""
        if isinstance(message, SerialLinkChanged | SerialProblem):
            self.queue.put(message)
        else:
            log.error("unexpected report from the serial writer: %r", message)

    def reload(self) -> str | None:
        """Layouts read again (SIGHUP, `reload` command), the cached content checked against
        them and the frame drawn anew. A bad file is left out (one display.error each) and
        the rest is used; the problems are returned, or None when every file was good."""
        scan = scan_library(self.config.display.layouts_dir)
        problems = [skipped.summary() for skipped in scan.skipped]
        for problem in problems:
            log.error("%s", problem)
            self.events.display_error(problem)
        self.library = self.renderer.library = scan.library
        # Layouts changed: what failed to draw may draw now, and what fitted may not.
        self.drawable.layouts_changed()
        self.content.recheck()
        self.screen.frame = None
        self.tick()
        return "; ".join(problems) if problems else None

    def render_loop_progress(self, allowed_s: float) -> bool:
        return self.clock.monotonic() - self._loop_progress < allowed_s

    def broker_progress(self, allowed_s: float) -> bool:
        return self.broker.progress(allowed_s)

    def _now_showing(self) -> NowShowing | None:
        return on_air.now_showing(self.alert_desk.rotation, self.playback.showing, self.tz)

    def _status_line(self) -> str:
        active = len(self.alert_desk.book.active())
        broker = self.broker
        return on_air.status_line(broker.state(), self._now_showing(), active, broker.trouble())

    def request_stop(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code
        self._stop.set()
        # Wake the loop from another thread: a signal handler must not take the queue's lock.
        threading.Thread(target=self.queue.put, args=(Wake(),), daemon=True).start()

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            self.request_stop()

        def on_hangup(_signum: int, _frame: FrameType | None) -> None:
            threading.Thread(target=self.queue.put, args=(Reload(),), daemon=True).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGHUP, on_hangup)

    def start(self) -> None:
        """Show cached content at once, then start listening (inbox, broker). Each part
        that starts registers its stop on the stack that `_shutdown` unwinds."""
        events, stack = self.events, self._stack
        start_output = getattr(self.output, "start", None)  # a serial writer's thread
        if callable(start_output):
            start_output()
        self.content.load()
        misfits = self.content.recheck(emit=False)  # before the first frame shows them
        restored = self.alert_desk.load(events.now())
        self.tick()  # the first frame, before (and without) any broker
        self.notifier.ready(self._status_line())
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
                if self.guarded(self.fetcher.supervise) & self.guarded(self.tick):
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

    def _now(self) -> datetime:
        return self.events.now()

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
        waits = [MAX_WAIT_S, self.heartbeats.next_at - mono]
        if (summary_due := self.rejections.next_due()) is not None:
            waits.append(summary_due - mono)
        wakeup = self.playback.next_wakeup(now, self.playlists)
        deadlines = (
            wakeup,
            self.screen.refresh_at,
            self.alert_desk.next_wakeup(),
            self.brightness.next_change(now),
        )
        for deadline in deadlines:
            if deadline is not None:
                waits.append((deadline - now).total_seconds())
        if self.output.kind == "screen":
            waits.append(SCREEN_PUMP_S)
        return max(0.0, min(waits))

    def tick(self) -> None:
        """Act on what is due now: alerts, a new slot, a clock redraw, a heartbeat."""
        now = self._now()
        events = self.events
        if not self.output.pump():
            self.request_stop()
        self.screen.set_brightness(self.brightness.current(now))
        events.emit_all(self.alert_desk.expire(now))
        rotation = self.alert_desk.rotation
        full_changed, banner_changed = rotation.update(now, self.alert_desk.book.active())
        started = on_air.advance(self.playback, rotation, now, self.playlists, full_changed)
        if not self.screen.show(self._frame(now)):
            self.screen.refresh(now)
        if self.screen.faults:
            started = self.faults.recover(now, started, self.playlists)
        self.content.after_draw()
        proofs = on_air.proofs(
            self.events.now,
            power_on=self.screen.power_on,
            rotation=rotation,
            started=started,
            full_changed=full_changed,
            banner_changed=banner_changed,
        )
        events.emit_all(proofs)
        self.refusals.report_due()
        if self.heartbeats.due(self.clock.monotonic()):
            self._send_heartbeat()

    def _frame(self, now: datetime) -> Frame:
        rotation, showing = self.alert_desk.rotation, self.playback.showing
        return on_air.frame(
            now, self.config.board.name, rotation, showing, self.drawable.use_builtin
        )

    # --- inbound -------------------------------------------------------------------------

    def guarded(self, step: Callable[[], object]) -> bool:
        """Run one piece of a turn's work; a bug in it must not stop the board: counted,
        and logged with its traceback once per kind of failure (not 30 times a second)."""
        try:
            step()
        except Exception as exc:
            self.events.errors_total += 1
            kind = f"{getattr(step, '__qualname__', step)}: {type(exc).__name__}: {exc}"[:300]
            if kind not in self._failures_logged:
                if len(self._failures_logged) < MAX_FAILURES_LOGGED:
                    self._failures_logged.add(kind)
                log.exception("error in %s (logged once)", getattr(step, "__qualname__", step))
            return False
        return True

    def handle(self, message: CoreMessage) -> None:
        """One message from another thread (broker, inbox, fetcher, serial, signal)."""
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
                    self.notifier.status(self._status_line())
            case LinkTrouble():  # a denial: the technician's `systemctl status` says so now
                self.notifier.status(self._status_line())
            case AssetReady() | AssetFailure() | FetcherRestarted():
                self._on_asset(message)
            case SerialLinkChanged() | SerialProblem():
                self._on_serial(message)
            case Reload():
                log.info("SIGHUP: reloading layouts")
                self.reload()
            case Wake():
                pass
            case _:
                _unexpected(message)

    def _on_asset(self, message: AssetReady | AssetFailure | FetcherRestarted) -> None:
        events = self.events
        match message:
            case AssetReady(sha256=sha256):
                self.content.asset_ready(sha256)
            case AssetFailure(item_ids=item_ids, url=url, message=text):
                for item_id in item_ids:
                    failed = AssetFailed(at=events.now(), item_id=item_id, url=url, message=text)
                    events.emit(failed)
            case FetcherRestarted(message=text):
                events.display_error(text)

    def _on_serial(self, message: SerialLinkChanged | SerialProblem) -> None:
        events = self.events
        match message:
            case SerialLinkChanged(up=True, port=port, message=text):
                events.emit(SerialLinkUp(at=events.now(), port=port, message=text))
            case SerialLinkChanged(port=port, message=text):
                events.error()
                events.emit(SerialLinkDown(at=events.now(), port=port, message=text))
            case SerialProblem(port=port, message=text):
                events.display_error(f"{port}: {text}")

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

    def _send_heartbeat(self) -> None:
        heartbeat = self.heartbeat()
        body = heartbeat.model_dump_json()
        log.debug("heartbeat %s", body)  # every interval: only with -v
        state = heartbeat.state_line()
        if state != self._logged_state:
            log.info("heartbeat %d: %s", heartbeat.seq, state)
            self._logged_state = state
        self.send(self.topics.heartbeat, body)
        self.notifier.status(self._status_line())  # a link failure shows without a change
        self.heartbeats.sent(self.clock.monotonic())

    def heartbeat(self) -> Heartbeat:
        mono = self.clock.monotonic()
        return assemble_heartbeat(
            board_id=self.config.board.id,
            seq=self.seq.next(),
            sent_at=self._now(),
            uptime_s=int(mono - self._started),
            now_showing=self._now_showing(),
            alerts_active=self.alert_desk.active_ids(),
            playlists=self.playlists,
            display=self.screen.health(mono),
            serial=serial_health(self.output),
            system=self.probe.read(),
            mqtt=self.broker.health(self.tz),
            errors_total=self.errors_total,
        )


def _unexpected(message: Never) -> None:
    """Every kind of `CoreMessage` has its case above: mypy says so when one is missing;
    at run time, something else put on the queue (a bug) is said and left."""
    log.error("unexpected message on the core queue: %r", message)
