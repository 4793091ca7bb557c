"""Alerts inside the agent: payloads in, lifecycle, persistence, and events out.

`AlertBook` and `AlertRotation` (agent/alerts.py) decide; this class feeds them the
bytes that arrive on alert topics, keeps active alerts on disk so a board that boots
offline still shows them, and says what happened as contract events.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from agent.alert_kind import looks_like_cap
from agent.alerts import (
    Acknowledged,
    AlertBook,
    AlertRotation,
    Ended,
    Ignored,
    Outcome,
    Replayed,
    Started,
    Updated,
    full_screen,
)
from agent.caches import AlertStore
from agent.messages import (
    Alert,
    AlertEnded,
    AlertIgnored,
    AlertsHealth,
    AlertStarted,
    AlertTest,
    AlertUpdated,
    ContentWarning,
    EventBase,
)
from agent.validation import InvalidInput, Problem, decode, error, printable
from display_layouts.image_check import DEFAULT_LIMITS, ImageLimits
from display_layouts.image_formats import RemoteImage

if TYPE_CHECKING:
    from agent.alert_cap import CapSettings
    from agent.config import AgentConfig

log = logging.getLogger(__name__)

ALERT_MAX_BYTES = 64 * 1024
# Bounds on what the desk remembers beyond the active alerts (oldest forgotten first):
# the payloads seen (a replay is said by no event), CAP messages → their incident, and
# alert topics (or feeds) → the incident their payload brought.
SEEN_PAYLOADS = 4096
KNOWN_MESSAGES = 8192
KNOWN_SOURCES = 8192
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """What the desk needs of the config for CAP alerts ([board] and [alerts])."""

    language: str = "vi"
    area_codes: tuple[str, ...] = ()
    location: tuple[float, float] | None = None  # (lat, lon)
    default_expiry_s: int = 3600
    image_limits: ImageLimits = DEFAULT_LIMITS  # [content]: an alert's picture as a playlist's

    @property
    def untargeted(self) -> bool:
        """A board with neither codes nor a location shows area-targeted alerts anyway."""
        return not self.area_codes and self.location is None

    @classmethod
    def of(cls, config: AgentConfig) -> AlertSettings:
        from agent.assets import image_limits

        board, location = config.board, config.board.location
        return cls(
            language=board.language,
            area_codes=tuple(board.area_codes),
            location=(location.lat, location.lon) if location else None,
            default_expiry_s=config.alerts.default_expiry_s,
            image_limits=image_limits(config.content),
        )


def _remember(table: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)


class AlertDesk:
    """Alert payloads from any source (an alert topic, an inbox file, a CAP feed) in,
    events out: exactly one outcome event per payload, except a replay of one already
    seen (counted in `replays`) and bad input (raised as `InvalidInput`)."""

    _WRITE_KEY = "write:alerts"  # one storage problem, whichever alert could not be saved

    def __init__(
        self,
        store: AlertStore,
        on_storage_error: Callable[[str], None],
        settings: AlertSettings | None = None,
        clock_synced: Callable[[], bool | None] = lambda: None,
    ) -> None:
        self.book = AlertBook()
        self.rotation = AlertRotation()
        self.store = store
        self.on_storage_error = on_storage_error
        self.settings = settings or AlertSettings()
        self.clock_synced = clock_synced
        self.replays = 0  # payloads seen before, said by no event
        self._seen: OrderedDict[bytes, str] = OrderedDict()  # payload digest → incident
        self._incidents: OrderedDict[str, str] = OrderedDict()  # CAP message key → incident
        self._sources: OrderedDict[str, str] = OrderedDict()  # topic or feed → incident
        self._cap: CapSettings | None = None
        # Alert id → the downloaded picture a full-screen alert shows; `pictures_changed`
        # until the presenter has asked the content desk to fetch them.
        self._pictures: dict[str, RemoteImage] = {}
        self.pictures_changed = False

    def load(self, now: datetime) -> list[EventBase]:
        """Alerts cached before a restart, unless they have expired since."""
        events: list[EventBase] = []
        for alert in self.store.load_all():
            for key in alert.message_keys:  # an Update or a Cancel still finds its incident
                _remember(self._incidents, key, alert.id, KNOWN_MESSAGES)
            # Already on disk: not written again (thousands cost a restart seconds).
            events += self._apply(self.book.receive(alert, now), now, save=False, restored=True)
            if not self.book.is_active(alert.id):
                self._forget(alert.id)  # expired while the board was off: not again next time
        return events

    def on_payload(self, source: str, payload: bytes, now: datetime) -> list[EventBase]:
        """An alert payload from `source`: the alert id of the topic it came on (a JSON
        alert's id must be the same), or a CAP feed's URL. An empty payload (a deleted
        retained message) ends what the source brought. Raises `InvalidInput` for bad
        payloads (nothing changes)."""
        if not payload:
            incident = self._sources.pop(source, source)
            return self._apply(self.book.delete(incident), now)
        digest = hashlib.blake2b(payload, digest_size=16).digest()
        seen = self._seen.get(digest)
        if seen is not None:  # the same bytes again: a retained replay, or another path
            _remember(self._sources, source, seen, KNOWN_SOURCES)
            self.replays += 1
            return []
        notes: tuple[Problem, ...] = ()  # what of the alert cannot be shown
        decided: Alert | AlertIgnored
        if looks_like_cap(payload):
            decided, notes = self._cap_alert(payload, now)
        else:
            decided = self._json_alert(source, payload)
        events: list[EventBase]
        if isinstance(decided, AlertIgnored):
            incident, events = decided.alert_id, [decided]
        else:
            incident = decided.id
            _remember(self._sources, source, incident, KNOWN_SOURCES)
            decided, warnings = self._picture_checked(decided, now, notes)
            events = self._apply(self.book.receive(decided, now), now, incoming=decided)
            events += warnings
        _remember(self._seen, digest, incident, SEEN_PAYLOADS)
        return events

    def _picture_checked(
        self, alert: Alert, now: datetime, notes: tuple[Problem, ...] = ()
    ) -> tuple[Alert, list[EventBase]]:
        """The alert, without its picture when that can never be shown (an inline one is
        decoded and checked here, once per payload, never per frame; a downloaded one's
        URL is parsed), and the one `content.warning` that says why: a broken picture
        must never cost the alert. A download that fails later is `asset.failed`, once."""
        problems = list(notes)
        problem = self._picture_problem(alert)
        if problem is not None:
            problems.append(Problem("image", f"the picture is not shown: {problem}"))
            alert = alert.model_copy(update={"image": None})
        if not problems:
            return alert, []
        for note in problems:
            log.warning("alert %s: %s: %s", alert.id, note.path, note.message)
        warnings = [Problem(p.path, f"alert {alert.id}: {p.message}") for p in problems]
        return alert, [ContentWarning(at=now, channel="alert", warnings=warnings)]

    def _picture_problem(self, alert: Alert) -> str | None:
        image = alert.image
        if image is None:
            return None
        # The playlist's rules (agent.content decodes with pygame: loaded when needed).
        from agent.content import check_data_uri, check_image_url

        if isinstance(image, str):
            return check_data_uri(image, self.settings.image_limits)
        return check_image_url(image.url)

    def remote_pictures(self) -> dict[str, tuple[RemoteImage, set[str]]]:
        """The downloaded pictures the active full-screen alerts show: asset name →
        (reference, alert ids), as the content desk wants them fetched."""
        self.pictures_changed = False
        wanted: dict[str, tuple[RemoteImage, set[str]]] = {}
        for alert_id, ref in self._pictures.items():
            wanted.setdefault(ref.asset_name, (ref, set()))[1].add(alert_id)
        return wanted

    def _track_picture(self, alert: Alert, *, active: bool) -> None:
        image = alert.image
        if active and full_screen(alert) and image is not None and not isinstance(image, str):
            if self._pictures.get(alert.id) != image:
                self._pictures[alert.id] = image
                self.pictures_changed = True
        elif self._pictures.pop(alert.id, None) is not None:
            self.pictures_changed = True

    def _json_alert(self, topic_id: str, payload: bytes) -> Alert:
        alert = decode(payload, Alert, max_bytes=ALERT_MAX_BYTES)
        if alert.id != topic_id:
            shown = printable(topic_id)  # a topic may hold control characters
            message = f"'{alert.id}' does not match the alert id of the topic ('{shown}')"
            raise InvalidInput([error("id", message)])
        return alert

    def _cap_alert(
        self, payload: bytes, now: datetime
    ) -> tuple[Alert | AlertIgnored, tuple[Problem, ...]]:
        """A CAP payload as the alert of its incident and what of it cannot be shown, or
        the `alert.ignored` saying why it is not one (System, Draft, outside the board's
        areas…)."""
        from agent import alert_cap  # loaded at the first CAP payload (CONTRACT §6)

        message = alert_cap.parse_cap(payload)
        own, first, references = alert_cap.incident_keys(message)
        keys = [own, *references]
        incident = next((self._incidents[k] for k in keys if k in self._incidents), first)
        decision = alert_cap.decide(
            message, incident, keys, self.book.get(incident), self._cap_settings()
        )
        message_id = printable(message.identifier, 128)
        if isinstance(decision, alert_cap.Skip):
            reason = decision.reason
            shown = printable(incident, 128)
            ignored = AlertIgnored(at=now, alert_id=shown, reason=reason, message_id=message_id)
            return ignored, ()
        for key in keys:
            _remember(self._incidents, key, incident, KNOWN_MESSAGES)
        return decision.alert, decision.warnings

    def use_settings(self, settings: AlertSettings) -> None:
        """Targeting changed (a remote assignment's area codes or location, CONTRACT §8):
        the alerts that arrive from now on are judged by it."""
        self.settings = settings
        self._cap = None

    def _cap_settings(self) -> CapSettings:
        if self._cap is None:
            from agent.alert_cap import CapSettings

            settings = self.settings
            self._cap = CapSettings(
                language=settings.language,
                area_codes=frozenset(settings.area_codes),
                location=settings.location,
                default_expiry=timedelta(seconds=settings.default_expiry_s),
            )
        return self._cap

    def expire(self, now: datetime) -> list[EventBase]:
        return self._apply(self.book.expire(now), now)

    def _latency_ms(self, sent: datetime, now: datetime) -> int | None:
        if self.clock_synced() is not True:
            return None  # a board clock that may be hours off would report nonsense
        return round((now - sent).total_seconds() * 1000)

    def _apply(
        self,
        outcomes: list[Outcome],
        now: datetime,
        *,
        save: bool = True,
        restored: bool = False,
        incoming: Alert | None = None,
    ) -> list[EventBase]:
        events: list[EventBase] = []
        # A cancel's events name the cancel, not the message it ended.
        message_id = incoming.message_id if incoming else None
        for outcome in outcomes:
            match outcome:
                case Started(alert=alert):
                    self._track_picture(alert, active=True)
                    if save:
                        self._save(alert)
                    latency = None if restored else self._latency_ms(alert.sent, now)
                    events.append(
                        AlertStarted(
                            at=now,
                            alert_id=alert.id,
                            severity=alert.severity,
                            sent=alert.sent,
                            received_at=now,
                            latency_ms=latency,
                            message_id=alert.message_id,
                        )
                    )
                case Updated(alert=alert):
                    self._track_picture(alert, active=True)
                    self._save(alert)
                    events.append(
                        AlertUpdated(
                            at=now,
                            alert_id=alert.id,
                            severity=alert.severity,
                            message_id=alert.message_id,
                        )
                    )
                case Ended(alert=alert, reason=reason):
                    self._track_picture(alert, active=False)
                    self._forget(alert.id)
                    events.append(
                        AlertEnded(
                            at=now,
                            alert_id=alert.id,
                            severity=alert.severity,
                            reason=reason,
                            message_id=message_id or alert.message_id,
                        )
                    )
                case Ignored(alert_id=alert_id, reason=reason):
                    ignored = AlertIgnored(
                        at=now, alert_id=alert_id, reason=reason, message_id=message_id
                    )
                    events.append(ignored)
                case Acknowledged(alert=alert):
                    events.append(
                        AlertTest(
                            at=now,
                            alert_id=alert.id,
                            severity=alert.severity,
                            message_id=alert.message_id,
                        )
                    )
                case Replayed():
                    self.replays += 1
        return events

    def _save(self, alert: Alert) -> None:
        # One report while saving fails (a burst of alerts on a full SD card is one problem).
        try:
            self.store.save(alert)
        except OSError as exc:
            self._storage_problem(f"cannot save alert {alert.id}: {exc}")
        else:
            self.store.health.resolved(self._WRITE_KEY)

    def _forget(self, alert_id: str) -> None:
        try:
            self.store.delete(alert_id)
        except OSError as exc:
            self._storage_problem(f"cannot delete alert {alert_id}: {exc}")

    def _storage_problem(self, message: str) -> None:
        if self.store.health.sink is None:  # a store without its own reporting
            self.on_storage_error(message)
        else:
            self.store.health.problem(self._WRITE_KEY, message)

    def health(self) -> AlertsHealth:
        """The heartbeat's `alerts` object."""
        return AlertsHealth(untargeted=self.settings.untargeted, replays=self.replays)

    def active_ids(self) -> list[str]:
        return [alert.id for alert in self.book.active()]

    def next_wakeup(self) -> datetime | None:
        times = [t for t in (self.book.next_expiry(), self.rotation.next_wakeup()) if t]
        return min(times, default=None)
