"""The heal policy: what the heal loop may do by itself, from ``relight { heal { ... } }``.

::

    relight {
      heal {
        mode                    = "auto"   # "auto" | "notify" (default) | "off"
        revert_drift            = false    # also apply plans that undo changes made outside
        max_recoveries_per_hour = 3        # 0: never apply by itself
        notify {
          slack   = var.slack_webhook_url  # a Slack incoming webhook
          webhook = "https://ops.example.com/relight"  # any JSON webhook
        }
      }
    }

``relight heal/watch --mode`` overrides ``mode``. Webhook URLs are secrets: pass them in
variables (``TF_VAR_slack_webhook_url``) or ``RELIGHT_SLACK_WEBHOOK_URL`` /
``RELIGHT_WEBHOOK_URL``, which apply when the block sets none.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from relight.diagnostics import Diagnostics
from relight.engine.evaluate import Evaluator
from relight.lang import Config, FilePolicy
from relight.lang.body import Body
from relight.values import UNKNOWN, Value

__all__ = ["MODES", "HealPolicy", "load_policy", "url_problem"]

Mode = Literal["auto", "notify", "off"]
MODES: tuple[Mode, ...] = ("auto", "notify", "off")
_HEAL_KEYS = frozenset({"mode", "revert_drift", "max_recoveries_per_hour"})
_NOTIFY_KEYS = frozenset({"slack", "webhook"})


@dataclass(frozen=True)
class HealPolicy:
    mode: Mode = "notify"
    revert_drift: bool = False
    max_recoveries_per_hour: int = 3
    slack_url: str | None = None
    webhook_url: str | None = None

    def describe(self) -> str:
        targets = [name for name, url in (("Slack", self.slack_url), ("webhook", self.webhook_url)) if url]
        return (
            f"mode {self.mode}, revert_drift {str(self.revert_drift).lower()}, at most "
            f"{self.max_recoveries_per_hour} recoveries per hour, notify: {', '.join(targets) or 'nobody'}"
        )


def load_policy(
    config: Config,
    variables: Mapping[str, Value],
    env: Mapping[str, str],
    mode_override: str | None = None,
    file_policy: FilePolicy | None = None,
) -> tuple[HealPolicy, Diagnostics]:
    """Read the policy; a wrong key or value is an error diagnostic naming its line."""
    diags = Diagnostics()
    values: dict[str, Value] = {}
    notify: dict[str, Value] = {}
    heal = _heal_body(config, diags)
    if heal is not None:
        scope = Evaluator(config, variables, file_policy).scope()
        for name, attr in heal.attributes.items():
            if name not in _HEAL_KEYS:
                diags.error(
                    "Unsupported argument",
                    f'An argument named "{name}" is not expected in relight.heal; expected one of '
                    f"{', '.join(sorted(_HEAL_KEYS))} or a notify block.",
                    attr.range,
                )
                continue
            values[name], d = attr.expr.evaluate(scope)
            diags.extend(d)
        for block in heal.blocks:
            if block.type != "notify":
                diags.error(
                    "Unsupported block type",
                    f'Blocks of type "{block.type}" are not expected in relight.heal.',
                    block.range,
                )
                continue
            for name, attr in block.body.attributes.items():
                if name not in _NOTIFY_KEYS:
                    diags.error(
                        "Unsupported argument",
                        f'An argument named "{name}" is not expected in relight.heal.notify; '
                        "expected slack or webhook.",
                        attr.range,
                    )
                    continue
                notify[name], d = attr.expr.evaluate(scope)
                diags.extend(d)
    mode = mode_override or values.get("mode") or "notify"
    if mode not in MODES:
        given = heal is not None and "mode" in heal.attributes and not mode_override
        where = heal.attributes["mode"].range if given and heal is not None else None
        diags.error("Invalid heal mode", f'The heal mode must be "auto", "notify" or "off", not {mode!r}.', where)
        mode = "notify"
    cap = values.get("max_recoveries_per_hour", 3)
    if isinstance(cap, str) and cap.strip().lstrip("-").isdigit():
        cap = int(cap)  # Terraform converts "3" to a number here too
    if isinstance(cap, bool) or not isinstance(cap, int | float) or cap < 0 or cap != int(cap):
        where = heal.attributes["max_recoveries_per_hour"].range if heal is not None else None
        diags.error("Invalid max_recoveries_per_hour", f"Expected a whole number of at least 0, not {cap!r}.", where)
        cap = 3
    revert = values.get("revert_drift", False)
    if revert in ("true", "false"):
        revert = revert == "true"
    if not isinstance(revert, bool):
        where = heal.attributes["revert_drift"].range if heal is not None else None
        diags.error("Invalid revert_drift", f"Expected true or false, not {revert!r}.", where)
        revert = False
    for name in ("slack", "webhook"):
        url = _url(notify.get(name))
        problem = url_problem(url) if url else None
        if problem and heal is not None:
            block = heal.blocks_of("notify")[0]
            diags.error(f"Invalid {name} URL in relight.heal.notify", problem, block.body.attributes[name].range)
    policy = HealPolicy(
        mode=mode,  # type: ignore[arg-type]  # checked against MODES above
        revert_drift=revert,
        max_recoveries_per_hour=int(cap),
        slack_url=_url(notify.get("slack")) or env.get("RELIGHT_SLACK_WEBHOOK_URL") or None,
        webhook_url=_url(notify.get("webhook")) or env.get("RELIGHT_WEBHOOK_URL") or None,
    )
    return policy, diags


def _heal_body(config: Config, diags: Diagnostics) -> Body | None:
    if config.relight is None:
        return None
    heals = config.relight.blocks_of("heal")
    if len(heals) > 1:
        diags.error("Duplicate heal block", "Only one heal block is allowed in the relight block.", heals[1].range)
    return heals[0].body if heals else None


def _url(value: Value) -> str | None:
    if value is None or value is UNKNOWN or value == "":
        return None
    return str(value)


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
