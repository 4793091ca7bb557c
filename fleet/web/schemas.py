"""The JSON API's response and request bodies; the OpenAPI document is built from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProblemOut(BaseModel):
    code: str = Field(description="stable identifier, e.g. offline, outbox_backlog")
    message: str = Field(description="Vietnamese first, then English")


class NowShowing(BaseModel):
    model_config = ConfigDict(extra="allow")  # later boards may add keys
    item_id: str | None = None
    channel: str | None = None
    since: datetime | str | None = None


class BoardSummary(BaseModel):
    board_id: str
    name: str | None = Field(description="the assignment's name, when it gave one")
    state: str = Field(description="online | offline | unknown")
    since: datetime | None
    offline_reason: str | None
    last_heartbeat_at: datetime | None
    heartbeat_age_s: float | None
    agent_version: str | None
    now_showing: NowShowing | None
    alerts_active: list[str]
    problems: list[ProblemOut]
    screenshot_at: datetime | None
    district: str | None
    commune: str | None
    groups: list[str]


class HeartbeatPoint(BaseModel):
    sent_at: datetime
    seq: int
    cpu_percent: float | None
    mem_percent: float | None
    cpu_temp_c: float | None
    outbox: float | None
    fps: float | None


class EventOut(BaseModel):
    id: int
    kind: str
    at: datetime
    received_at: datetime
    body: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_before: int | None = Field(description="pass as ?before= for the next (older) page")


class CommandOut(BaseModel):
    id: str
    board_id: str
    command: str
    args: dict[str, Any]
    sent_by: str | None
    sent_at: datetime
    result_at: datetime | None
    ok: bool | None
    result: dict[str, Any] | None


class BoardDetail(BaseModel):
    board: BoardSummary
    heartbeat: dict[str, Any] | None = Field(description="the latest heartbeat, as received")
    history: list[HeartbeatPoint]
    events: EventPage
    plays: list[EventOut] = Field(description="proof of play: recent playback.started")
    commands: list[CommandOut]


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["ping"])
    args: dict[str, Any] = Field(default_factory=dict)


class LatencyOut(BaseModel):
    p50: float | None
    p95: float | None
    max: float | None


class ReceiptOut(BaseModel):
    board_id: str
    latency_ms: int | None
    started_at: datetime


class HistogramBin(BaseModel):
    from_ms: int
    to_ms: int
    count: int


class AlertReach(BaseModel):
    alert_id: str
    headline: str | None
    severity: str | None
    sent: datetime | None
    ended_at: datetime | None
    boards_in_scope: list[str]
    boards_showing: list[str]
    missing: list[str]
    latency_ms: LatencyOut
    receipts: list[ReceiptOut]
    histogram: list[HistogramBin]


class AlertSummary(BaseModel):
    alert_id: str
    headline: str | None
    severity: str | None
    sent: datetime | None
    ended_at: datetime | None
    in_scope: int
    showing: int
    latency_ms: LatencyOut


class Me(BaseModel):
    name: str
    can_publish: bool
