"""What the board says about itself: the heartbeat (CONTRACT §4), assembled from each
part's figures and sent when due, and the one-line status systemd shows.

The heartbeat goes through the outbox (it must survive outages), at DEBUG in full every
interval and at INFO only when its state line changed, so a quiet board keeps a quiet
journal. The status line follows the link and goes out with every heartbeat, so a
broken link shows in `systemctl status` even when nothing else changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agent.broker_side import BrokerSide
from agent.clock import Clock
from agent.events import Events
from agent.health import HeartbeatTimer, SystemProbe, assemble_heartbeat
from agent.heartbeat_seq import SeqCounter
from agent.messages import AlertsHealth, AssignmentHealth, DisplayHealth, Heartbeat, TrustHealth
from agent.on_air import status_line
from agent.output import serial_health
from agent.presenter import Presenter
from agent.sdnotify import Notifier

# The journal's name for these lines since before the core was split: operators' filters
# and the end-to-end tests look for "agent.core: heartbeat".
log = logging.getLogger("agent.core")


class BoardStatus:
    def __init__(
        self,
        events: Events,
        presenter: Presenter,
        broker: BrokerSide,
        notifier: Notifier,
        *,
        board_id: str,
        topic: str,
        clock: Clock,
        seq: SeqCounter,
        state_dir: Path,
        interval_s: float,
        alert_sources: Callable[[], AlertsHealth] = AlertsHealth,
        trust: Callable[[], TrustHealth | Literal["off"]] = lambda: "off",
        assignment: Callable[[], AssignmentHealth] = lambda: AssignmentHealth(
            version=None, groups=[]
        ),
    ) -> None:
        self.events = events
        self.presenter = presenter  # what is on air: the alerts, the content, the screen
        self.broker = broker
        self.notifier = notifier
        self.board_id = board_id
        self.topic = topic  # the board's heartbeat topic
        self.clock = clock
        self.seq = seq
        self.probe = SystemProbe(state_dir)
        self.started = clock.monotonic()
        self.timer = HeartbeatTimer(interval_s, self.started)
        self._logged_state = ""  # the heartbeat's state line last logged at INFO
        self.alert_sources = alert_sources  # the broker's and the feeds' health (§6)
        self.trust = trust  # signed messages (§7): "off", or the keys in force
        self.assignment = assignment  # where the board belongs (§8): its groups

    def line(self) -> str:
        """systemd's STATUS: the broker, what is on air, the alerts, any link trouble."""
        active = len(self.presenter.alerts.book.active())
        broker = self.broker
        return status_line(broker.state(), self.presenter.now_showing(), active, broker.trouble())

    def tell_systemd(self) -> None:
        self.notifier.status(self.line())

    def heartbeat_if_due(self) -> None:
        if self.timer.due(self.clock.monotonic()):
            self._send_heartbeat()

    def _send_heartbeat(self) -> None:
        heartbeat = self.heartbeat()
        body = heartbeat.model_dump_json()
        log.debug("heartbeat %s", body)  # every interval: only with -v
        state = heartbeat.state_line()
        if state != self._logged_state:
            log.info("heartbeat %d: %s", heartbeat.seq, state)
            self._logged_state = state
        self.events.send(self.topic, body)
        self.tell_systemd()  # a link failure shows without a change
        self.timer.sent(self.clock.monotonic())

    def display_health(self, mono: float) -> DisplayHealth:
        clips = self.presenter.content.clips  # the counters of the clips played
        health = self.presenter.display.health(mono)
        video = {"frames_dropped": clips.frames_dropped, "video_decoder": clips.decoder}
        return health.model_copy(update=video)

    def heartbeat(self) -> Heartbeat:
        mono, presenter = self.clock.monotonic(), self.presenter
        return assemble_heartbeat(
            board_id=self.board_id,
            seq=self.seq.next(),
            sent_at=self.events.now(),
            uptime_s=int(mono - self.started),
            now_showing=presenter.now_showing(),
            alerts_active=presenter.alerts.active_ids(),
            alerts=self.alert_sources(),
            playlists=presenter.content.playlists,
            display=self.display_health(mono),
            serial=serial_health(presenter.screen.output),
            system=self.probe.read(),
            mqtt=self.broker.health(self.events.tz),
            errors_total=self.events.errors_total,
            trust=self.trust(),
            assignment=self.assignment(),
        )
