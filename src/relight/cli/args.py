"""Argument parsing that accepts Terraform's spelling (``-auto-approve``, ``-var 'k=v'``,
``-out=FILE``) and the GNU spelling (``--auto-approve``) alike.

argparse only knows ``--long`` options, so single-dash long options are rewritten to the
double-dash form before parsing; single-letter flags (``-h``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from relight.durations import parse_duration

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
