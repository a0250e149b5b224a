"""Slack and generic-webhook message bodies: Block Kit formatting within Slack's limits.

Pure functions, no I/O. :func:`slack_payload` and :func:`webhook_payload` format heal-loop
events; the text helpers (:func:`truncate`, :func:`escape`, :func:`mrkdwn`, :func:`field`,
:func:`format_duration`) are for any other message (the pipeline server's). Delivery is
:mod:`relight.heal.delivery`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from relight import __version__
from relight.heal.events import Event

__all__ = [
    "escape",
    "field",
    "format_duration",
    "mrkdwn",
    "one_line",
    "slack_payload",
    "truncate",
    "webhook_payload",
]

# Slack Block Kit limits (characters).
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
CONTEXT_MAX = 3000
FALLBACK_MAX = 3000
_MAX_OBJECTS = 10
_ELLIPSIS = "\u2026"

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


def slack_len(text: str) -> int:
    """Length as Slack may count it: UTF-16 code units (never less than the code-point count)."""
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters (code points and UTF-16 units), ellipsis-ended.

    A cut never splits a ``&amp;``-style escape produced by :func:`escape`.
    """
    if slack_len(text) <= limit:
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


def one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def escape(text: str) -> str:
    """Escape Slack mrkdwn control characters so user text cannot form links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def or_dash(text: str) -> str:
    return text if text.strip() else "-"


def format_duration(seconds: float | None, compact: bool = False) -> str | None:
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
    stack = one_line(event.stack) or "(unnamed stack)"
    shown = [one_line(a) for a in event.addresses[:3]]
    more = len(event.addresses) - len(shown)
    objects = ", ".join(shown) + (f", +{more} more" if more > 0 else "")
    suffix = f" ({objects})" if objects else ""
    if event.kind == "recovered":
        took = format_duration(event.time_to_recover, compact=True)
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
        line = f"relight: {one_line(str(event.kind))} in {stack}{suffix}"
    return truncate(escape(line), FALLBACK_MAX)


def mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link channel names or parse mentions out of user text.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def field(label: str, value: str) -> dict[str, Any]:
    head = f"*{label}*\n"
    return mrkdwn(head + truncate(or_dash(value), FIELD_MAX - len(head)))


def slack_payload(event: Event) -> dict[str, Any]:
    """The Slack incoming-webhook body (Block Kit) for ``event``; never raises for any text content.

    Every text is cut with an ellipsis to Slack's limits (header 150, section text 3000, field 2000
    characters, also counted as UTF-16 units); user text in mrkdwn is escaped (``&``, ``<``, ``>``)
    and marked verbatim so it cannot mention or link. ``text`` is a one-line fallback for
    notifications; ``blocks`` hold a header, what happened / what was done, a fields section
    (incident, objects -- at most 10 --, time to recover and config revision when known, time) and
    a context line with the ISO time.
    """
    stack = one_line(event.stack) or "(unnamed stack)"
    headline = _HEADLINES.get(event.kind, "relight event")
    header = truncate(f"{headline}: {stack}", HEADER_MAX)

    happened = truncate(escape(or_dash(event.what_happened.strip())), 1400)
    done = truncate(escape(or_dash(event.what_was_done.strip())), 1400)
    summary = truncate(f"*What happened:* {happened}\n*What was done:* {done}", SECTION_MAX)

    fields = [field("Incident", escape(one_line(event.incident_id)))]
    if event.addresses:
        shown = [escape(one_line(a)) or "-" for a in event.addresses[:_MAX_OBJECTS]]
        more = len(event.addresses) - len(shown)
        if more > 0:
            shown.append(f"and {more} more")
        fields.append(field("Objects", "\n".join(shown)))
    took = format_duration(event.time_to_recover)
    if took is not None:
        fields.append(field("Time to recover", took))
    revision = _short_revision(event.config_revision)
    if revision is not None:
        fields.append(field("Config revision", escape(one_line(revision))))
    at = one_line(event.at)
    fields.append(field("Detected" if event.kind == "detected" else "At", escape(at)))

    context = truncate(escape(f"relight {__version__} \u00b7 {event.kind} \u00b7 {at or '-'}"), CONTEXT_MAX)
    return {
        "text": _fallback_text(event),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            {"type": "section", "text": mrkdwn(summary)},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [mrkdwn(context)]},
        ],
    }


def webhook_payload(event: Event) -> dict[str, Any]:
    """The generic JSON webhook body: ``{"source": "relight", "version": 1, "event": event.to_json()}``.

    Never raises for a well-formed :class:`Event`; values in ``details`` that JSON cannot encode are
    sent as their ``str()`` by :class:`Notifier`.
    """
    return {"source": "relight", "version": 1, "event": event.to_json()}
