"""The FastAPI application: pages, JSON API, live stream, vendored static files.

No external URL anywhere: FastAPI's /docs and /redoc load their scripts from a CDN, so
they are off; /openapi.json stays (it needs no login: it holds no fleet data).
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet.commands import CommandSender
from fleet.live import Changes
from fleet.store.db import Store
from fleet.web import api, pages, stream
from fleet.web.auth import Authenticator, LoginRequired

STATIC = Path(__file__).resolve().parent.parent / "static"
# Scripts and styles only from this origin; no inline script, no framing.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(store: Store, changes: Changes, commands: CommandSender | None) -> FastAPI:
    app = FastAPI(
        title="signage-fleet",
        summary="The city's view of its signboards (CONTRACT §9)",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.changes = changes
    app.state.commands = commands
    app.state.auth = Authenticator(store)
    app.state.streams_stop = threading.Event()  # set by stream.FleetServer on shutdown
    app.include_router(api.router)
    app.include_router(stream.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        return pages.login_redirect(request)

    # The board list is ~450 bytes a board (~0.9 MB at 2 000) and compresses ~10x; the
    # event stream is excluded by Starlette (it would buffer it).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Adds the CSP and friends to every response. Plain ASGI (not BaseHTTPMiddleware),
    so the event stream passes through untouched and is cancelled on disconnect."""

    HEADERS = (
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
