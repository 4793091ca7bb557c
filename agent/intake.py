"""Inbound payloads to the part that owns them: content, alerts and commands from the
broker, playlists and alerts from the inbox folder, CAP documents from the alert feeds;
and the reports of the worker threads (the asset fetcher, the serial writer) as events,
or to content acceptance.

The inbox's reading (regular files only, no links, bounded) and sidecars are
agent/inbox.py's; here a file becomes content of the `local` channel or a local alert,
and deleting an alert's file ends the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agent.acceptance import ContentDesk
from agent.alert_desk import AlertDesk
from agent.alert_kind import alert_id_of
from agent.alert_slots import alert_texts
from agent.assets import AssetFailure, AssetReady, FetcherRestarted
from agent.assignment import MAX_ASSIGNMENT_BYTES, AssignmentState, Moved, Stale
from agent.commands import CommandRunner
from agent.events import Events
from agent.inbox import InboxFile, Unreadable, read_inbox_file, update_sidecar
from agent.link_messages import Received
from agent.messages import (
    AlertStarted,
    AlertUpdated,
    AssetFailed,
    Assignment,
    AssignmentAccepted,
    AssignmentIgnored,
    SerialLinkDown,
    SerialLinkUp,
    group_of,
)
from agent.refusals import Refusals
from agent.remote_layouts import RemoteLayouts
from agent.topics import (
    AlertTopic,
    AssignmentTopic,
    CommandTopic,
    ContentTopic,
    KeyringTopic,
    LayoutTopic,
    Topics,
)
from agent.trust.desk import TrustDesk
from agent.validation import InvalidInput, decode
from display_layouts.input_problems import Problem
from firmware_bridge.events import SerialLinkChanged, SerialProblem

log = logging.getLogger(__name__)


class Intake:
    def __init__(
        self,
        events: Events,
        refusals: Refusals,
        *,
        topics: Topics,
        content: ContentDesk,
        alerts: AlertDesk,
        commands: CommandRunner,
        trust: TrustDesk,
        layouts: RemoteLayouts,
        on_layouts: Callable[[], None],
        max_payload_bytes: int,
        assignments: AssignmentState | None = None,
        place: Callable[[Moved], None] = lambda _moved: None,
    ) -> None:
        self.events = events
        self.refusals = refusals
        self.topics = topics
        self.content = content
        self.alerts = alerts
        self.commands = commands
        self.trust = trust  # every inbound message passes its gate before it is decoded
        self.layouts = layouts
        self.on_layouts = on_layouts  # the layouts in use changed: the core applies them
        self.max_payload_bytes = max_payload_bytes
        self.assignments = assignments  # where the board belongs (CONTRACT §8)
        self.place = place  # the core applies a move: subscriptions, content, targeting
        self.inbox_alerts: dict[Path, str] = {}  # alert files in the inbox: path → alert id
        # The alerts each group's topics brought (group channel → topic alert ids): they
        # end when the board leaves the group, as its content does (CONTRACT §8).
        self.group_alerts: dict[str, set[str]] = {}
        # The heartbeat's `mqtt` alert source: when an alert topic last brought a payload.
        self.last_alert_received_at: datetime | None = None

    def on_received(self, message: Received) -> None:
        self.refusals.inbound = message  # a replay of a rejected payload is not said again
        try:
            topic, payload = message.topic, message.payload
            route = self.topics.route(topic)
            now = self.events.now()
            if isinstance(route, ContentTopic):
                channel = route.channel
                try:
                    admitted = self.trust.admit("playlist", channel, payload, now)
                except InvalidInput as exc:
                    self.refusals.reject(topic, channel, exc.errors)
                    return
                self.content.on_payload(channel, topic, admitted.payload)
            elif isinstance(route, AlertTopic):
                self.last_alert_received_at = now
                try:
                    admitted = self.trust.admit("alert", route.scope, payload, now)
                except InvalidInput as exc:
                    self.refusals.reject(topic, None, exc.errors)
                    return
                self.on_alert(route.alert_id, topic, admitted.payload)
                self._note_group_alert(route, admitted.payload)
            elif isinstance(route, CommandTopic):
                self.commands.on_payload(topic, payload, retained=message.retained)
            elif isinstance(route, KeyringTopic):
                self.on_keyring(topic, payload)
            elif isinstance(route, LayoutTopic):
                self.on_layout(route.name, topic, payload)
            elif isinstance(route, AssignmentTopic):
                self.on_assignment(topic, payload)
            else:
                log.warning("message on a topic the agent does not handle: %s", topic)
        finally:
            self.refusals.inbound = None

    def _note_group_alert(self, route: AlertTopic, payload: bytes) -> None:
        if group_of(route.scope) is None:
            return
        held = self.group_alerts.setdefault(route.scope, set())
        if payload:
            held.add(route.alert_id)
        else:
            held.discard(route.alert_id)

    def leave(self, channels: list[str]) -> None:
        """Groups the board left: the alerts their topics brought end, as if deleted
        (`alert.ended`, reason `deleted`); no more come, the link has unsubscribed."""
        now = self.events.now()
        for channel in channels:
            for alert_id in sorted(self.group_alerts.pop(channel, set())):
                self.events.emit_all(self.alerts.on_payload(alert_id, b"", now))

    def on_keyring(self, topic: str, payload: bytes) -> None:
        try:
            events = self.trust.on_keyring(payload, self.events.now())
        except InvalidInput as exc:
            self.refusals.reject(topic, None, exc.errors)
            return
        self.events.emit_all(events)

    def on_layout(self, name: str, topic: str, payload: bytes) -> None:
        """A layout topic's payload (CONTRACT §8): a bad one is rejected with its problems
        and their lines, and the layout held under that name stays in use."""
        try:
            admitted = self.trust.admit("layout", None, payload, self.events.now())
            changed = self.layouts.receive(name, topic, admitted.payload)
        except InvalidInput as exc:
            self.refusals.reject(topic, None, exc.errors)
            return
        if changed:
            self.on_layouts()

    def on_assignment(self, topic: str, payload: bytes) -> None:
        """A remote assignment: signed when the board requires signatures, valid, newer
        than the one held; then in force at once. A bad one changes nothing."""
        if self.assignments is None:
            log.warning("assignment on %s, but this board takes none", topic)
            return
        if not payload:
            # A cleared retained assignment: the board stays where it was put (it moves
            # only by a newer assignment, never by an unsigned empty message).
            log.info("empty assignment message: the assignment held stays in force")
            return
        now = self.events.now()
        try:
            admitted = self.trust.admit("assignment", None, payload, now)
            assignment = decode(admitted.payload, Assignment, max_bytes=MAX_ASSIGNMENT_BYTES)
        except InvalidInput as exc:
            self.refusals.reject(topic, None, exc.errors)
            return
        outcome = self.assignments.offer(assignment)
        if isinstance(outcome, Stale):
            ignored = AssignmentIgnored(at=now, version=outcome.version, reason=outcome.reason)
            self.events.emit(ignored)
            return
        self.events.emit(
            AssignmentAccepted(
                at=now,
                version=assignment.version,
                groups=list(outcome.after.groups),
                joined=outcome.joined,
                left=outcome.left,
                signed_by=admitted.kid,
            )
        )
        self.place(outcome)

    def on_alert(self, source: str, topic: str, payload: bytes) -> None:
        """An alert payload (JSON or CAP) from `source`: an alert topic's alert id, or a
        CAP feed's URL (then `topic` names the feed too, for a rejection)."""
        try:
            events = self.alerts.on_payload(source, payload, self.events.now())
        except InvalidInput as exc:
            self.refusals.reject(topic, None, exc.errors)
            return
        self.events.emit_all(events)
        for event in events:
            if isinstance(event, AlertStarted | AlertUpdated):
                # A lookup, not a scan of every active alert: thousands may arrive at once.
                alert = self.alerts.book.get(event.alert_id)  # a CAP incident's, not the topic's
                if alert is not None:
                    self.content.warn_about_glyphs("alert", alert_texts(alert))

    def on_feed_alert(self, source: str, payload: bytes, entry_id: str) -> None:
        """A CAP document from an alert feed (CONTRACT §6): the path an alert topic's
        payload takes, so that an incident seen on both paths is one incident. A feed has
        no topic: the entry id stands for the topic's alert id, and a refusal names the
        feed (`feed:` and its URL, one flood source per feed)."""
        self.on_alert(entry_id, f"feed:{source}", payload)

    def on_inbox_file(self, file: InboxFile) -> None:
        """A file in the inbox: a playlist of the `local` channel, or a local alert.
        Errors also go to a sidecar file next to it, for the technician with the USB stick;
        a playlist stays until replaced."""
        path, topic = file.path, f"inbox:{file.path}"
        if file.problem is not None:  # the folder itself: missing, a link, unreadable, full
            self.events.storage_error(file.problem)
            return
        if file.deleted:
            alert_id = self.inbox_alerts.pop(path, None)
            if alert_id is not None:
                self.events.emit_all(self.alerts.on_payload(alert_id, b"", self.events.now()))
            return
        read = read_inbox_file(path, self.max_payload_bytes)
        if isinstance(read, Unreadable):
            if read.gone:
                return  # removed before it was read: the watcher reports the deletion
            errors = [Problem("$", read.reason)]
            self.refusals.reject(topic, "local", errors)
        else:
            errors = self._on_inbox_payload(path, topic, read)
        update_sidecar(path, [f"{e.path}: {e.message}" for e in errors])

    def _on_inbox_payload(self, path: Path, topic: str, signed: bytes) -> list[Problem]:
        # A file is physical access (a technician's USB stick): unsigned is accepted even
        # with `require_signatures`; a signed one is checked like any other.
        kind = self.trust.inbox_kind(signed)
        try:
            admitted = self.trust.admit(kind, "local", signed, self.events.now(), physical=True)
        except InvalidInput as exc:
            self.refusals.reject(topic, "local", exc.errors)
            return exc.errors
        alert_id = alert_id_of(admitted.payload)
        if alert_id is None:
            return self.content.on_payload("local", topic, admitted.payload)
        try:
            events = self.alerts.on_payload(alert_id, admitted.payload, self.events.now())
        except InvalidInput as exc:
            self.refusals.reject(topic, "local", exc.errors)
            return exc.errors
        self.inbox_alerts[path] = alert_id
        self.events.emit_all(events)
        return []

    def on_asset(self, message: AssetReady | AssetFailure | FetcherRestarted) -> None:
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

    def on_serial(self, message: SerialLinkChanged | SerialProblem) -> None:
        events = self.events
        match message:
            case SerialLinkChanged(up=True, port=port, message=text):
                events.emit(SerialLinkUp(at=events.now(), port=port, message=text))
            case SerialLinkChanged(port=port, message=text):
                events.error()
                events.emit(SerialLinkDown(at=events.now(), port=port, message=text))
            case SerialProblem(port=port, message=text):
                events.display_error(f"{port}: {text}")
