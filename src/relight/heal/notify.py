"""Deliver heal-loop :class:`~relight.heal.events.Event` s to Slack and a generic JSON webhook.

Contract: notifying must never hurt healing. :meth:`Notifier.send` never blocks and never raises;
delivery happens on one background daemon thread, is retried on transient failures (connection
errors, timeouts, HTTP 429 and 5xx) with exponential backoff, and every final failure is reported
through the ``log`` callable and counted in :attr:`Notifier.failed` -- it is never raised. Log lines
name a target by its kind and URL host only: a Slack incoming-webhook URL is a secret.

Only the standard library is used (:mod:`urllib.request`); redirects are not followed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import queue
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from relight import __version__
from relight.heal.events import Event

__all__ = ["MAX_BACKOFF", "MAX_QUEUE", "RETRY_AFTER_CAP", "Notifier", "slack_payload", "url_problem", "webhook_payload"]

RETRY_AFTER_CAP = 30.0
"""Longest wait, in seconds, honoured from a ``Retry-After`` header on HTTP 429."""

MAX_BACKOFF = 30.0
"""Longest exponential-backoff wait, in seconds, between two attempts."""

MAX_QUEUE = 1000
"""Deliveries waiting at most; :meth:`Notifier.send` drops (and logs) events beyond this."""

# Slack Block Kit limits (characters).
_HEADER_MAX = 150
_SECTION_MAX = 3000
_FIELD_MAX = 2000
_CONTEXT_MAX = 3000
_FALLBACK_MAX = 3000
_MAX_OBJECTS = 10

_MAX_RESPONSE_READ = 64 * 1024
_MAX_REASON = 300
_ELLIPSIS = "\u2026"

TargetKind = Literal["slack", "webhook"]


def _stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------

_HEADLINES: dict[str, str] = {
    "detected": "Objects vanished",
    "recovered": "Recovered",
    "failed": "Recovery failed",
    "drift": "Drift detected",
    "blocked": "Recovery blocked",
    "resolved": "Resolved",
    "blind": "Cannot see the cloud",
}

_WHITESPACE = re.compile(r"\s+")
_HEX_REVISION = re.compile(r"[0-9a-fA-F]{13,64}")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def _slack_len(text: str) -> int:
    """Length as Slack may count it: UTF-16 code units (never less than the code-point count)."""
    return len(text.encode("utf-16-le")) // 2


def _truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters (code points and UTF-16 units), ellipsis-ended.

    A cut never splits a ``&amp;``-style escape produced by :func:`_escape`.
    """
    if _slack_len(text) <= limit:
        return text
    budget = limit - 1  # room for the ellipsis
    units = 0
    cut = text
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > budget:
            cut = text[:index]
            break
    return _PARTIAL_ENTITY.sub("", cut) + _ELLIPSIS


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _escape(text: str) -> str:
    """Escape Slack mrkdwn control characters so user text cannot form links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _or_dash(text: str) -> str:
    return text if text.strip() else "-"


def _format_duration(seconds: float | None, compact: bool = False) -> str | None:
    """``12.3 s``, ``2 min 5 s``, ``1 h 4 min`` (compact: ``12.3s``, ``2m 5s``, ``1h 4m``); None if unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    s_unit, m_unit, h_unit, sep = ("s", "m", "h", " ") if compact else (" s", " min", " h", " ")
    if seconds < 59.95:
        return f"{seconds:.1f}{s_unit}"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}{h_unit}" + (f"{sep}{minutes}{m_unit}" if minutes else "")
    return f"{minutes}{m_unit}" + (f"{sep}{secs}{s_unit}" if secs else "")


def _short_revision(revision: str | None) -> str | None:
    if revision is None or not revision.strip():
        return None
    revision = revision.strip()
    return revision[:12] if _HEX_REVISION.fullmatch(revision) else revision


def _fallback_text(event: Event) -> str:
    stack = _one_line(event.stack) or "(unnamed stack)"
    shown = [_one_line(a) for a in event.addresses[:3]]
    more = len(event.addresses) - len(shown)
    objects = ", ".join(shown) + (f", +{more} more" if more > 0 else "")
    suffix = f" ({objects})" if objects else ""
    if event.kind == "recovered":
        took = _format_duration(event.time_to_recover, compact=True)
        line = f"relight: recovered {stack}" + (f" in {took}" if took else "") + suffix
    elif event.kind == "detected":
        line = f"relight: objects vanished in {stack}{suffix}"
    elif event.kind == "failed":
        line = f"relight: recovery failed for {stack}{suffix}"
    elif event.kind == "drift":
        line = f"relight: drift detected in {stack}{suffix}"
    elif event.kind == "blocked":
        line = f"relight: recovery blocked for {stack}{suffix}"
    elif event.kind == "resolved":
        line = f"relight: resolved in {stack}{suffix}"
    elif event.kind == "blind":
        line = f"relight: the heal loop cannot check {stack}"
    else:  # an unknown kind from a newer producer: still say something useful
        line = f"relight: {_one_line(str(event.kind))} in {stack}{suffix}"
    return _truncate(_escape(line), _FALLBACK_MAX)


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link channel names or parse mentions out of user text.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _field(label: str, value: str) -> dict[str, Any]:
    head = f"*{label}*\n"
    return _mrkdwn(head + _truncate(_or_dash(value), _FIELD_MAX - len(head)))


def slack_payload(event: Event) -> dict[str, Any]:
    """The Slack incoming-webhook body (Block Kit) for ``event``; never raises for any text content.

    Every text is cut with an ellipsis to Slack's limits (header 150, section text 3000, field 2000
    characters, also counted as UTF-16 units); user text in mrkdwn is escaped (``&``, ``<``, ``>``)
    and marked verbatim so it cannot mention or link. ``text`` is a one-line fallback for
    notifications; ``blocks`` hold a header, what happened / what was done, a fields section
    (incident, objects -- at most 10 --, time to recover and config revision when known, time) and
    a context line with the ISO time.
    """
    stack = _one_line(event.stack) or "(unnamed stack)"
    headline = _HEADLINES.get(event.kind, "relight event")
    header = _truncate(f"{headline}: {stack}", _HEADER_MAX)

    happened = _truncate(_escape(_or_dash(event.what_happened.strip())), 1400)
    done = _truncate(_escape(_or_dash(event.what_was_done.strip())), 1400)
    summary = _truncate(f"*What happened:* {happened}\n*What was done:* {done}", _SECTION_MAX)

    fields = [_field("Incident", _escape(_one_line(event.incident_id)))]
    if event.addresses:
        shown = [_escape(_one_line(a)) or "-" for a in event.addresses[:_MAX_OBJECTS]]
        more = len(event.addresses) - len(shown)
        if more > 0:
            shown.append(f"and {more} more")
        fields.append(_field("Objects", "\n".join(shown)))
    took = _format_duration(event.time_to_recover)
    if took is not None:
        fields.append(_field("Time to recover", took))
    revision = _short_revision(event.config_revision)
    if revision is not None:
        fields.append(_field("Config revision", _escape(_one_line(revision))))
    at = _one_line(event.at)
    fields.append(_field("Detected" if event.kind == "detected" else "At", _escape(at)))

    context = _truncate(_escape(f"relight {__version__} \u00b7 {event.kind} \u00b7 {at or '-'}"), _CONTEXT_MAX)
    return {
        "text": _fallback_text(event),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            {"type": "section", "text": _mrkdwn(summary)},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [_mrkdwn(context)]},
        ],
    }


def webhook_payload(event: Event) -> dict[str, Any]:
    """The generic JSON webhook body: ``{"source": "relight", "version": 1, "event": event.to_json()}``.

    Never raises for a well-formed :class:`Event`; values in ``details`` that JSON cannot encode are
    sent as their ``str()`` by :class:`Notifier`.
    """
    return {"source": "relight", "version": 1, "event": event.to_json()}


# --------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
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
    target: _Target
    kind: str
    incident_id: str
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
    return _truncate(_one_line(text), _MAX_REASON) or "unknown error"


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


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a notification target, or None if it can; never raises.

    The answer never quotes the URL (a Slack URL's path is a secret).
    """
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        return "the URL is malformed"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not parts.hostname:
        return "the URL has no host"
    if any(c in url for c in "\r\n\0 "):
        return "the URL contains whitespace or control characters"
    return None


def _make_target(kind: TargetKind, url: str, headers: Mapping[str, str]) -> _Target:
    return _Target(kind=kind, url=url, host=_host_of(url), headers=dict(headers))


class Notifier:
    """Fire-and-forget delivery of heal-loop events to Slack and/or a generic JSON webhook.

    Contract: :meth:`send` never blocks and never raises. Each configured target gets its own
    delivery, made by one lazily started daemon thread in send order. A delivery is retried up to
    ``retries`` times (so at most ``retries + 1`` attempts) after connection errors, timeouts, HTTP
    429 and 5xx, waiting ``backoff``, ``2 * backoff``, ... (capped at 30 s) or a numeric
    ``Retry-After`` on 429 (capped at 30 s); other 4xx and redirects are not retried. A final
    failure is logged through ``log`` (target kind and URL host, event kind, incident id, reason)
    and counted in :attr:`failed`; a success is counted in :attr:`delivered` and logged only when
    it needed a retry.

    ``headers`` are extra HTTP headers for the *webhook* target only (e.g. ``Authorization``); they
    are never sent to Slack; they may override ``User-Agent`` but not ``Content-Type``. An empty URL
    counts as not configured; an unusable one (see :func:`url_problem`) is logged once through
    ``log`` and left out, so a typo in the configuration never stops the heal loop. The constructor
    raises :class:`ValueError` only for programming errors: a negative ``retries`` or ``backoff``, a
    non-positive ``timeout`` or a header with a line break or NUL.
    """

    def __init__(
        self,
        slack_url: str | None = None,
        webhook_url: str | None = None,
        log: Callable[[str], None] = _stderr_log,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        if not (backoff >= 0 and math.isfinite(backoff)):
            raise ValueError("backoff must be a finite number >= 0")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError("timeout must be a finite number > 0")
        extra = dict(headers or {})
        for name, value in extra.items():
            if any(c in name + value for c in "\r\n\0"):
                # Never echo the value: it is typically a token.
                raise ValueError(f"header {name!r} contains a line break or NUL")
        base = {"Content-Type": "application/json", "User-Agent": f"relight/{__version__}"}
        webhook_headers = {**base, **{k: v for k, v in extra.items() if k.lower() != "content-type"}}
        targets: list[_Target] = []
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
            targets.append(_make_target(kind, url, target_headers))
        self._targets: tuple[_Target, ...] = tuple(targets)
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

    def send(self, event: Event) -> None:
        """Queue ``event`` for every configured target and return at once; never raises.

        Does nothing when no target is configured. After :meth:`close`, or with :data:`MAX_QUEUE`
        deliveries already waiting, the event is dropped, logged and counted as failed.
        """
        try:
            self._send(event)
        except Exception as exc:  # the contract: a notification problem never reaches the caller
            self._safe_log(f"relight: notification for {_describe(event)} not sent: {_clean_reason(repr(exc))}")

    def send_slack(self, slack: Mapping[str, Any], kind: str, ref: str) -> None:
        """Queue an already formatted Slack body for the Slack target and return at once.

        For senders with their own messages (the pipeline server's run notices); delivery,
        retries and logging are :meth:`send`'s, with ``kind`` and ``ref`` naming the message in
        log lines. Does nothing without a Slack target; never raises.
        """
        try:
            body = json.dumps(dict(slack), default=str).encode("utf-8")
            jobs = [_Job(t, _one_line(kind), _one_line(ref), body) for t in self._targets if t.kind == "slack"]
            self._enqueue(jobs)
        except Exception as exc:  # the contract: a notification problem never reaches the caller
            self._safe_log(f"relight: Slack notification for {kind} {ref} not sent: {_clean_reason(repr(exc))}")

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

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _send(self, event: Event) -> None:
        if not self._targets:
            return
        self._enqueue([self._job(target, event) for target in self._targets])

    def _enqueue(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
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

    def _job(self, target: _Target, event: Event) -> _Job:
        payload = slack_payload(event) if target.kind == "slack" else webhook_payload(event)
        # Encoded now, on the caller's thread: a snapshot of ``details`` as they are at send time.
        body = json.dumps(payload, default=str).encode("utf-8")
        return _Job(
            target=target, kind=_one_line(str(event.kind)), incident_id=_one_line(str(event.incident_id)), body=body
        )

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
            self._safe_log(f"relight: {job.target.label} notification for {job.kind} incident {job.incident_id} {note}")
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

    def _http_failure(self, target: _Target, exc: urllib.error.HTTPError) -> _Outcome:
        status = exc.code
        snippet = ""
        try:
            snippet = _one_line(exc.read(512).decode("utf-8", errors="replace"))
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


def _describe(event: Event) -> str:
    try:
        return f"{event.kind} incident {event.incident_id}"
    except Exception:
        return "an event"


def _failure_line(job: _Job, reason: str) -> str:
    return f"relight: {job.target.label} notification for {job.kind} incident {job.incident_id} failed: {reason}"
