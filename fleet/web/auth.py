"""Who is asking: a login session cookie, or HTTP Basic with the same credentials.

The cookie holds a random token; the database keeps only its SHA-256, so a copy of the
database cannot be replayed as a login. Failed logins are rate-limited per name in
memory (a restart forgets, which is fine: it only slows guessing). Passwords are never
logged; a name that does not exist costs the same Argon2 verification as one that does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from sqlalchemy import delete

from fleet.store.db import Store
from fleet.store.models import LoginSession, User
from fleet.users import HASHER, MAX_NAME, MAX_PASSWORD

COOKIE = "fleet_session"
PAGE_HEADER = "x-fleet-page"  # sent by the page's own fetch() calls
SESSION_LIFETIME = timedelta(hours=12)
FAILURES_ALLOWED = 5
FAILURE_WINDOW_S = 300.0
# A verified Basic login is trusted this long (a changed password or permission takes
# effect within it) for at most this many distinct credentials.
BASIC_CACHE_S = 60.0
BASIC_CACHE_SIZE = 1000
# Verified against when the name is unknown, so both paths take one Argon2 verification.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class AuthUser:
    name: str
    can_publish: bool
    via: str  # "session" | "basic"


class LoginRequired(Exception):
    """A page was asked for without credentials: the app redirects to /login."""


class FailedLogins:
    """Recent failed logins per name; a name with too many waits out the window."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, window_s: float = FAILURE_WINDOW_S):
        self.allowed = allowed
        self.window_s = window_s
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, name: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(name, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name, time.monotonic())) >= self.allowed

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name, time.monotonic()).append(time.monotonic())
            if len(self._failures) > 10_000:  # bounded: forget the oldest names
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Authenticator:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.failures = FailedLogins()
        self._lock = threading.Lock()
        self._basic_cache: dict[str, tuple[AuthUser, float]] = {}

    def check_password(self, name: str, password: str) -> User | None:
        """The user if the password is theirs; None otherwise (also while rate-limited)."""
        if len(name) > MAX_NAME or len(password) > MAX_PASSWORD or self.failures.blocked(name):
            return None
        with self.store.session() as session:
            user = session.get(User, name)
        try:
            HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            self.failures.failed(name)
            return None
        if user is None:  # the dummy hash matched: cannot happen, but never let it in
            return None
        self.failures.succeeded(name)
        return user

    def open_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.store.session() as session:
            session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
            session.add(
                LoginSession(
                    token_sha256=token_digest(token),
                    user_name=user.name,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
        return token

    def close_session(self, token: str) -> None:
        with self.store.session() as session:
            session.execute(
                delete(LoginSession).where(LoginSession.token_sha256 == token_digest(token))
            )

    def from_session(self, token: str) -> AuthUser | None:
        if len(token) > 200:
            return None
        with self.store.session() as session:
            login = session.get(LoginSession, token_digest(token))
            if login is None or login.expires_at <= datetime.now(UTC):
                return None
            user = session.get(User, login.user_name)
            if user is None:
                return None
            return AuthUser(user.name, user.can_publish, "session")

    def from_basic(self, header: str) -> AuthUser | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or len(encoded) > 4 * MAX_PASSWORD:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, colon, password = decoded.partition(":")
        if not colon:
            return None
        # Scripts and kiosks send Basic with every request; an Argon2 check each time
        # would cost ~64 MiB and tens of ms per request, so a success is remembered
        # briefly, keyed by a digest of the credentials (never the password itself).
        key = hashlib.sha256(decoded.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._basic_cache.get(key)
        if cached and cached[1] > now:
            return cached[0]
        user = self.check_password(name, password)
        if user is None:
            return None
        known = AuthUser(user.name, user.can_publish, "basic")
        with self._lock:
            if len(self._basic_cache) >= BASIC_CACHE_SIZE:
                self._basic_cache.clear()
            self._basic_cache[key] = (known, now + BASIC_CACHE_S)
        return known

    def identify(self, request: Request) -> AuthUser | None:
        token = request.cookies.get(COOKIE)
        if token:
            user = self.from_session(token)
            if user:
                return user
        header = request.headers.get("authorization")
        return self.from_basic(header) if header else None


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


def api_user(request: Request) -> AuthUser:
    """Dependency for /api/*: 401 with a Basic challenge when nobody is logged in."""
    user = authenticator(request).identify(request)
    if user is None:
        # The page's own fetches say so: a Basic challenge would make the browser pop
        # up its password dialog when a session expires; the page goes to /login instead.
        page = request.headers.get(PAGE_HEADER) == "1"
        challenge = {} if page else {"WWW-Authenticate": 'Basic realm="signage-fleet"'}
        raise HTTPException(401, "đăng nhập / login required", headers=challenge)
    return user


def page_user(request: Request) -> AuthUser:
    """Dependency for pages: to /login when nobody is logged in."""
    user = authenticator(request).identify(request)
    if user is None:
        raise LoginRequired
    return user


def same_origin(request: Request) -> bool:
    """Whether a state-changing request may come from this page (CSRF defence).

    Browsers send Origin (or at least Referer) with a POST; it must name this host.
    Scripts send neither, which is accepted only with Basic credentials: a cookie alone
    never authorises a request that cannot show where it came from.
    """
    host = request.headers.get("host", "")
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value:
            return value != "null" and urlsplit(value).netloc == host
    return "authorization" in request.headers and COOKIE not in request.cookies


def publisher(request: Request) -> AuthUser:
    """Dependency for commands: logged in, may publish, and the request is same-origin."""
    user = api_user(request)
    if not same_origin(request):
        raise HTTPException(403, "yêu cầu khác nguồn / cross-origin request refused")
    if not user.can_publish:
        raise HTTPException(403, "không có quyền gửi lệnh / publishing not permitted")
    return user
