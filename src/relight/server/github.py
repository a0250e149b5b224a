"""Calls back to GitHub (statuses, PR files, comments, App tokens, OAuth) through githubkit.

githubkit is pointed at ``api_url`` (github.com or GitHub Enterprise's ``https://HOST/api/v3``).
With a token every call uses it; with a GitHub App, githubkit signs the App's JWT and this module
asks for the repository's installation and an installation token (cached until shortly before
it expires). Every failure is translated into :class:`GitHubError` (a message with the HTTP
status, never a token); callers in a run log it and carry on: a status that could not be posted
never fails an apply.
"""

from __future__ import annotations

import functools
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
from githubkit import AppAuthStrategy, GitHub, OAuthWebAuthStrategy, TokenAuthStrategy
from githubkit.exception import GitHubException, RequestFailed

from relight.errors import RelightError
from relight.server.config import GitHubSettings

__all__ = ["COMMENT_LIMIT", "DESCRIPTION_LIMIT", "GitHubClient", "GitHubError", "StatusState", "shorten"]

StatusState = Literal["pending", "success", "failure", "error"]
DESCRIPTION_LIMIT = 140  # GitHub answers 422 beyond this
COMMENT_LIMIT = 65_536
_TOKEN_MARGIN = 300.0  # renew installation tokens five minutes before they expire
_T = TypeVar("_T")


class GitHubError(RelightError):
    """A GitHub API call failed; the message says which call and why (no secrets)."""


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass(frozen=True, slots=True)
class SignedIn:
    login: str
    github_id: int | None


class GitHubClient:
    """One client per server; thread-safe (each call builds its request from shared settings)."""

    def __init__(self, settings: GitHubSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self._base = settings.api_url.rstrip("/") + "/"
        self._timeout = timeout
        self._lock = threading.Lock()
        self._installations: dict[str, tuple[str, float]] = {}  # repo -> (token, expires monotonic)

    # -- the calls a run makes -------------------------------------------------------------

    def set_status(self, repo: str, sha: str, state: StatusState, description: str, context: str,
                   target_url: str) -> None:
        """Post a commit status (a new post with the same context replaces the old one)."""
        owner, name = _split(repo)
        self._call(repo, f"posting status {context!r}", lambda gh: gh.rest.repos.create_commit_status(
            owner, name, sha, state=state, description=shorten(description, DESCRIPTION_LIMIT), context=context,
            target_url=target_url))

    def pr_files(self, repo: str, number: int) -> list[str]:
        """Paths the pull request changes (and the old paths of renamed files)."""
        owner, name = _split(repo)
        paths: list[str] = []
        for page in range(1, 31):  # GitHub lists at most 3,000 files, 100 a page
            items = self._call(repo, f"listing the files of pull request #{number}",
                               functools.partial(_list_files, owner=owner, name=name, number=number, page=page))
            if not isinstance(items, list):
                raise GitHubError(f"listing the files of pull request #{number}: unexpected answer")
            for item in items:
                if isinstance(item, dict):
                    paths.extend(str(item[k]) for k in ("filename", "previous_filename") if item.get(k))
            if len(items) < 100:
                break
        return paths

    def upsert_comment(self, repo: str, number: int, comment_id: int | None, body: str) -> int:
        """Edit comment ``comment_id`` in place, or add one when there is none (or it was deleted)."""
        owner, name = _split(repo)
        text = shorten(body, COMMENT_LIMIT - 100)
        if comment_id is not None:
            try:
                self._call(repo, "editing the plan comment",
                           lambda gh: gh.rest.issues.update_comment(owner, name, comment_id, data={"body": text}))
                return comment_id
            except GitHubError as exc:
                if "404" not in str(exc):
                    raise
        resp = self._call(repo, "adding the plan comment",
                          lambda gh: gh.rest.issues.create_comment(owner, name, number, data={"body": text}))
        new_id = resp.json().get("id")
        if not isinstance(new_id, int):
            raise GitHubError("adding the plan comment: GitHub returned no comment id")
        return new_id

    def clone_token(self, repo: str) -> str:
        """A token git can use over HTTPS: the configured token, or an App installation token."""
        if self.settings.app is None:
            return self.settings.token
        return self._installation_token(repo)

    # -- signing in ------------------------------------------------------------------------

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        query = urllib.parse.urlencode({"client_id": self.settings.client_id, "redirect_uri": redirect_uri,
                                        "state": state, "scope": "read:user"})
        return f"{self.settings.web_url}/login/oauth/authorize?{query}"

    def sign_in(self, code: str, redirect_uri: str) -> SignedIn:
        """Exchange an OAuth code for the user's login (the token is used once, then dropped)."""
        strategy = OAuthWebAuthStrategy(self.settings.client_id, self.settings.client_secret, code, redirect_uri)
        try:
            with GitHub(strategy, base_url=self._base, timeout=self._timeout, http_cache=False,
                        auto_retry=False) as gh:
                user = gh.rest.users.get_authenticated().json()
        except GitHubException as exc:
            raise GitHubError(f"signing in with GitHub: {_describe(exc)}") from None
        login = user.get("login") if isinstance(user, dict) else None
        if not isinstance(login, str) or not login:
            raise GitHubError("signing in with GitHub: no login in the answer")
        uid = user.get("id")
        return SignedIn(login, uid if isinstance(uid, int) else None)

    # -- internals -------------------------------------------------------------------------

    def _client(self, repo: str) -> GitHub[Any]:
        if self.settings.app is None:
            auth: Any = TokenAuthStrategy(self.settings.token)
        else:
            auth = TokenAuthStrategy(self._installation_token(repo))
        return GitHub(auth, base_url=self._base, timeout=self._timeout, http_cache=False, auto_retry=False)

    def _call(self, repo: str, what: str, fn: Callable[[GitHub[Any]], _T]) -> _T:
        try:
            with self._client(repo) as gh:
                return fn(gh)
        except GitHubException as exc:
            raise GitHubError(f"{what} on {repo}: {_describe(exc)}") from None
        except httpx.HTTPError as exc:
            raise GitHubError(f"{what} on {repo}: {type(exc).__name__}: {exc}") from None

    def _installation_token(self, repo: str) -> str:
        app = self.settings.app
        assert app is not None
        with self._lock:
            cached = self._installations.get(repo.lower())
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
        owner, name = _split(repo)
        try:
            with GitHub(AppAuthStrategy(app.app_id, app.private_key), base_url=self._base, timeout=self._timeout,
                        http_cache=False, auto_retry=False) as gh:
                installation = gh.rest.apps.get_repo_installation(owner, name).json()
                inst_id = installation.get("id") if isinstance(installation, dict) else None
                if not isinstance(inst_id, int):
                    raise GitHubError(f"the GitHub App is not installed on {repo}")
                doc = gh.rest.apps.create_installation_access_token(inst_id).json()
        except GitHubException as exc:
            raise GitHubError(f"getting an installation token for {repo}: {_describe(exc)}") from None
        token = doc.get("token") if isinstance(doc, dict) else None
        if not isinstance(token, str):
            raise GitHubError(f"getting an installation token for {repo}: no token in the answer")
        with self._lock:
            self._installations[repo.lower()] = (token, time.monotonic() + 3600 - _TOKEN_MARGIN)
        return token


def _list_files(gh: GitHub[Any], owner: str, name: str, number: int, page: int) -> Any:
    return gh.rest.pulls.list_files(owner, name, number, per_page=100, page=page).json()


def _split(repo: str) -> tuple[str, str]:
    owner, _, name = repo.partition("/")
    return owner, name


def _describe(exc: GitHubException) -> str:
    if isinstance(exc, RequestFailed):
        response = exc.response
        message = ""
        try:
            doc = response.json()
            message = str(doc.get("message", "")) if isinstance(doc, dict) else ""
        except Exception:  # a non-JSON error page
            message = ""
        return f"HTTP {response.status_code}" + (f": {message}" if message else "")
    return f"{type(exc).__name__}: {exc}"
