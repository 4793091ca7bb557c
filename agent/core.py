"""The agent's core: owns the state and runs the loop that ties the parts together.

One thread (the main one: SDL wants it) does everything that changes state. Other threads
(paho's network loop, the inbox observer, signal delivery) only put messages on
`self.queue`. Each turn of the loop: handle what arrived, ask the playback what is due,
draw only when the frame changed, send a heartbeat when one is due, then sleep until the
next deadline or the next message.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import signal
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from agent import __version__
from agent.alert_desk import AlertDesk, alert_fields, alert_id_of, alert_texts
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
from agent.content import (
    channel_summary,
    glyph_warnings,
    parse_playlist,
    playlist_texts,
    remote_images,
)
from agent.drawable import Drawable
from agent.health import SystemProbe
from agent.inbox import InboxFile, InboxWatcher, Unreadable, read_inbox_file, update_sidecar
from agent.link import Delivered, LinkDown, LinkTrouble, LinkUp, MqttLink, Received
from agent.messages import (
    CHANNELS,
    HEARTBEAT_ALERT_IDS,
    AlertStarted,
    AlertUpdated,
    AssetFailed,
    Channel,
    ContentAccepted,
    ContentCleared,
    ContentIgnored,
    ContentRejected,
    ContentWarning,
    DisplayError,
    EventBase,
    Heartbeat,
    ImageRef,
    InputSuppressed,
    MqttHealth,
    NowShowing,
    PlaybackStarted,
    Playlist,
    PlaylistItem,
    SerialLinkDown,
    SerialLinkUp,
    StorageError,
    log_excerpt,
)
from agent.outbox import MAX_MESSAGE_BYTES, Outbox
from agent.output import Output, open_output, serial_health
from agent.playback import Playback, Showing
from agent.rejections import RejectionLimiter, Suppressed
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
from agent.topics import AlertTopic, CommandTopic, ContentTopic, Topics
from agent.validation import InvalidInput, Problem
from display_layouts.library import scan_library
from display_layouts.render import Renderer, Scene
from firmware_bridge.events import SerialLinkChanged, SerialProblem

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0  # re-check at least this often: wall-clock jumps (NTP at boot) are caught
SCREEN_PUMP_S = 0.25  # a window must answer its window system
# Redraws after a fault within one tick: each skips one more item or falls back to a
# built-in layout, so a few always end on something drawable (idle at worst).
MAX_FAULT_REDRAWS = 8
MAX_FAILURES_LOGGED = 100  # kinds of loop failure whose traceback is logged (bounded)
# Messages handed to paho and not yet acknowledged: no more than paho's in-flight limit
# (link.py), so none wait in paho's own queue, where an alert event could not overtake them.
OUTBOX_WINDOW = 20
# The core's queue is unbounded: no thread ever blocks on it, and nothing on it is dropped.
# What bounds it: the broker sends at most `link.RECEIVE_MAXIMUM` unacknowledged messages
# (each is acknowledged once handled), QoS 0 is capped by the link, the rest is rare.
# A turn handles what has arrived for at most this long, then draws and sends heartbeats:
HANDLE_BUDGET_S = 0.2
REJECTED_RETAINED_KEEP = 1024  # fingerprints of rejected payloads (32 bytes each)
RANKS = 4  # handling order of a backlog, see Agent._rank
LOGGED_ERRORS = 5  # a rejection's log line names the first few problems, not thousands


@dataclass(frozen=True, slots=True)
class Wake:
    """Put on the queue to make the loop look at its flags now (signals)."""


@dataclass(frozen=True, slots=True)
class Reload:
    """SIGHUP: read the layouts again."""


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
        self.errors_total = 0
        # Damaged state files are found before the outbox exists: said at the end of set-up.
        self._storage_said: list[str] | None = []
        self.storage = StorageHealth(self._storage_error)
        self.queue: queue.Queue[Any] = queue.Queue()  # unbounded: see HANDLE_BUDGET_S
        self._set_up_inflow()
        board = config.board
        root = config.mqtt.topic_root if config.mqtt else "signage/v1"
        self.topics = Topics(root, board.district, board.commune, board.id)
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
        self.playlists: dict[Channel, Playlist] = {}
        self.playback = Playback(self.tz, ready=self._may_show)
        self.drawable = Drawable()  # items left out: they no longer fit, or failed to draw
        self.output, display_problem = self._open_output(output, frame_file)
        # A bad layout file is left out and reported (display.error once the loop runs),
        # never fatal: the board starts with the rest, and the built-in layouts always work.
        scan = scan_library(config.display.layouts_dir)
        self.library = scan.library
        self._layout_problems = [skipped.summary() for skipped in scan.skipped]
        self.renderer = Renderer(
            self.output.size,
            library=self.library,
            images=self.assets.get,
            fps=config.display.fps,
            panel="led" if self.output.kind == "serial" else None,
        )
        self.screen = Screen(self.output, self.renderer, self._display_error)
        self.brightness = Brightness(config.brightness.schedule, self.tz)
        self.alert_desk = AlertDesk(AlertStore(state_dir, self.storage), self._storage_error)
        self.link, self.outbox = self._open_broker(state_dir)
        self.inbox = (
            InboxWatcher(config.inbox.dir, self.queue, max_files=config.inbox.max_files)
            if config.inbox
            else None
        )
        self._inbox_alerts: dict[Path, str] = {}  # alert files in the inbox: path → alert id
        self.commands = CommandRunner(self, state_dir / "commands.seen")
        self._stop = threading.Event()
        self.notifier = Notifier()
        self._loop_progress = self.clock.monotonic()
        self.watchdog = Watchdog(self.notifier, [self.render_loop_progress, self.broker_progress])
        self.exit_code = 0
        self._started = self.clock.monotonic()
        self._next_heartbeat = self._started
        self._display_problem = display_problem  # reported once the loop starts
        self._logged_state = ""  # the heartbeat's state line last logged at INFO
        self._failures_logged: set[str] = set()  # kinds of failure of the loop's own work
        self.errors_total += 1 if display_problem else 0
        for problem in self._layout_problems:
            log.error("%s", problem)
        said, self._storage_said = self._storage_said or [], None
        for message in said:  # the outbox exists now: what was found on disk goes out
            self._emit(StorageError(at=self._now(), message=message))

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

    def _set_up_inflow(self) -> None:
        """The inbound side's state: the backlog and what floods and replays need."""
        # Arrived, not handled yet: one queue per rank (see `_rank`), each in arrival order.
        self._backlog: list[deque[Any]] = [deque() for _ in range(RANKS)]
        self.rejections = RejectionLimiter()
        # Fingerprints of rejected inbound messages: the same retained payload, replayed by
        # the broker at every reconnect, is not reported again.
        self._rejected: OrderedDict[bytes, None] = OrderedDict()
        self._inbound: Received | None = None  # the MQTT message being handled
        self._restored: list[EventBase] = []  # events of restored alerts, for the first LinkUp

    def _open_output(
        self, given: Output | None, frame_file: Path | None
    ) -> tuple[Output, str | None]:
        if given is not None:
            return given, None
        if self.config.serial is not None and self.config.display.output == "serial":
            from firmware_bridge.output import SerialOutput  # only boards with a controller

            return SerialOutput(self.config.serial, self.queue.put, now=self._now), None
        display = self.config.display
        size = (display.width, display.height) if display.width and display.height else None
        return open_output(display.output, size, display.fullscreen, frame_file)

    def reload(self) -> str | None:
        """Layouts read again (SIGHUP, `reload` command), the cached content checked against
        them and the frame drawn anew. A bad file is left out (one display.error each) and
        the rest is used; the problems are returned, or None when every file was good."""
        scan = scan_library(self.config.display.layouts_dir)
        problems = [skipped.summary() for skipped in scan.skipped]
        for problem in problems:
            log.error("%s", problem)
            self._display_error(problem)
        self.library = self.renderer.library = scan.library
        # Layouts changed: what failed to draw may draw now, and what fitted may not.
        self.drawable.layouts_changed()
        self._recheck_content()
        self.screen.frame = None
        self.tick()
        return "; ".join(problems) if problems else None

    def render_loop_progress(self, allowed_s: float) -> bool:
        return self.clock.monotonic() - self._loop_progress < allowed_s

    def broker_progress(self, allowed_s: float) -> bool:
        return self.link is None or self.link.making_progress(allowed_s)

    def _status_line(self) -> str:
        broker = (
            "no broker"
            if self.link is None
            else ("online" if self.link.connected else "offline (showing cached content)")
        )
        showing = self._now_showing()
        what = f"{showing.channel}/{showing.item_id}" if showing else "idle"
        line = f"{broker}; showing {what}; {len(self.alert_desk.book.active())} alerts"
        trouble = self.link.problems() if self.link is not None else None
        return f"{line}; {trouble}" if trouble else line

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
        """Show cached content at once, then start listening (inbox, broker)."""
        self.playlists = self.store.load_all()
        if self.playlists:
            log.info("cached content: %s", ", ".join(sorted(self.playlists)))
            self._refresh_assets()
        misfits = self._recheck_content(emit=False)  # before the first frame shows them
        restored = self.alert_desk.load(self._now())
        self.tick()  # the first frame, before (and without) any broker
        self.notifier.ready(self._status_line())
        self.watchdog.start()
        if self.link is None:
            self._emit_all(restored)
        else:
            # Sent once the broker is reachable: spooled now, thousands of restored alerts
            # (a retained burst before the restart) cost one fsync each and held the
            # connection back for seconds — minutes on an SD card.
            self._restored = restored
        if self._display_problem:
            self._emit(DisplayError(at=self._now(), message=self._display_problem))
        for problem in self._layout_problems:
            self._display_error(problem)
        self._emit_all(list(misfits))
        if self.inbox is not None:
            self.inbox.start()
        if self.link is not None:
            self.link.start()

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
        log.info("stopping")
        self.notifier.stopping()
        self.watchdog.stop()
        if self.inbox is not None:
            self.inbox.stop()
        self.fetcher.stop()
        self._report_suppressed(self.rejections.pending())
        if self.link is not None:
            # Publishes `offline` and waits for its PUBACK: the broker acknowledges in order,
            # so what was handed over before it (a `restart` result) is confirmed by then.
            self.link.stop()
        if self.outbox is not None:
            self._take_deliveries()  # confirmed while stopping: not spooled, not sent twice
            self.outbox.link_down()  # what the broker has not confirmed survives the restart
        self.seq.close()
        self.output.close()

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
        return self.clock.now().astimezone(self.tz)

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

    def _enqueue(self, message: Any) -> None:
        self._backlog[self._rank(message)].append(message)

    def _rank(self, message: Any) -> int:
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
        if not self.output.pump():
            self.request_stop()
        self.screen.set_brightness(self.brightness.current(now))
        for event in self.alert_desk.expire(now):
            self._emit(event)
        rotation = self.alert_desk.rotation
        full_changed, banner_changed = rotation.update(now, self.alert_desk.book.active())
        started: Showing | None = None
        if rotation.full is None:
            # Content is frozen under a full-screen alert; when the alert ends, the item
            # it interrupted comes back with a fresh slot (and a fresh proof of play).
            resume = full_changed
            started = (self.playback.resume if resume else self.playback.update)(
                now, self.playlists
            )
        if not self.screen.show(self._frame(now)):
            self.screen.refresh(now)
        if self.screen.faults:
            started = self._after_faults(now, started)
        self._prove_play(started, full_changed, banner_changed)
        self._report_suppressed(self.rejections.due(self.clock.monotonic()))
        if self.clock.monotonic() >= self._next_heartbeat:
            self._send_heartbeat()

    def _frame(self, now: datetime) -> Frame:
        board_name = self.config.board.name
        rotation = self.alert_desk.rotation
        if (full := rotation.full) is not None:
            fields = alert_fields(full.alert)
            builtin = "alert_full" in self.drawable.use_builtin
            return Frame(
                Scene("alert_full", fields, board_name, now, started=full.since, builtin=builtin)
            )
        showing = self.playback.showing
        entry = showing.entry if showing else None
        if showing is None or entry is None:
            base = Scene("idle", {}, board_name, now, builtin="idle" in self.drawable.use_builtin)
        else:
            item = entry.item
            base = Scene(item.layout, item.fields, board_name, now, started=showing.since)
        if (banner := rotation.banner) is None:
            return Frame(base)
        fields = alert_fields(banner.alert)
        builtin = "alert_banner" in self.drawable.use_builtin
        overlay = Scene(
            "alert_banner", fields, board_name, now, started=banner.since, builtin=builtin
        )
        return Frame(base, overlay)

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
            and not self._may_show(started.entry.item)
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
                self._display_error(message)
            return message is not None
        else:
            subject = "idle"
        told, redraw = self.drawable.reserved_failed(subject, fault, self.library)
        if told is not None:
            self._display_error(told)
        return redraw

    def _may_show(self, item: PlaylistItem) -> bool:
        """Playback's `ready`: the item can be drawn, and its images are here."""
        return self.drawable.allows(item) and self._assets_ready(item)

    def _recheck_content(self, *, emit: bool = True) -> list[ContentWarning]:
        """Held content checked against the layouts in use (at start, after a reload)."""
        warnings = self.drawable.recheck(self.playlists, self.library.specs, self._now())
        if emit:
            self._emit_all(list(warnings))
        return warnings

    def _prove_play(
        self, started: Showing | None, full_changed: bool, banner_changed: bool
    ) -> None:
        """`playback.started` for what just went on the output (stamped after drawing)."""
        if not self.screen.power_on:
            return  # nothing is seen while the display is off: no proof of play
        rotation = self.alert_desk.rotation
        shown: list[tuple[str, Channel | Literal["alert"], str]] = []
        if full_changed and rotation.full is not None:
            shown.append((rotation.full.alert.id, "alert", "alert_full"))
        if rotation.full is None and banner_changed and rotation.banner is not None:
            shown.append((rotation.banner.alert.id, "alert", "alert_banner"))
        if started is not None and started.entry is not None:
            entry = started.entry
            shown.append((entry.item.id, entry.channel, entry.item.layout))
        for item_id, channel, layout in shown:
            self._emit(
                PlaybackStarted(at=self._now(), item_id=item_id, channel=channel, layout=layout)
            )

    def _display_error(self, message: str) -> None:
        self.errors_total += 1
        self._emit(DisplayError(at=self._now(), message=message))

    def _storage_error(self, message: str) -> None:
        """A problem with the state dir (said once per problem by `self.storage`)."""
        self.errors_total += 1
        log.error("%s", message)
        if self._storage_said is not None:  # during set-up: nothing can be sent yet
            self._storage_said.append(message)
            return
        self._emit(StorageError(at=self._now(), message=message))

    # --- inbound -------------------------------------------------------------------------

    def guarded(self, step: Callable[[], object]) -> bool:
        """Run one piece of a turn's work; a bug in it must not stop the board: counted,
        and logged with its traceback once per kind of failure (not 30 times a second)."""
        try:
            step()
        except Exception as exc:
            self.errors_total += 1
            kind = f"{getattr(step, '__qualname__', step)}: {type(exc).__name__}: {exc}"[:300]
            if kind not in self._failures_logged:
                if len(self._failures_logged) < MAX_FAILURES_LOGGED:
                    self._failures_logged.add(kind)
                log.exception("error in %s (logged once)", getattr(step, "__qualname__", step))
            return False
        return True

    def handle(self, message: Any) -> None:
        """One message from another thread (broker, inbox, signal)."""
        try:
            self._dispatch(message)
        except Exception:  # a bug in one message's handling must not stop the board
            self.errors_total += 1
            log.exception("error handling %s", type(message).__name__)
        finally:
            if isinstance(message, Received) and self.link is not None:
                # Handled (and persisted): only now may the broker forget it.
                self.link.ack(message)

    def _dispatch(self, message: Any) -> None:
        match message:
            case Received() as received:
                self._inbound = received
                try:
                    self._on_received(received)
                finally:
                    self._inbound = None
            case InboxFile() as file:
                self._on_inbox_file(file)
            case LinkUp() | LinkDown() | Delivered():
                self._on_link(message)
            case LinkTrouble():  # a denial: the technician's `systemctl status` says so now
                self.notifier.status(self._status_line())
            case AssetReady(sha256=sha256):
                log.info("image %s is ready", sha256[:12])
            case AssetFailure() as failure:
                self._on_asset_failure(failure)
            case FetcherRestarted(message=message):
                self._display_error(message)
            case SerialLinkChanged() | SerialProblem():
                self._on_serial(message)
            case Reload():
                log.info("SIGHUP: reloading layouts")
                self.reload()
            case Wake():
                pass
            case _:
                log.error("unexpected message on the core queue: %r", message)

    def _on_serial(self, message: SerialLinkChanged | SerialProblem) -> None:
        now = self._now()
        match message:
            case SerialLinkChanged(up=True, port=port, message=text):
                self._emit(SerialLinkUp(at=now, port=port, message=text))
            case SerialLinkChanged(up=False, port=port, message=text):
                self.errors_total += 1
                self._emit(SerialLinkDown(at=now, port=port, message=text))
            case SerialProblem(port=port, message=text):
                self._display_error(f"{port}: {text}")

    def _on_link(self, message: LinkUp | LinkDown | Delivered) -> None:
        outbox = self.outbox
        match message:
            case LinkUp(since=since):
                log.info("connected to the broker since %s", since.isoformat())
                if outbox is not None:
                    outbox.link_up()
                restored, self._restored = self._restored, []
                self._emit_all(restored)  # alerts active since before the restart
            case LinkDown(reason=reason):
                log.warning("broker connection lost (%s); showing cached content", reason)
                if outbox is not None:
                    outbox.link_down()
            case Delivered(mid=mid):
                if outbox is not None:
                    outbox.delivered(mid)
                return
        self.notifier.status(self._status_line())

    def _on_received(self, message: Received) -> None:
        topic, payload = message.topic, message.payload
        route = self.topics.route(topic)
        if isinstance(route, ContentTopic):
            self._on_content(route.channel, topic, payload)
        elif isinstance(route, AlertTopic):
            self._on_alert(route.alert_id, topic, payload)
        elif isinstance(route, CommandTopic):
            self.commands.on_payload(topic, payload, retained=message.retained)
        else:
            log.warning("message on a topic the agent does not handle: %s", topic)

    def _on_content(self, channel: Channel, topic: str, payload: bytes) -> list[Problem]:
        """Apply a channel's new content; returns the errors when it was rejected."""
        if not payload:  # an empty retained payload clears the channel
            if self.playlists.pop(channel, None) is not None:
                self._persist(channel, None)
                self._emit(ContentCleared(at=self._now(), channel=channel))
                self._refresh_assets()
            return []
        try:
            playlist = parse_playlist(
                payload,
                layouts=self.library.specs,
                max_bytes=self.config.content.max_payload_bytes,
                image_limits=self.image_limits,
            )
        except InvalidInput as exc:
            self.reject(topic, channel, exc.errors)
            return exc.errors
        held = self.playlists.get(channel)
        if held is not None and playlist.version <= held.version:
            reason = (
                "already held"
                if playlist.version == held.version
                else f"older than the held version {held.version}"
            )
            self._emit(
                ContentIgnored(
                    at=self._now(), channel=channel, version=playlist.version, reason=reason
                )
            )
            return []
        self._persist(channel, playlist)
        self.playlists[channel] = playlist
        self._emit(
            ContentAccepted(
                at=self._now(), channel=channel, version=playlist.version, items=len(playlist.items)
            )
        )
        self._refresh_assets()
        self._warn_about_glyphs(channel, playlist_texts(playlist))
        return []

    def _warn_about_glyphs(
        self, channel: Channel | Literal["alert"], texts: dict[str, str]
    ) -> None:
        warnings = glyph_warnings(texts)
        if warnings:
            self._emit(ContentWarning(at=self._now(), channel=channel, warnings=warnings))

    def _on_alert(self, alert_id: str, topic: str, payload: bytes) -> None:
        try:
            events = self.alert_desk.on_payload(alert_id, payload, self._now())
        except InvalidInput as exc:
            self.reject(topic, None, exc.errors)
            return
        self._emit_all(events)
        if any(isinstance(event, AlertStarted | AlertUpdated) for event in events):
            # A lookup, not a scan of every active alert: thousands may arrive at once.
            alert = self.alert_desk.book.get(alert_id)
            if alert is not None:
                self._warn_about_glyphs("alert", alert_texts(alert))

    def _persist(self, channel: Channel, playlist: Playlist | None) -> None:
        """Keep the channel's content on disk; a failing SD card must not hide new content."""
        key = f"write:content/{channel}"
        try:
            if playlist is None:
                self.store.clear(channel)
            else:
                self.store.save(channel, playlist)
        except OSError as exc:
            message = f"cannot save {channel} content to {self.store.directory}: {exc}"
            self.storage.problem(key, message)
        else:
            self.storage.resolved(key)

    def _on_inbox_file(self, file: InboxFile) -> None:
        """A file in the inbox: a playlist of the `local` channel, or a local alert.

        Errors also go to a sidecar file next to it, for the technician with the USB stick.
        Deleting an alert's file ends the alert; a playlist stays until replaced. Reading
        (regular files only, no links, bounded) and the sidecar are agent/inbox.py's.
        """
        path, topic = file.path, f"inbox:{file.path}"
        if file.problem is not None:  # the folder itself: missing, a link, unreadable, full
            self._storage_error(file.problem)
            return
        if file.deleted:
            alert_id = self._inbox_alerts.pop(path, None)
            if alert_id is not None:
                self._emit_all(self.alert_desk.on_payload(alert_id, b"", self._now()))
            return
        read = read_inbox_file(path, self.config.content.max_payload_bytes)
        if isinstance(read, Unreadable):
            if read.gone:
                return  # removed before it was read: the watcher reports the deletion
            errors = [Problem("$", read.reason)]
            self.reject(topic, "local", errors)
        else:
            errors = self._on_inbox_payload(path, topic, read)
        update_sidecar(path, [f"{e.path}: {e.message}" for e in errors])

    def _on_inbox_payload(self, path: Path, topic: str, payload: bytes) -> list[Problem]:
        alert_id = alert_id_of(payload)
        if alert_id is None:
            return self._on_content("local", topic, payload)
        try:
            events = self.alert_desk.on_payload(alert_id, payload, self._now())
        except InvalidInput as exc:
            self.reject(topic, "local", exc.errors)
            return exc.errors
        self._inbox_alerts[path] = alert_id
        self._emit_all(events)
        return []

    def _emit_all(self, events: list[EventBase]) -> None:
        for event in events:
            self._emit(event)

    def reject(self, topic: str, channel: Channel | None, errors: list[Problem]) -> bool:
        """Report bad input with one `content.rejected`; returns whether it was reported.

        Not reported: the same payload the broker replays as retained at every reconnect
        (reported the first time), and a flood beyond the rate limit (counted, and
        reported as `input.suppressed`, see agent/rejections.py).
        """
        if self._already_rejected():
            log.debug("%s: the same bad payload again (a replay): not reported again", topic)
            return False
        self.errors_total += 1
        if not self.rejections.admit(
            self.rejection_source(topic), self.clock.monotonic(), self._now()
        ):
            return False
        event = ContentRejected(at=self._now(), topic=topic, channel=channel, errors=errors)
        # The event's own bounded summary: a payload must not come back whole in the log.
        shown = "; ".join(f"{e.path}: {e.message}" for e in event.errors[:LOGGED_ERRORS])
        more = f" (and {len(errors) - LOGGED_ERRORS} more)" if len(errors) > LOGGED_ERRORS else ""
        log.warning("rejected %s: %s%s", event.topic, shown, more)
        self._emit(event)
        return True

    def _already_rejected(self) -> bool:
        """The MQTT message being handled was rejected before and comes again as a replay:
        retained (at every reconnect) or a redelivery (DUP: our acknowledgement did not
        arrive); remembers it otherwise (bounded: the oldest fingerprints are forgotten)."""
        message = self._inbound
        if message is None:
            return False
        key = hashlib.sha256(message.topic.encode() + b"\0" + message.payload).digest()
        if key in self._rejected:
            self._rejected.move_to_end(key)
            if message.retained or message.duplicate:
                return True
        self._rejected[key] = None
        while len(self._rejected) > REJECTED_RETAINED_KEEP:
            self._rejected.popitem(last=False)
        return False

    def rejection_source(self, topic: str) -> str:
        """Floods are limited per source: a topic; for alerts the subscription that matched
        (a flood over many alert ids is one flood); for files, the inbox."""
        if topic.startswith("inbox:"):
            return "inbox"
        if isinstance(self.topics.route(topic), AlertTopic):
            return topic.rsplit("/", 1)[0] + "/+"
        return topic

    def _report_suppressed(self, reports: list[Suppressed]) -> None:
        for report in reports:
            log.warning(
                "%d more bad messages on %s between %s and %s (not reported one by one)",
                report.count,
                report.source,
                report.first_at.isoformat(),
                report.last_at.isoformat(),
            )
            self._emit(
                InputSuppressed(
                    at=self._now(),
                    topic=report.source,
                    count=report.count,
                    first_at=report.first_at.astimezone(self.tz),
                    last_at=report.last_at.astimezone(self.tz),
                )
            )

    def _assets_ready(self, item: PlaylistItem) -> bool:
        # An item whose images are not downloaded yet waits rather than showing a hole.
        return all(self.assets.get(ref) is not None for ref in remote_images(item))

    def _refresh_assets(self) -> None:
        """Fetch the images the held playlists need; forget the ones nobody needs."""
        wanted: dict[str, tuple[ImageRef, set[str]]] = {}
        for playlist in self.playlists.values():
            for item in playlist.items:
                for ref in remote_images(item):
                    wanted.setdefault(ref.sha256, (ref, set()))[1].add(item.id)
        self.fetcher.want(wanted)
        try:
            removed = self.assets.collect_garbage(wanted.keys())
        except OSError as exc:
            log.warning("asset clean-up failed: %s", exc)
            return
        if removed:
            log.info("removed %d unused images from the cache", removed)

    def _on_asset_failure(self, failure: AssetFailure) -> None:
        for item_id in failure.item_ids:
            self._emit(
                AssetFailed(
                    at=self._now(), item_id=item_id, url=failure.url, message=failure.message
                )
            )

    # --- outbound ------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes) -> None:
        """Straight to the broker when connected (screenshots); lost when not."""
        if self.link is not None and self.link.connected:
            self.link.publish(topic, payload)

    def send(self, topic: str, body: str, *, urgent: bool = False) -> None:
        """What the dashboard must get even across outages and restarts: via the outbox
        (which drops, counts and logs anything larger than the broker takes)."""
        if self.outbox is not None:
            self.outbox.submit(topic, body.encode(), urgent=urgent)

    def _emit(self, event: EventBase) -> None:
        body = event.model_dump_json()
        log.info("event %s", log_excerpt(body))
        # Alert events overtake a backlog of command results and heartbeats.
        urgent = str(getattr(event, "kind", "")).startswith("alert.")
        self.send(self.topics.events, body, urgent=urgent)

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
        link = self.link
        active = self.alert_desk.active_ids()
        return Heartbeat(
            board_id=self.config.board.id,
            seq=self.seq.next(),
            sent_at=self._now(),
            agent_version=__version__,
            uptime_s=int(mono - self._started),
            now_showing=self._now_showing(),
            alerts_active=active[:HEARTBEAT_ALERT_IDS],
            alerts_active_count=len(active),
            content={channel: channel_summary(self.playlists.get(channel)) for channel in CHANNELS},
            display=self.screen.health(mono),
            serial=serial_health(self.output),
            system=self.probe.read(),
            mqtt=self._mqtt_health(link),
            errors_total=self.errors_total,
        )

    def _mqtt_health(self, link: MqttLink | None) -> MqttHealth | None:
        if link is None:
            return None
        health = link.health(self.tz, self.outbox)
        if self.outbox is None:
            return health
        counts = {"outbox_oversize": self.outbox.oversize}
        counts["outbox_quarantined"] = self.outbox.quarantined
        return health.model_copy(update=counts)

    def _now_showing(self) -> NowShowing | None:
        full = self.alert_desk.rotation.full
        if full is not None:
            return NowShowing(item_id=full.alert.id, channel="alert", since=full.since)
        showing = self.playback.showing
        if showing is None or showing.entry is None:
            return None
        return NowShowing(
            item_id=showing.entry.item.id,
            channel=showing.entry.channel,
            since=showing.since.astimezone(self.tz),
        )
