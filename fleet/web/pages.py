"""The web page's HTML: a small shell per page, filled in by the vendored scripts in
fleet/static/ from the JSON API. Nothing here comes from a board; the only dynamic
values (the user name, the id in the path) are HTML-escaped."""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from fleet.web.auth import COOKIE, SESSION_LIFETIME, AuthUser, authenticator, page_user
from fleet.web.auth import same_origin as _same_origin

MAX_FORM_BYTES = 8192
PageUser = Annotated[AuthUser, Depends(page_user)]
router = APIRouter(include_in_schema=False)

_HEAD = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>signage-fleet</title>
<link rel="stylesheet" href="/static/fleet.css">
</head>"""

_LANG = """<span class="lang"><button type="button" data-lang="vi">VI</button> |
<button type="button" data-lang="en">EN</button></span>"""


def _shell(page: str, user: AuthUser, key: str = "") -> HTMLResponse:
    body = f"""{_HEAD}
<body data-page="{page}" data-key="{html.escape(key)}"
 data-can-publish="{"1" if user.can_publish else "0"}">
<header>
<a class="brand" href="/">signage-fleet</a>
<nav><a href="/" data-i18n="nav.boards">Bảng</a>
<a href="/alerts" data-i18n="nav.alerts">Cảnh báo</a></nav>
<span id="live" class="live" data-i18n="live.connecting">Đang kết nối…</span>
{_LANG}
<span class="user">{html.escape(user.name)}</span>
<form method="post" action="/logout" class="logout">
<button type="submit" data-i18n="nav.logout">Đăng xuất</button></form>
</header>
<main id="main"></main>
<script src="/static/i18n.js"></script>
<script src="/static/common.js"></script>
<script src="/static/{page}.js"></script>
</body></html>"""
    return HTMLResponse(body)


@router.get("/", response_class=HTMLResponse)
def grid_page(user: PageUser) -> HTMLResponse:
    return _shell("grid", user)


@router.get("/boards/{board_id}", response_class=HTMLResponse)
def board_page(board_id: str, user: PageUser) -> HTMLResponse:
    return _shell("board", user, board_id[:64])


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(user: PageUser) -> HTMLResponse:
    return _shell("alerts", user)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(alert_id: str, user: PageUser) -> HTMLResponse:
    return _shell("alert", user, alert_id[:200])


def _login_form(next_path: str, failed: bool, status: int = 200) -> HTMLResponse:
    error = (
        '<p class="error" data-i18n="login.failed">Sai tên hoặc mật khẩu (hoặc thử quá nhiều '
        "lần). / Wrong name or password (or too many tries).</p>"
        if failed
        else ""
    )
    body = f"""{_HEAD}
<body data-page="login"><header><span class="brand">signage-fleet</span>{_LANG}</header>
<main id="main"><form method="post" action="/login" class="login">
<h1 data-i18n="login.title">Đăng nhập</h1>{error}
<label><span data-i18n="login.name">Tên người dùng</span>
<input name="name" id="name" autocomplete="username" required maxlength="64"></label>
<label><span data-i18n="login.password">Mật khẩu</span>
<input name="password" id="password" type="password" autocomplete="current-password"
 required maxlength="1024"></label>
<input type="hidden" name="next" value="{html.escape(next_path)}">
<button type="submit" id="login" data-i18n="login.submit">Đăng nhập</button>
</form></main><script src="/static/i18n.js"></script></body></html>"""
    return HTMLResponse(body, status_code=status)


def _safe_next(value: str) -> str:
    # Only a path on this site: never `//host` or a scheme (an open redirect).
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    # SameSite=Strict withholds the cookie when a link from another site (an e-mail, a
    # chat) opens a page, which then sends here; this same-site request carries it.
    if authenticator(request).identify(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(_safe_next(next), failed=False)


def _cross_origin(request: Request) -> bool:
    has_origin = "origin" in request.headers or "referer" in request.headers
    return has_origin and not _same_origin(request)


@router.post("/login")
async def login(request: Request) -> Response:
    if _cross_origin(request):
        raise HTTPException(403, "yêu cầu khác nguồn / cross-origin request refused")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
    form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
    name = form.get("name", [""])[0]
    password = form.get("password", [""])[0]
    next_path = _safe_next(form.get("next", ["/"])[0])
    auth = authenticator(request)
    # Argon2 is slow on purpose: off the event loop.
    user = await run_in_threadpool(auth.check_password, name, password)
    if user is None:
        return _login_form(next_path, failed=True, status=401)
    token = await run_in_threadpool(auth.open_session, user)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if _cross_origin(request):
        raise HTTPException(403, "yêu cầu khác nguồn / cross-origin request refused")
    token = request.cookies.get(COOKIE)
    if token:
        authenticator(request).close_session(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
