"""Argument parsing that accepts Terraform's spelling (``-auto-approve``, ``-var 'k=v'``,
``-out=FILE``) and the GNU spelling (``--auto-approve``) alike.

argparse only knows ``--long`` options, so single-dash long options are rewritten to the
double-dash form before parsing; single-letter flags (``-h``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["normalize_argv", "parse_duration"]

_LONG_SINGLE = re.compile(r"^-([a-z][a-z0-9-]+)(=.*)?$", re.DOTALL)


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """``-auto-approve`` -> ``--auto-approve``; stops rewriting after a bare ``--``."""
    out: list[str] = []
    rest = False
    for arg in argv:
        if rest:
            out.append(arg)
            continue
        if arg == "--":
            rest = True
            out.append(arg)
            continue
        match = _LONG_SINGLE.match(arg)
        out.append("-" + arg if match else arg)
    return out


_DURATION = re.compile(
    r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$"
)


def parse_duration(text: str) -> float:
    """Terraform-style durations: ``0s``, ``30s``, ``5m``, ``1m30s``, ``50ms``, or plain seconds."""
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
