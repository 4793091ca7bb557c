"""GET /api/stream: the live changes as server-sent events.

`event: board|alert|command|resync` with `data: {"key": …}`; a comment every 15 s keeps
proxies from closing an idle stream. A stream ends when the browser leaves (Starlette
cancels it on disconnect) or when the server stops: uvicorn waits for open responses
before it exits, so `FleetServer` sets the stop flag every stream polls.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from fleet.live import Changes
from fleet.web.auth import api_user

KEEPALIVE_S = 15.0
STOP_POLL_S = 0.5
router = APIRouter(prefix="/api", tags=["fleet"])


async def change_stream(changes: Changes, stop: threading.Event) -> AsyncIterator[str]:
    async with changes.subscribe() as queue:
        yield "retry: 3000\n: connected\n\n"
        last_sent = time.monotonic()
        while not stop.is_set():
            try:
                change = await asyncio.wait_for(queue.get(), timeout=STOP_POLL_S)
            except TimeoutError:
                if time.monotonic() - last_sent >= KEEPALIVE_S:
                    last_sent = time.monotonic()
                    yield ": keep-alive\n\n"
                continue
            last_sent = time.monotonic()
            yield f"event: {change.kind}\ndata: {json.dumps({'key': change.key})}\n\n"


@router.get(
    "/stream",
    dependencies=[Depends(api_user)],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(request: Request) -> StreamingResponse:
    return StreamingResponse(
        change_stream(request.app.state.changes, request.app.state.streams_stop),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class FleetServer(uvicorn.Server):
    """uvicorn's server, which also ends the app's live streams when it shuts down (use
    it instead of `uvicorn.Server` / `uvicorn.run` for an app from `create_app`)."""

    async def shutdown(self, sockets: Any = None) -> None:
        app = self.config.app
        stop = getattr(getattr(app, "state", None), "streams_stop", None)
        if isinstance(stop, threading.Event):
            stop.set()
        await super().shutdown(sockets)
