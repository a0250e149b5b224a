"""Tell people about the heal loop: :class:`Notifier` sends heal-loop events to Slack and a
generic JSON webhook.

Contract: notifying must never hurt healing. :meth:`Notifier.send` never blocks and never
raises: the bodies are formatted by :mod:`relight.heal.slack` and delivered in the background by
:mod:`relight.heal.delivery` (retries, back-off, failures logged with the URL host only).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from relight.heal.delivery import MAX_BACKOFF, MAX_QUEUE, RETRY_AFTER_CAP, Delivery, Target, make_targets, stderr_log
from relight.heal.events import Event
from relight.heal.slack import one_line, slack_payload, webhook_payload

__all__ = ["MAX_BACKOFF", "MAX_QUEUE", "RETRY_AFTER_CAP", "Notifier", "slack_payload", "webhook_payload"]


class Notifier:
    """Fire-and-forget delivery of heal-loop events to Slack and/or a generic JSON webhook.

    Each configured target gets its own delivery, in send order, retried as
    :class:`~relight.heal.delivery.Delivery` says. ``headers`` are extra HTTP headers for the
    *webhook* target only (e.g. ``Authorization``); they are never sent to Slack. An empty URL
    counts as not configured; an unusable one is logged once through ``log`` and left out, so a
    typo in the configuration never stops the heal loop. The constructor raises
    :class:`ValueError` only for programming errors (see :class:`Delivery` and
    :func:`make_targets`).
    """

    def __init__(
        self,
        slack_url: str | None = None,
        webhook_url: str | None = None,
        log: Callable[[str], None] = stderr_log,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        targets = make_targets(slack_url, webhook_url, headers, log)
        self._delivery = Delivery(targets, log, retries, backoff, timeout)

    @property
    def enabled(self) -> bool:
        """True when at least one target (Slack or webhook) is configured."""
        return self._delivery.enabled

    @property
    def delivered(self) -> int:
        """Deliveries (one per target per event) that a target accepted with a 2xx."""
        return self._delivery.delivered

    @property
    def failed(self) -> int:
        """Deliveries given up: retries exhausted, not retryable, dropped (queue full) or closed."""
        return self._delivery.failed

    @property
    def pending(self) -> int:
        """Deliveries queued or in flight."""
        return self._delivery.pending

    def send(self, event: Event) -> None:
        """Queue ``event`` for every configured target and return at once; never raises."""
        what = "an event"
        with contextlib.suppress(Exception):
            what = f"{one_line(str(event.kind))} incident {one_line(str(event.incident_id))}"

        def payload_for(target: Target) -> dict[str, Any]:
            return slack_payload(event) if target.kind == "slack" else webhook_payload(event)

        self._delivery.send(what, payload_for)

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until everything queued so far was delivered or given up."""
        return self._delivery.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Flush for up to ``timeout`` seconds, then stop delivering; never raises. Idempotent."""
        self._delivery.close(timeout)

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
