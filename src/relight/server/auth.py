"""Who is asking: API tokens (``Authorization: Bearer``) and signed session cookies, plus CSRF.

Sessions are ``{"login", "csrf"}`` signed with a random key kept in the database
(itsdangerous, timestamped: 12 hours), in an ``HttpOnly``, ``SameSite=Lax`` cookie that is also
``Secure`` when the public URL is https. Every form carries the session's CSRF token and every
cookie-authenticated POST must present it (the form field ``csrf`` or the ``X-CSRF-Token``
header); bearer-token requests carry no cookie and need none. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from relight.server.accounts import Accounts

__all__ = ["SESSION_COOKIE", "Auth", "Identity"]

SESSION_COOKIE = "relight_session"
OAUTH_COOKIE = "relight_oauth"
LOGIN_CSRF_COOKIE = "relight_login_csrf"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Identity:
    login: str
    via: Literal["token", "session"]
    csrf: str = ""


class Auth:
    def __init__(self, accounts: Accounts, secret_key: str, secure: bool) -> None:
        self.accounts = accounts
        self.secure = secure
        self._sessions = URLSafeTimedSerializer(secret_key, salt="relight-session")
        self._oauth = URLSafeTimedSerializer(secret_key, salt="relight-oauth")

    def identify(self, request: Request) -> Identity | None:
        """The bearer token's user, else the session's, else None."""
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "basic":  # Terraform's http backend: the API token is the password
                token = _basic_password(token.strip())
            elif scheme.lower() != "bearer":
                return None
            login = self.accounts.authenticate(token.strip())
            return Identity(login, "token") if login is not None else None
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        try:
            doc = self._sessions.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("login"), str):
            return None
        return Identity(doc["login"], "session", str(doc.get("csrf", "")))

    def csrf_ok(self, identity: Identity, presented: str | None) -> bool:
        if identity.via == "token":
            return True
        return bool(presented) and bool(identity.csrf) and hmac.compare_digest(identity.csrf, presented or "")

    def start_session(self, response: Response, login: str) -> None:
        value = self._sessions.dumps({"login": login, "csrf": secrets.token_urlsafe(24)})
        self._cookie(response, SESSION_COOKIE, value, SESSION_SECONDS)

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    # -- OAuth state and the login form's CSRF (before there is a session) --------------------

    def oauth_state(self, response: Response, next_url: str) -> str:
        state = secrets.token_urlsafe(24)
        self._cookie(response, OAUTH_COOKIE, self._oauth.dumps({"state": state, "next": next_url}), 600)
        return state

    def check_oauth_state(self, request: Request, state: str) -> str | None:
        """The ``next`` URL when ``state`` matches the cookie set by :meth:`oauth_state`."""
        try:
            doc = self._oauth.loads(request.cookies.get(OAUTH_COOKIE, ""), max_age=600)
        except BadSignature:
            return None
        if not isinstance(doc, dict) or not hmac.compare_digest(str(doc.get("state", "")), state):
            return None
        return str(doc.get("next") or "/")

    def login_csrf_token(self, request: Request) -> str:
        """The sign-in form's CSRF token (double-submit: the same value in a cookie and the form)."""
        return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)

    def set_login_csrf(self, response: Response, token: str) -> None:
        self._cookie(response, LOGIN_CSRF_COOKIE, token, 3600)

    def login_csrf_ok(self, request: Request, presented: str | None) -> bool:
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        return bool(cookie) and bool(presented) and hmac.compare_digest(cookie, presented or "")

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                            secure=self.secure)


def _basic_password(value: str) -> str:
    """The password of an HTTP basic credential ("" when it is not one)."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]
