"""Fire-and-forget delivery of JSON messages to Slack incoming webhooks and generic webhooks.

Contract: :meth:`Delivery.send` never blocks and never raises. Each target gets its own
delivery, made by one lazily started daemon thread in send order, retried after connection
errors, timeouts, HTTP 429 and 5xx with exponential backoff; every final failure is reported
through the ``log`` callable and counted in :attr:`Delivery.failed`, never raised. Log lines
name a target by its kind and URL host only: a Slack incoming-webhook URL is a secret.

Used by the heal loop's :class:`~relight.heal.notify.Notifier` and by the pipeline server. Only
the standard library is used (:mod:`urllib.request`); redirects are not followed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import queue
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from relight import __version__
from relight.heal.slack import one_line, truncate
from relight.runs import url_problem

__all__ = ["MAX_BACKOFF", "MAX_QUEUE", "RETRY_AFTER_CAP", "Delivery", "Target", "TargetKind", "make_targets"]

RETRY_AFTER_CAP = 30.0
"""Longest wait, in seconds, honoured from a ``Retry-After`` header on HTTP 429."""

MAX_BACKOFF = 30.0
"""Longest exponential-backoff wait, in seconds, between two attempts."""

MAX_QUEUE = 1000
"""Deliveries waiting at most; :meth:`Delivery.send` drops (and logs) messages beyond this."""

_MAX_RESPONSE_READ = 64 * 1024
_MAX_REASON = 300

TargetKind = Literal["slack", "webhook"]


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Target:
    """Where messages go: a Slack incoming webhook or a generic JSON webhook, with its headers."""

    kind: TargetKind
    url: str
    host: str
    headers: dict[str, str]

    @property
    def label(self) -> str:
        return f"{'Slack' if self.kind == 'slack' else 'webhook'} ({self.host})"

    def redact(self, text: str) -> str:
        """``text`` without the URL, its path or its query (a Slack URL's path is its secret)."""
        parts = urllib.parse.urlsplit(self.url)
        for secret in (self.url, parts.path, parts.query):
            if len(secret) > 1:
                text = text.replace(secret, "<redacted>")
        return text


@dataclass(frozen=True)
class _Job:
    target: Target
    what: str  # what the message is about, for log lines ("detected incident 20261201-...")
    body: bytes


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    reason: str = ""
    retryable: bool = False
    retry_after: float | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a redirected POST would silently become a GET (or leak the body elsewhere)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


_STOP = object()


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP-date or garbage: fall back to exponential backoff
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, RETRY_AFTER_CAP)


def _clean_reason(text: str) -> str:
    return truncate(one_line(text), _MAX_REASON) or "unknown error"


def _host_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port is not None else host


def make_targets(
    slack_url: str | None,
    webhook_url: str | None,
    headers: Mapping[str, str] | None = None,
    log: Callable[[str], None] = stderr_log,
) -> tuple[Target, ...]:
    """The targets for these URLs: an empty URL is not configured; an unusable one (see
    :func:`relight.runs.url_problem`) is logged once and left out, so a typo never stops the
    caller. ``headers`` are extra HTTP headers for the webhook only (never sent to Slack); they
    may override ``User-Agent`` but not ``Content-Type``. Raises ValueError for a header with a
    line break or NUL (a programming error)."""
    extra = dict(headers or {})
    for name, value in extra.items():
        if any(c in name + value for c in "\r\n\0"):
            # Never echo the value: it is typically a token.
            raise ValueError(f"header {name!r} contains a line break or NUL")
    base = {"Content-Type": "application/json", "User-Agent": f"relight/{__version__}"}
    webhook_headers = {**base, **{k: v for k, v in extra.items() if k.lower() != "content-type"}}
    targets: list[Target] = []
    candidates: tuple[tuple[TargetKind, str | None, dict[str, str]], ...] = (
        ("slack", slack_url, base),
        ("webhook", webhook_url, webhook_headers),
    )
    for kind, url, target_headers in candidates:
        if not url:
            continue
        problem = url_problem(url)
        if problem is not None:
            label = "Slack" if kind == "slack" else "webhook"
            with contextlib.suppress(Exception):
                log(f"relight: {label} notifications are off: {problem}")
            continue
        targets.append(Target(kind=kind, url=url, host=_host_of(url), headers=dict(target_headers)))
    return tuple(targets)


class Delivery:
    """Sends JSON bodies to targets in the background (see the module's contract).

    A delivery is retried up to ``retries`` times (so at most ``retries + 1`` attempts) after
    connection errors, timeouts, HTTP 429 and 5xx, waiting ``backoff``, ``2 * backoff``, ...
    (capped at 30 s) or a numeric ``Retry-After`` on 429 (capped at 30 s); other 4xx and
    redirects are not retried. A final failure is logged through ``log`` (target kind and URL
    host, what the message is about, reason) and counted in :attr:`failed`; a success is counted
    in :attr:`delivered` and logged only when it needed a retry. The constructor raises
    :class:`ValueError` only for programming errors: a negative ``retries`` or ``backoff`` or a
    non-positive ``timeout``.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        log: Callable[[str], None] = stderr_log,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        if not (backoff >= 0 and math.isfinite(backoff)):
            raise ValueError("backoff must be a finite number >= 0")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError("timeout must be a finite number > 0")
        self._targets: tuple[Target, ...] = tuple(targets)
        self._log = log
        self._retries = retries
        self._backoff = backoff
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

        self._queue: queue.Queue[object] = queue.Queue()
        self._cond = threading.Condition()
        self._enqueued = 0
        self._finished = 0
        self._delivered = 0
        self._failed = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- public --------------------------------------------------------------------------------

    @property
    def targets(self) -> tuple[Target, ...]:
        return self._targets

    @property
    def enabled(self) -> bool:
        """True when at least one target (Slack or webhook) is configured."""
        return bool(self._targets)

    @property
    def delivered(self) -> int:
        """Deliveries (one per target per event) that a target accepted with a 2xx."""
        with self._cond:
            return self._delivered

    @property
    def failed(self) -> int:
        """Deliveries given up: retries exhausted, not retryable, dropped (queue full) or closed."""
        with self._cond:
            return self._failed

    @property
    def pending(self) -> int:
        """Deliveries queued or in flight."""
        with self._cond:
            return self._enqueued - self._finished

    def send(self, what: str, payload_for: Callable[[Target], Mapping[str, Any]]) -> None:
        """Queue one message for every configured target and return at once; never raises.

        ``payload_for(target)`` makes each target's JSON body (called now, on the caller's
        thread: a snapshot of the message as it is at send time); ``what`` names the message in
        log lines. Does nothing when no target is configured. After :meth:`close`, or with
        :data:`MAX_QUEUE` deliveries already waiting, the message is dropped, logged and counted
        as failed.
        """
        try:
            self._send(what, payload_for)
        except Exception as exc:  # the contract: a notification problem never reaches the caller
            self._safe_log(f"relight: notification for {what} not sent: {_clean_reason(repr(exc))}")

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until everything queued so far was delivered or given up.

        Returns True if drained in time, False otherwise (deliveries then continue in the background).
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            target = self._enqueued
            while self._finished < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Flush for up to ``timeout`` seconds, then stop the delivery thread; never raises.

        Deliveries still waiting after the flush are given up (logged, counted as failed) without
        further attempts; a request already in flight may outlive this call by up to the request
        ``timeout`` (the thread is a daemon, so it never holds up interpreter exit). Idempotent.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        self.flush(timeout)
        with self._cond:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._stopping.set()
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Delivery:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _send(self, what: str, payload_for: Callable[[Target], Mapping[str, Any]]) -> None:
        if not self._targets:
            return
        jobs = [
            _Job(target, one_line(what), json.dumps(payload_for(target), default=str).encode("utf-8"))
            for target in self._targets
        ]
        dropped: list[str] = []
        with self._cond:
            for job in jobs:
                if self._closed:
                    self._failed += 1
                    dropped.append(_failure_line(job, "notifier is closed; dropped"))
                elif self._enqueued - self._finished >= MAX_QUEUE:
                    self._failed += 1
                    dropped.append(_failure_line(job, f"{MAX_QUEUE} notifications already waiting; dropped"))
                else:
                    self._queue.put_nowait(job)
                    self._enqueued += 1
            if self._thread is None and not self._closed and self._enqueued > self._finished:
                self._thread = threading.Thread(target=self._run, name="relight-notify", daemon=True)
                self._thread.start()
        for line in dropped:
            self._safe_log(line)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, _Job)
            try:
                if self._stopping.is_set():
                    self._finish(item, "notifier closed before delivery")
                else:
                    self._deliver(item)
            except Exception as exc:  # keep the thread alive whatever happens
                self._finish(item, item.target.redact(_clean_reason(f"internal error: {exc!r}")))

    def _finish(self, job: _Job, failure: str | None, note: str | None = None) -> None:
        """Record ``job`` as done: delivered when ``failure`` is None, else failed with that reason.

        The log line is written before the counters move, so after :meth:`flush` returns True the
        log already holds every line about the drained deliveries.
        """
        if failure is not None:
            self._safe_log(_failure_line(job, failure))
        elif note is not None:
            self._safe_log(f"relight: {job.target.label} notification for {job.what} {note}")
        with self._cond:
            if failure is None:
                self._delivered += 1
            else:
                self._failed += 1
            self._finished += 1
            self._cond.notify_all()

    def _deliver(self, job: _Job) -> None:
        attempts = self._retries + 1
        last = ""
        for attempt in range(1, attempts + 1):
            outcome = self._attempt(job)
            if outcome.ok:
                note = f"delivered after {attempt} attempts (earlier: {last})" if attempt > 1 else None
                self._finish(job, None, note)
                return
            last = outcome.reason
            tried = f" (after {attempt} attempts)" if attempt > 1 else ""
            if not outcome.retryable:
                self._finish(job, f"{last}; not retried{tried}")
                return
            if attempt == attempts:
                self._finish(job, f"{last}; gave up{tried}")
                return
            delay = outcome.retry_after
            if delay is None:
                delay = min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF)
            if self._stopping.wait(delay):
                self._finish(job, f"{last}; notifier closed before the retry{tried}")
                return

    def _attempt(self, job: _Job) -> _Outcome:
        target = job.target
        request = urllib.request.Request(target.url, data=job.body, headers=target.headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read(_MAX_RESPONSE_READ)
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return self._http_failure(target, exc)
        except urllib.error.URLError as exc:
            reason = exc.reason
            retryable = isinstance(reason, OSError) and not isinstance(reason, ssl.SSLCertVerificationError)
            return _Outcome(False, target.redact(_clean_reason(str(reason))), retryable)
        except ssl.SSLCertVerificationError as exc:
            return _Outcome(False, target.redact(_clean_reason(str(exc))), False)
        except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, malformed responses
            text = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError):
                text = f"timed out after {self._timeout:g} s"
            return _Outcome(False, target.redact(_clean_reason(text)), True)
        if 200 <= status < 300:
            return _Outcome(True)
        return _Outcome(False, f"HTTP {status}", False)

    def _http_failure(self, target: Target, exc: urllib.error.HTTPError) -> _Outcome:
        status = exc.code
        snippet = ""
        try:
            snippet = one_line(exc.read(512).decode("utf-8", errors="replace"))
        except Exception:
            snippet = ""
        finally:
            exc.close()
        reason = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        if 300 <= status < 400:
            reason = f"HTTP {status} (redirects are not followed)"
        reason = target.redact(_clean_reason(reason))
        if status == 429:
            retry_after = _parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            return _Outcome(False, reason, True, retry_after)
        return _Outcome(False, reason, 500 <= status < 600)

    def _safe_log(self, line: str) -> None:
        with contextlib.suppress(Exception):  # a broken logger must not break delivery
            self._log(line)


def _failure_line(job: _Job, reason: str) -> str:
    return f"relight: {job.target.label} notification for {job.what} failed: {reason}"
