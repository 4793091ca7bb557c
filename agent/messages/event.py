"""Events (CONTRACT §3, event): what happened on the board, one model per `kind`, and the
bounded list of problems a rejection or warning carries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from agent.messages.alert import Severity
from agent.messages.base import Channel, Outbound, Timestamp
from agent.messages.text import MessageText, OutboundText, PathText, UrlText

MAX_EVENT_ERRORS = 20  # listed per event; then one "… and K more"


class ErrorDetail(Outbound):
    """One problem with an input: where (`items.0.duration_s`; `$` is the whole payload).

    Built from any object with `path` and `message` (a `Problem`): its source and line
    stay off the wire, which names the topic instead."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, defer_build=True)

    path: PathText
    message: MessageText


def summarise_errors(errors: Any) -> Any:
    """At most `MAX_EVENT_ERRORS` problems: the first ones, then "… and K more"."""
    if not isinstance(errors, list) or len(errors) <= MAX_EVENT_ERRORS:
        return errors
    more = len(errors) - (MAX_EVENT_ERRORS - 1)
    return [*errors[: MAX_EVENT_ERRORS - 1], ErrorDetail(path="$", message=f"… and {more} more")]


ErrorList = Annotated[
    list[ErrorDetail], BeforeValidator(summarise_errors), Field(max_length=MAX_EVENT_ERRORS)
]


class EventBase(Outbound):
    type: Literal["event"] = "event"
    at: Timestamp


class ContentAccepted(EventBase):
    kind: Literal["content.accepted"] = "content.accepted"
    channel: Channel
    version: int
    items: int


class ContentRejected(EventBase):
    kind: Literal["content.rejected"] = "content.rejected"
    topic: OutboundText
    channel: Channel | None
    errors: ErrorList


class ContentWarning(EventBase):
    """Addition: accepted content with something the board cannot show as sent (e.g.
    characters no bundled font has: they are left out)."""

    kind: Literal["content.warning"] = "content.warning"
    channel: Channel | Literal["alert"]
    warnings: ErrorList


class ContentIgnored(EventBase):
    kind: Literal["content.ignored"] = "content.ignored"
    channel: Channel
    version: int
    reason: OutboundText


class ContentCleared(EventBase):
    """Addition to the contract: a channel emptied by an empty retained payload."""

    kind: Literal["content.cleared"] = "content.cleared"
    channel: Channel


class PlaybackStarted(EventBase):
    kind: Literal["playback.started"] = "playback.started"
    item_id: str
    channel: Channel | Literal["alert"]
    layout: str


class PlaybackEnded(EventBase):
    """Addition (CONTRACT §10): a clip's proof of play, when its item leaves the screen
    (its time is up, an alert took over, its content changed, or the clip failed)."""

    kind: Literal["playback.ended"] = "playback.ended"
    item_id: str
    channel: Channel
    layout: str
    seconds: float  # how long the item was actually on screen


class AlertStarted(EventBase):
    kind: Literal["alert.started"] = "alert.started"
    alert_id: str
    severity: Severity
    # Additions (CONTRACT §6): when the alert was sent and received, and the difference
    # (null while the board's clock is not synchronised, or for an alert restored from
    # disk at start-up); for a CAP alert, the identifier of the message in force.
    sent: Timestamp | None = None
    received_at: Timestamp | None = None
    latency_ms: int | None = None
    message_id: str | None = None


class AlertEnded(EventBase):
    kind: Literal["alert.ended"] = "alert.ended"
    alert_id: str
    severity: Severity
    reason: Literal["cancel", "expired", "deleted"]
    message_id: str | None = None  # CAP: the message this event is about


class AlertUpdated(EventBase):
    """Addition: an active alert was replaced by a newer message (its text may differ)."""

    kind: Literal["alert.updated"] = "alert.updated"
    alert_id: str
    severity: Severity
    message_id: str | None = None  # CAP: the message this event is about


class AlertIgnored(EventBase):
    """Addition: a valid alert message that changes nothing, and why (older, expired, …)."""

    kind: Literal["alert.ignored"] = "alert.ignored"
    alert_id: str
    reason: OutboundText
    message_id: str | None = None  # CAP: the message this event is about


class AlertTest(EventBase):
    """Addition: a `status: test` alert arrived; acknowledged here, never shown."""

    kind: Literal["alert.test"] = "alert.test"
    alert_id: str
    severity: Severity
    message_id: str | None = None  # CAP: the message this event is about


class AssetFailed(EventBase):
    kind: Literal["asset.failed"] = "asset.failed"
    item_id: str
    url: UrlText
    message: OutboundText


class SerialLinkUp(EventBase):
    kind: Literal["serial.link_up"] = "serial.link_up"
    port: OutboundText
    message: OutboundText


class SerialLinkDown(EventBase):
    kind: Literal["serial.link_down"] = "serial.link_down"
    port: OutboundText
    message: OutboundText


class StorageError(EventBase):
    """Addition to the contract: the state dir could not be written (SD card full or worn)."""

    kind: Literal["storage.error"] = "storage.error"
    message: OutboundText


class DisplayError(EventBase):
    kind: Literal["display.error"] = "display.error"
    message: OutboundText


class InputSuppressed(EventBase):
    """Addition to the contract: bad input on `topic` beyond the rate limit of
    `content.rejected` events (a flood), counted instead of reported one by one."""

    kind: Literal["input.suppressed"] = "input.suppressed"
    topic: str  # the topic, or for alerts the subscription that matched (`…/alert/city/+`)
    count: int  # rejections not reported one by one
    first_at: Timestamp
    last_at: Timestamp


class KeyringAccepted(EventBase):
    """Addition (CONTRACT §7): a keyring is in force (kept on disk first)."""

    kind: Literal["trust.keyring_accepted"] = "trust.keyring_accepted"
    version: int
    keys: int  # keys trusted now: the config's roots and the keyring's
    revoked: int  # kids the keyring revokes
    signed_by: str  # the kid that signed it


class KeyringIgnored(EventBase):
    """Addition (CONTRACT §7): a keyring not newer than the one in force."""

    kind: Literal["trust.keyring_ignored"] = "trust.keyring_ignored"
    version: int
    reason: OutboundText


class AssignmentAccepted(EventBase):
    """Addition (CONTRACT §8): a remote assignment is in force (kept on disk first); the
    channels of the groups left were cleared (one `content.cleared` each)."""

    kind: Literal["assignment.accepted"] = "assignment.accepted"
    version: int
    groups: list[str]
    joined: list[str]  # groups new to the board
    left: list[str]  # groups the board no longer belongs to
    signed_by: str | None  # the kid that signed it; null when unsigned


class AssignmentIgnored(EventBase):
    """Addition (CONTRACT §8): an assignment not newer than the one in force."""

    kind: Literal["assignment.ignored"] = "assignment.ignored"
    version: int
    reason: OutboundText


Event = Annotated[
    ContentAccepted
    | ContentRejected
    | ContentIgnored
    | ContentWarning
    | ContentCleared
    | PlaybackStarted
    | PlaybackEnded
    | AlertStarted
    | AlertEnded
    | AlertUpdated
    | AlertIgnored
    | AlertTest
    | AssetFailed
    | SerialLinkUp
    | SerialLinkDown
    | DisplayError
    | StorageError
    | InputSuppressed
    | KeyringAccepted
    | KeyringIgnored
    | AssignmentAccepted
    | AssignmentIgnored,
    Field(discriminator="kind"),
]
