"""Durations as people write them (``30s``, ``5m``, ``1m30s``, ``50ms``, plain seconds): one parser
for the CLI's flags, Packer templates' timeouts and the rehearsal block."""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_DURATION = re.compile(
    r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$"
)


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``0s``, ``30s``, ``5m``, ``1m30s``, ``50ms``, or plain seconds.

    Raises ValueError with a message a person can act on."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"invalid duration {text!r}: use a number of seconds or e.g. 30s, 5m, 1m30s, 50ms")
    h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000
