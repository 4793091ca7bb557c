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
import queue
import signal
import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Literal, Never
from zoneinfo import ZoneInfo

from agent import on_air
from agent.acceptance import ContentDesk
from agent.alert_desk import AlertDesk
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
from agent.clock import Clock, SystemClock
from agent.commands import CommandRunner
from agent.config import AgentConfig
from agent.core_queue import CoreMessage, Reload, Wake
from agent.events import Events
from agent.health import SystemProbe, assemble_heartbeat, mqtt_health
from agent.inbox import InboxFile, InboxWatcher
from agent.intake import Intake
from agent.link import Delivered, LinkDown, LinkTrouble, LinkUp, MqttLink, Received
from agent.messages import (
    AssetFailed,
    Channel,
    DisplayError,
    ErrorDetail,
    EventBase,
    Heartbeat,
    NowShowing,
    Playlist,
    SerialLinkDown,
    SerialLinkUp,
)
from agent.outbox import MAX_MESSAGE_BYTES, Outbox
from agent.output import Output, SerialLine, open_output
from agent.playback import Playback, Showing
from agent.refusals import Refusals
from agent.rejections import RejectionLimiter
from agent.screen import DrawFault, Frame, Screen
from agent.sdnotify import Notifier, Watchdog
from agent.storage import (
    AlertStore,
    ContentStore,
    SeqCounter,
    StorageHealth,
    cached_content_limit,
    ensure_dir,
)
from agent.topics import AlertTopic, ContentTopic, Topics
from display_layouts.library import scan_library
from display_layouts.render import Renderer
from firmware_bridge.events import SerialLinkChanged, SerialProblem

__all__ = ["Agent", "Reload", "Wake"]

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0  # re-check at least this often: wall-clock jumps (NTP at boot) are caught
SCREEN_PUMP_S = 0.25  # a window must answer its window system
# Redraws after a fault within one tick: each skips one more item or falls back to a
# built-in layout, so a few always end on something drawable (idle at worst).
MAX_FAULT_REDRAWS = 8
# Messages handed to paho and not yet acknowledged: no more than paho's in-flight limit
# (link.py), so none wait in paho's own queue, where an alert event could not overtake them.
OUTBOX_WINDOW = 20
# The core's queue is unbounded: no thread ever blocks on it, and nothing on it is dropped.
# What bounds it: the broker sends at most `link.RECEIVE_MAXIMUM` unacknowledged messages
# (each is acknowledged once handled), QoS 0 is capped by the link, the rest is rare.
# A turn handles what has arrived for at most this long, then draws and sends heartbeats:
HANDLE_BUDGET_S = 0.2
RANKS = 4  # handling order of a backlog, see Agent._rank


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
        self.queue: queue.Queue[CoreMessage] = queue.Queue()  # unbounded: see HANDLE_BUDGET_S
        # Arrived, not handled yet: one queue per rank (see `_rank`), each in arrival order.
        self._backlog: list[deque[CoreMessage]] = [deque() for _ in range(RANKS)]
        self._restored: list[EventBase] = []  # events of restored alerts, for the first LinkUp
        self.refusals = Refusals(self.events, self.topics)
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
            layouts=lambda: self.library.specs,  # the library changes with a reload
            max_payload_bytes=config.content.max_payload_bytes,
            image_limits=self.image_limits,
        )
        self.drawable = self.content.drawable
        self.playback = Playback(self.tz, ready=self.content.may_show)
        self.output, display_problem = self._open_output(output, frame_file)
        # A bad layout file is left out and reported (display.error once the loop runs),
        # never fatal: the board starts with the rest, and the built-in layouts always work.
        scan = scan_library(config.display.layouts_dir)
        self.library = scan.library
        self._layout_problems = [skipped.summary() for skipped in scan.skipped]
        self.renderer = Renderer(
            self.output.size,
            library=self.library,
            images=self.content.image,
            fps=config.display.fps,
            panel="led" if self.output.kind == "serial" else None,
        )
        self.screen = Screen(self.output, self.renderer, self.events.display_error)
        self.brightness = Brightness(config.brightness.schedule, self.tz)
        self.alert_desk = AlertDesk(AlertStore(state_dir, self.storage), self.events.storage_error)
        self.link, self.outbox = self._open_broker(state_dir)
        self.inbox = (
            InboxWatcher(config.inbox.dir, self.queue, max_files=config.inbox.max_files)
            if config.inbox
            else None
        )
        self.commands = CommandRunner(self, state_dir / "commands.seen")
        self.intake = Intake(
            self.events,
            self.refusals,
            topics=self.topics,
            content=self.content,
            alerts=self.alert_desk,
            commands=self.commands,
            max_payload_bytes=config.content.max_payload_bytes,
        )
        self._stop = threading.Event()
        self.notifier = Notifier()
        self._loop_progress = self.clock.monotonic()
        self.watchdog = Watchdog(self.notifier, [self.render_loop_progress, self.broker_progress])
        self.exit_code = 0
        self._started = self.clock.monotonic()
        self._next_heartbeat = self._started
        self._display_problem = display_problem  # reported once the loop starts
        self._logged_state = ""  # the heartbeat's state line last logged at INFO
        if display_problem:
            self.events.error()
        for problem in self._layout_problems:
            log.error("%s", problem)
        self.events.open(self.outbox)  # what was found on disk goes out now
        self._stack = self._stops_of_what_is_open()

    def _stops_of_what_is_open(self) -> contextlib.ExitStack:
        """One stop path: what the constructor opened is closed last, in reverse (the
        parts started by `start` push their stops later, so they are popped first)."""
        stack = contextlib.ExitStack()
        stack.callback(self.output.close)
        stack.callback(self.seq.close)
        if self.outbox is not None:
            stack.callback(self._spool_outbox)
        stack.callback(self.fetcher.stop)
        return stack

    # --- what parts and tests read ---------------------------------------------------------

    @property
    def playlists(self) -> dict[Channel, Playlist]:
        return self.content.playlists

    @playlists.setter
    def playlists(self, playlists: dict[Channel, Playlist]) -> None:
        self.content.playlists = playlists

    @property
    def errors_total(self) -> int:
        return self.events.errors_total

    @property
    def rejections(self) -> RejectionLimiter:
        return self.refusals.limiter

    # --- set-up and shutdown -------------------------------------------------------------

    def _open_broker(self, state_dir: Path) -> tuple[MqttLink | None, Outbox | None]:
        """The MQTT link and the outbox behind it; neither without `[mqtt]` (inbox only)."""
        mqtt = self.config.mqtt
        if mqtt is None:
            return None, None
        topics = self.topics
        link = MqttLink(
            mqtt, self.config.board.id, topics, self.queue, self.clock, subscribe_alerts=True
        )
        outbox = Outbox(
            state_dir,
            link.publish,
            bound=mqtt.outbox_bound,
            window=OUTBOX_WINDOW,
            topics=(topics.heartbeat, topics.events, topics.command_result),
            # The hard cap, or the broker's limit once it has announced or shown one.
            max_message_bytes=lambda: min(
                MAX_MESSAGE_BYTES, link.max_packet_size or MAX_MESSAGE_BYTES
            ),
            health=self.storage,
        )
        if outbox.highest_seq is not None:  # never below a heartbeat still waiting
            self.seq.at_least(outbox.highest_seq + 1)
        return link, outbox

    def _open_output(
        self, given: Output | None, frame_file: Path | None
    ) -> tuple[Output, str | None]:
        if given is not None:
            return given, None
        if self.config.serial is not None and self.config.display.output == "serial":
            from firmware_bridge.output import SerialOutput  # only boards with a controller

            return SerialOutput(self.config.serial, self._from_serial, now=self.events.now), None
        display = self.config.display
        size = (display.width, display.height) if display.width and display.height else None
        return open_output(display.output, size, display.fullscreen, frame_file)

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
        return self.link is None or self.link.making_progress(allowed_s)

    def _now_showing(self) -> NowShowing | None:
        return on_air.now_showing(self.alert_desk.rotation, self.playback.showing, self.tz)

    def _status_line(self) -> str:
        link = self.link
        broker: Literal["none", "online", "offline"] = (
            "none" if link is None else ("online" if link.connected else "offline")
        )
        active = len(self.alert_desk.book.active())
        trouble = link.problems() if link is not None else None
        return on_air.status_line(broker, self._now_showing(), active, trouble)

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
        if self.link is None:
            events.emit_all(restored)
        else:
            # Sent once the broker is reachable: spooled now, thousands of restored alerts
            # (a retained burst before the restart) cost one fsync each and held the
            # connection back for seconds — minutes on an SD card.
            self._restored = restored
        if self._display_problem:
            events.emit(DisplayError(at=events.now(), message=self._display_problem))
        for problem in self._layout_problems:
            events.display_error(problem)
        events.emit_all(list(misfits))
        if self.inbox is not None:
            self.inbox.start()
            stack.callback(self.inbox.stop)
        if self.link is not None:
            # Stopped first: it publishes `offline` and waits for its PUBACK; the broker
            # acknowledges in order, so what was handed over before it (a `restart`
            # result) is confirmed by then, and `_spool_outbox` keeps only the rest.
            stack.callback(self.link.stop)
            self.link.start()

    def run(self) -> int:
        """Serve until asked to stop; returns the exit status."""
        try:
            self.start()
            while not self._stop.is_set():
                self._wait_and_handle()
                self._loop_progress = self.clock.monotonic()
                self.fetcher.supervise()  # a dead download worker is replaced, and reported
                self.tick()
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

    def _spool_outbox(self) -> None:
        """After the link stopped: what the broker confirmed while stopping is neither
        spooled nor sent twice; what it has not confirmed survives the restart."""
        assert self.outbox is not None
        self._take_deliveries()
        self.outbox.link_down()

    def _take_deliveries(self) -> None:
        """Acknowledgements that arrived after the loop stopped (the rest stays unhandled:
        unacknowledged, so the broker sends it again to the next run)."""
        assert self.outbox is not None
        for message in self._backlog[0]:  # rank 0 holds the link's messages
            if isinstance(message, Delivered):
                self.outbox.delivered(message.mid)
        while True:
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(message, Delivered):
                self.outbox.delivered(message.mid)

    # --- the loop ------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.events.now()

    def _wait_and_handle(self) -> None:
        """Wait for messages, then handle what has arrived, most urgent first, for at most
        HANDLE_BUDGET_S: under a flood the loop still draws and sends heartbeats."""
        if not any(self._backlog):
            try:
                self._enqueue(self.queue.get(timeout=self._seconds_until_next_deadline()))
            except queue.Empty:
                return
        while True:  # take what else arrived, without waiting
            try:
                self._enqueue(self.queue.get_nowait())
            except queue.Empty:
                break
        # Real time, not the agent's clock: this bounds the work done per turn.
        deadline = time.monotonic() + HANDLE_BUDGET_S
        for line in self._backlog:
            while line:
                self.handle(line.popleft())
                if time.monotonic() >= deadline:
                    return

    def _enqueue(self, message: CoreMessage) -> None:
        self._backlog[self._rank(message)].append(message)

    def _rank(self, message: CoreMessage) -> int:
        """Handling order of a backlog: link state and signals (cheap), then alerts, then
        content, then commands."""
        if isinstance(message, Received):
            route = self.topics.route(message.topic)
            if isinstance(route, AlertTopic):
                return 1
            return 2 if isinstance(route, ContentTopic) else 3
        return 2 if isinstance(message, InboxFile) else 0

    def _seconds_until_next_deadline(self) -> float:
        if any(self._backlog):
            return 0.0
        now = self.clock.now()
        mono = self.clock.monotonic()
        waits = [MAX_WAIT_S, self._next_heartbeat - mono]
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
            started = self._after_faults(now, started)
        self.content.after_draw()
        proofs = on_air.proofs(
            self._now(),
            power_on=self.screen.power_on,
            rotation=rotation,
            started=started,
            full_changed=full_changed,
            banner_changed=banner_changed,
        )
        events.emit_all(proofs)
        self.refusals.report_due()
        if self.clock.monotonic() >= self._next_heartbeat:
            self._send_heartbeat()

    def _frame(self, now: datetime) -> Frame:
        rotation, showing = self.alert_desk.rotation, self.playback.showing
        return on_air.frame(
            now, self.config.board.name, rotation, showing, self.drawable.use_builtin
        )

    # --- what cannot be drawn -------------------------------------------------------------

    def _after_faults(self, now: datetime, started: Showing | None) -> Showing | None:
        """A part of the frame failed to draw: skip the item (the rotation moves on), or
        draw a reserved layout with its built-in version (an alert is never lost); then
        draw again. Returns the slot that started, for proof of play: not the skipped one."""
        for _ in range(MAX_FAULT_REDRAWS):
            # One fault per part: a part that failed once per step of drawing it (layout,
            # band, schedule) failed once.
            faults = {fault.part: fault for fault in reversed(self.screen.take_faults())}
            changed = [self._on_fault(fault) for fault in faults.values()]
            if not any(changed):
                break
            if self.alert_desk.rotation.full is None:
                showing = self.playback.update(now, self.playlists)
                if showing is not None:
                    started = showing
            self.screen.show(self._frame(now))
        self.screen.take_faults()  # reported above, or past the bound: the board goes on
        if (
            started is not None
            and started.entry is not None
            and not self.content.may_show(started.entry.item)
        ):
            return None
        return started

    def _on_fault(self, fault: DrawFault) -> bool:
        """Act on one fault, reporting it once; True when the frame must be drawn again."""
        rotation = self.alert_desk.rotation
        showing = self.playback.showing
        if fault.part == "banner" and rotation.banner is not None:
            subject = f"alert {rotation.banner.alert.id}"
        elif fault.part == "base" and rotation.full is not None:
            subject = f"alert {rotation.full.alert.id}"
        elif fault.part == "base" and showing is not None and showing.entry is not None:
            message = self.drawable.item_failed(showing.entry, fault)
            if message is not None:
                self.events.display_error(message)
            return message is not None
        else:
            subject = "idle"
        told, redraw = self.drawable.reserved_failed(subject, fault, self.library)
        if told is not None:
            self.events.display_error(told)
        return redraw

    # --- inbound -------------------------------------------------------------------------

    def handle(self, message: CoreMessage) -> None:
        """One message from another thread (broker, inbox, fetcher, serial, signal)."""
        try:
            self._dispatch(message)
        except Exception:  # a bug in one message's handling must not stop the board
            self.events.error()
            log.exception("error handling %s", type(message).__name__)
        finally:
            if isinstance(message, Received) and self.link is not None:
                # Handled (and persisted): only now may the broker forget it.
                self.link.ack(message)

    def _dispatch(self, message: CoreMessage) -> None:
        events = self.events
        match message:
            case Received() as received:
                self.intake.on_received(received)
            case InboxFile() as file:
                self.intake.on_inbox_file(file)
            case LinkUp() | LinkDown() | Delivered():
                self._on_link(message)
            case LinkTrouble():  # a denial: the technician's `systemctl status` says so now
                self.notifier.status(self._status_line())
            case AssetReady(sha256=sha256):
                self.content.asset_ready(sha256)
            case AssetFailure(item_ids=item_ids, url=url, message=text):
                for item_id in item_ids:
                    failed = AssetFailed(at=events.now(), item_id=item_id, url=url, message=text)
                    events.emit(failed)
            case FetcherRestarted(message=text):
                events.display_error(text)
            case SerialLinkChanged() | SerialProblem():
                self._on_serial(message)
            case Reload():
                log.info("SIGHUP: reloading layouts")
                self.reload()
            case Wake():
                pass
            case _:
                _unexpected(message)

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

    def _on_link(self, message: LinkUp | LinkDown | Delivered) -> None:
        outbox = self.outbox
        match message:
            case LinkUp(since=since):
                log.info("connected to the broker since %s", since.isoformat())
                if outbox is not None:
                    outbox.link_up()
                restored, self._restored = self._restored, []
                self.events.emit_all(restored)  # alerts active since before the restart
            case LinkDown(reason=reason):
                log.warning("broker connection lost (%s); showing cached content", reason)
                if outbox is not None:
                    outbox.link_down()
            case Delivered(mid=mid):
                if outbox is not None:
                    outbox.delivered(mid)
                return
        self.notifier.status(self._status_line())

    def reject(self, topic: str, channel: Channel | None, errors: list[ErrorDetail]) -> bool:
        """Report bad input (agent/refusals.py); returns whether it was reported."""
        return self.refusals.reject(topic, channel, errors)

    # --- outbound ------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes) -> None:
        """Straight to the broker when connected (screenshots); lost when not."""
        if self.link is not None and self.link.connected:
            self.link.publish(topic, payload)

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
        self._next_heartbeat += self.config.health.heartbeat_interval_s
        if self._next_heartbeat < self.clock.monotonic():  # we were suspended: no burst
            self._next_heartbeat = self.clock.monotonic() + self.config.health.heartbeat_interval_s

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
            serial=self.output.health() if isinstance(self.output, SerialLine) else None,
            system=self.probe.read(),
            mqtt=mqtt_health(self.link, self.tz, self.outbox),
            errors_total=self.errors_total,
        )


def _unexpected(message: Never) -> None:
    """Every kind of `CoreMessage` has its case above: mypy says so when one is missing;
    at run time, something else put on the queue (a bug) is said and left."""
    log.error("unexpected message on the core queue: %r", message)
