"""What Slack hears about runs, as incoming-webhook bodies, sent with the heal loop's delivery.

Each message's ``text`` is the one line people see in notifications, e.g.
``ghe: 1 to add, 0 to change, 0 to destroy, waiting for confirmation``; the blocks repeat it
with a button that only links to the run's page (the confirmation happens there, signed in,
never from Slack). Delivery retries and never blocks a run (see :mod:`relight.heal.delivery`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relight.heal.delivery import Delivery, make_targets

__all__ = ["RunNotices", "counts_text", "duration_text"]


def counts_text(counts: tuple[int, int, int]) -> str:
    add, change, destroy = counts
    return f"{add} to add, {change} to change, {destroy} to destroy"


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60}m"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(text: str, url: str, button: str = "Open the run") -> dict[str, Any]:
    """A body with ``text`` as the fallback and a section plus a link button in the blocks."""
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _escape(text), "verbatim": True}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": button}, "url": url,
                 "action_id": "open_run"},
            ]},
        ],
    }


class RunNotices:
    """The run messages, to the Slack incoming webhook at ``slack_url`` ("" sends nothing)."""

    def __init__(self, slack_url: str, log: Callable[[str], None] = print) -> None:
        self.delivery = Delivery(make_targets(slack_url or None, None, None, log), log)

    def _send(self, kind: str, run_id: int, text: str, url: str, button: str = "Open the run") -> None:
        body = message(text, url, button)
        self.delivery.send(f"{kind} notice for run {run_id}", lambda target: body)

    def waiting(self, ws: str, run_id: int, counts: tuple[int, int, int], url: str) -> None:
        self._send("planned", run_id, f"{ws}: {counts_text(counts)}, waiting for confirmation", url,
                   "Review and confirm")

    def no_changes(self, ws: str, run_id: int, url: str) -> None:
        self._send("planned_and_finished", run_id, f"{ws}: no changes, nothing to apply (planned_and_finished)", url)

    def applied(self, ws: str, run_id: int, counts: tuple[int, int, int], seconds: float, url: str) -> None:
        add, change, destroy = counts
        self._send("applied", run_id, f"{ws}: applied in {duration_text(seconds)}: {add} added, {change} changed, "
                   f"{destroy} destroyed", url)

    def failed(self, ws: str, run_id: int, phase: str, seconds: float, error: str, url: str) -> None:
        self._send("errored", run_id, f"{ws}: {phase} failed after {duration_text(seconds)}: {error}", url)

    def stale(self, ws: str, run_id: int, fresh_id: int, url: str) -> None:
        self._send("stale", run_id, f"{ws}: the plan of run {run_id} was stale (the state moved on); queued a "
                   f"fresh plan, run {fresh_id}", url)

    def interrupted(self, ws: str, run_id: int, phase: str, fresh_id: int | None, url: str) -> None:
        then = f"; queued a fresh plan, run {fresh_id}" if fresh_id is not None else ""
        self._send("errored", run_id, f"{ws}: run {run_id} was cut off while {phase} (the server stopped){then}", url)

    def promoted(self, ws: str, name: str, image_id: str, channel: str, previous: str | None, url: str) -> None:
        before = f" (was {previous})" if previous else ""
        self._send("promoted", 0, f"{ws}: image {name} {image_id} promoted to {channel}{before}; the plan that "
                   "rolls it out follows", url)

    def close(self) -> None:
        self.delivery.close()
