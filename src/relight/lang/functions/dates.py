"""Date and time functions; "now" is the context's clock, never the process's."""

from __future__ import annotations

from datetime import UTC

from relight.lang.funcbase import FuncContext
from relight.values import Value


def fn_timestamp(ctx: FuncContext) -> Value:
    now = ctx.now().astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")
