"""The JSON API (CONTRACT §9): boards, their history, commands, screenshots, alert reach.

Endpoints are plain `def`: FastAPI runs them in its thread pool, so database reads and
Argon2 checks never block the event loop that carries the live streams.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.commands import CommandSender, PublishFailed
from fleet.live import Changes
from fleet.problems import board_problems
from fleet.store.db import Store
from fleet.store.models import Alert, Board, BoardEvent, Command, HeartbeatSample, Screenshot
from fleet.web.auth import AuthUser, api_user, publisher
from fleet.web.reach_view import alert_list, alert_reach
from fleet.web.schemas import (
    AlertReach,
    AlertSummary,
    BoardDetail,
    BoardSummary,
    CommandOut,
    CommandRequest,
    EventOut,
    EventPage,
    HeartbeatPoint,
    Me,
    NowShowing,
    ProblemOut,
)

log = logging.getLogger(__name__)
DISPLAY_ERROR_WINDOW = timedelta(minutes=15)
HISTORY_POINTS = 500
MAX_ARGS_BYTES = 4096
Viewer = Annotated[AuthUser, Depends(api_user)]
Publisher = Annotated[AuthUser, Depends(publisher)]
router = APIRouter(prefix="/api", tags=["fleet"])


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _board_or_404(session: Session, board_id: str) -> Board:
    board = session.get(Board, board_id) if len(board_id) <= 64 else None
    if board is None:
        raise HTTPException(404, "không có bảng này / no such board")
    return board


def _number(section: Any, key: str) -> float | None:
    value = section.get(key) if isinstance(section, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def summarise(
    board: Board, display_errors: int, screenshot_at: datetime | None, now: datetime
) -> BoardSummary:
    heartbeat = board.heartbeat if isinstance(board.heartbeat, dict) else {}
    showing = heartbeat.get("now_showing")
    assignment = heartbeat.get("assignment")
    name = assignment.get("name") if isinstance(assignment, dict) else heartbeat.get("name")
    alerts = heartbeat.get("alerts_active")
    problems = board_problems(
        state=board.state,
        heartbeat=heartbeat,
        last_heartbeat_at=board.last_heartbeat_at,
        recent_display_errors=display_errors,
        now=now,
    )
    return BoardSummary(
        board_id=board.board_id,
        name=name if isinstance(name, str) else None,
        state=board.state,
        since=board.since,
        offline_reason=board.offline_reason,
        last_heartbeat_at=board.last_heartbeat_at,
        heartbeat_age_s=(now - board.last_heartbeat_at).total_seconds()
        if board.last_heartbeat_at
        else None,
        agent_version=board.agent_version,
        now_showing=_now_showing(showing),
        alerts_active=[a for a in alerts if isinstance(a, str)] if isinstance(alerts, list) else [],
        problems=[ProblemOut(code=p.code, message=p.message) for p in problems],
        screenshot_at=screenshot_at,
        district=board.district,
        commune=board.commune,
        groups=[g for g in board.groups or [] if isinstance(g, str)],
    )


def _now_showing(value: Any) -> NowShowing | None:
    # A board's heartbeat is stored as received: a later or broken board may send
    # something else here, which the page then shows as nothing rather than failing.
    if not isinstance(value, dict):
        return None
    try:
        return NowShowing.model_validate(value)
    except ValidationError:
        return None


def _display_errors(session: Session, now: datetime, board_id: str | None = None) -> dict[str, int]:
    query = (
        select(BoardEvent.board_id, func.count())
        .where(BoardEvent.kind == "display.error", BoardEvent.at >= now - DISPLAY_ERROR_WINDOW)
        .group_by(BoardEvent.board_id)
    )
    if board_id is not None:
        query = query.where(BoardEvent.board_id == board_id)
    return {row[0]: row[1] for row in session.execute(query)}


def _screenshot_times(session: Session) -> dict[str, datetime]:
    rows = session.execute(select(Screenshot.board_id, Screenshot.received_at))
    return {row[0]: row[1] for row in rows}


@router.get("/me", response_model=Me)
def me(user: Viewer) -> Me:
    return Me(name=user.name, can_publish=user.can_publish)


@router.get("/boards", response_model=list[BoardSummary])
def boards(request: Request, _user: Viewer) -> list[BoardSummary]:
    now = datetime.now(UTC)
    with _store(request).session() as session:
        errors = _display_errors(session, now)
        shots = _screenshot_times(session)
        rows = session.scalars(select(Board).order_by(Board.board_id))
        return [summarise(b, errors.get(b.board_id, 0), shots.get(b.board_id), now) for b in rows]


def _events(
    session: Session, board_id: str, kind: str | None, limit: int, before: int | None
) -> EventPage:
    query = select(BoardEvent).where(BoardEvent.board_id == board_id)
    if kind:
        query = query.where(BoardEvent.kind == kind)
    if before is not None:
        query = query.where(BoardEvent.id < before)
    rows = list(session.scalars(query.order_by(BoardEvent.id.desc()).limit(limit + 1)))
    items = [EventOut.model_validate(row, from_attributes=True) for row in rows[:limit]]
    return EventPage(items=items, next_before=items[-1].id if len(rows) > limit else None)


def _history(session: Session, board_id: str) -> list[HeartbeatPoint]:
    rows = session.scalars(
        select(HeartbeatSample)
        .where(HeartbeatSample.board_id == board_id)
        .order_by(HeartbeatSample.sent_at.desc())
        .limit(HISTORY_POINTS)
    )
    points = []
    for row in rows:
        body = row.body if isinstance(row.body, dict) else {}
        system, mqtt, display = (body.get(k) or {} for k in ("system", "mqtt", "display"))
        points.append(
            HeartbeatPoint(
                sent_at=row.sent_at,
                seq=row.seq,
                cpu_percent=_number(system, "cpu_percent"),
                mem_percent=_number(system, "mem_percent"),
                cpu_temp_c=_number(system, "cpu_temp_c"),
                outbox=_number(mqtt, "outbox"),
                fps=_number(display, "fps"),
            )
        )
    return points[::-1]


@router.get("/boards/{board_id}", response_model=BoardDetail)
def board_detail(
    request: Request,
    board_id: str,
    _user: Viewer,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> BoardDetail:
    now = datetime.now(UTC)
    with _store(request).session() as session:
        board = _board_or_404(session, board_id)
        shot = session.get(Screenshot, board_id)
        errors = _display_errors(session, now, board_id).get(board_id, 0)
        commands = session.scalars(
            select(Command)
            .where(Command.board_id == board_id)
            .order_by(Command.sent_at.desc())
            .limit(50)
        )
        return BoardDetail(
            board=summarise(board, errors, shot.received_at if shot else None, now),
            heartbeat=board.heartbeat if isinstance(board.heartbeat, dict) else None,
            history=_history(session, board_id),
            events=_events(session, board_id, kind, limit, before),
            plays=_events(session, board_id, "playback.started", 50, None).items,
            commands=[CommandOut.model_validate(c, from_attributes=True) for c in commands],
        )


@router.get("/boards/{board_id}/events", response_model=EventPage)
def board_events(
    request: Request,
    board_id: str,
    _user: Viewer,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> EventPage:
    with _store(request).session() as session:
        _board_or_404(session, board_id)
        return _events(session, board_id, kind, limit, before)


@router.get(
    "/boards/{board_id}/screenshot",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "no screenshot yet"}},
)
def screenshot(
    request: Request,
    board_id: str,
    _user: Viewer,
    at: Annotated[str | None, Query(max_length=64, description="cache key: screenshot_at")] = None,
) -> Response:
    with _store(request).session() as session:
        shot = session.get(Screenshot, board_id) if len(board_id) <= 64 else None
        if shot is None:
            raise HTTPException(404, "chưa có ảnh màn hình / no screenshot yet")
        # The page asks for `?at=<screenshot_at>`: that URL names one picture for good,
        # so the browser keeps it instead of asking again at every re-render.
        cache = "private, max-age=86400, immutable" if at else "private, no-cache"
        return Response(shot.png, media_type="image/png", headers={"Cache-Control": cache})


@router.post("/boards/{board_id}/commands", response_model=CommandOut, status_code=201)
def send_command(
    request: Request, board_id: str, body: CommandRequest, user: Publisher
) -> CommandOut:
    if len(json.dumps(body.args)) > MAX_ARGS_BYTES:
        raise HTTPException(422, f"args too large (at most {MAX_ARGS_BYTES} bytes)")
    sender: CommandSender | None = request.app.state.commands
    if sender is None:
        raise HTTPException(503, "không có kết nối broker / no broker connection for commands")
    command_id = str(uuid.uuid4())
    with _store(request).session() as session:
        _board_or_404(session, board_id)
        row = Command(
            id=command_id,
            board_id=board_id,
            command=body.command,
            args=body.args,
            sent_by=user.name,
            sent_at=datetime.now(UTC),
        )
        session.add(row)
    try:
        sender.send_command(board_id, command_id, body.command, body.args)
    except PublishFailed as exc:
        log.warning("command %s to %s not published: %s", body.command, board_id, exc)
        message = f"broker không nhận lệnh / the broker did not take it: {exc}"
        raise HTTPException(502, message) from None
    log.info("command %s (%s) sent to %s by %s", body.command, command_id, board_id, user.name)
    changes: Changes = request.app.state.changes
    changes.notify("board", board_id)
    return CommandOut.model_validate(row, from_attributes=True)


@router.get("/commands/{command_id}", response_model=CommandOut)
def command(request: Request, command_id: str, _user: Viewer) -> CommandOut:
    with _store(request).session() as session:
        row = session.get(Command, command_id) if len(command_id) <= 200 else None
        if row is None:
            raise HTTPException(404, "không có lệnh này / no such command")
        return CommandOut.model_validate(row, from_attributes=True)


@router.get("/alerts", response_model=list[AlertSummary])
def alerts(request: Request, _user: Viewer) -> list[AlertSummary]:
    with _store(request).session() as session:
        return alert_list(session)


@router.get("/alerts/{alert_id}", response_model=AlertReach)
def alert(request: Request, alert_id: str, _user: Viewer) -> AlertReach:
    with _store(request).session() as session:
        row = session.get(Alert, alert_id) if len(alert_id) <= 200 else None
        if row is None:
            raise HTTPException(404, "không có cảnh báo này / no such alert")
        return alert_reach(session, row)
