"""The rehearsal's health checks: the ``relight { rehearsal { ... } }`` block, and running it.

::

    relight {
      rehearsal {
        timeout = "10m"                  # all checks must pass within this (default 10m)
        check "http" {
          path     = "/status"           # GET http://NODE:PORT/PATH (default /)
          port     = 80                  # default 80
          status   = 200                 # expected HTTP status (default 200)
          contains = "\"status\": \"ok\"" # optional: text the body must contain
          json     = { status = "ok" }   # optional: keys the JSON body must have, with these values
        }
        check "command" {
          run      = "test -s /data/ghe/token"   # through SSM Run Command, as root; must exit 0
          contains = "..."                        # optional: text its output must contain
        }
      }
    }

Each check may name its node with ``instance = "aws_instance.ghe_node"`` (the address in the
rehearsal's stack); with one instance in the stack it is that one. Checks are retried every two
seconds until they pass or the timeout runs out (a fresh node needs time to boot, and on AWS a
volume restored from a snapshot reads slowly at first). The node is reached where the local cloud
says (its ``/_relight`` API), else at its private IP (run rehearsals from inside the VPC).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relight.diagnostics import Diagnostics, SourceRange
from relight.durations import parse_duration
from relight.images.cloud import AwsError, CallError, Canceled, Cloud
from relight.images.communicators import SsmCommunicator
from relight.lang import Body, Scope
from relight.values import Value

__all__ = ["Check", "CheckResult", "CheckRunner", "RehearsalSpec", "decode_rehearsal", "run_checks"]

_HTTP = frozenset({"path", "port", "status", "contains", "json", "instance"})
_COMMAND = frozenset({"run", "contains", "instance"})


@dataclass(frozen=True)
class Check:
    name: str  # "http /status" or "command test -s ..."
    kind: str  # http | command
    instance: str | None
    path: str = "/"
    port: int = 80
    status: int = 200
    contains: str | None = None
    json: Mapping[str, Value] | None = None
    run: str = ""


@dataclass(frozen=True)
class RehearsalSpec:
    checks: tuple[Check, ...] = ()
    timeout: float = 600.0
    range: SourceRange | None = None


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str = ""
    attempts: int = 0
    seconds: float = 0.0
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "passed", "detail", "attempts", "seconds", "output")}


def decode_rehearsal(relight_body: Body | None, scope: Scope) -> tuple[RehearsalSpec, Diagnostics]:
    """The rehearsal block of ``relight {}`` (an empty spec when there is none)."""
    diags = Diagnostics()
    blocks = relight_body.blocks_of("rehearsal") if relight_body is not None else ()
    if not blocks:
        return RehearsalSpec(), diags
    if len(blocks) > 1:
        diags.error(
            "Duplicate rehearsal block", "Only one rehearsal block is allowed in the relight block.", blocks[1].range
        )
    body = blocks[0].body
    timeout = 600.0
    for name, attr in body.attributes.items():
        if name != "timeout":
            diags.error(
                "Unsupported argument", f'An argument named "{name}" is not expected in relight.rehearsal.', attr.range
            )
            continue
        value, d = attr.expr.evaluate(scope)
        diags.extend(d)
        try:
            timeout = parse_duration(str(value))
        except ValueError as exc:
            diags.error("Invalid timeout", f"{exc}.", attr.range)
    checks: list[Check] = []
    for block in body.blocks:
        if block.type != "check" or len(block.labels) != 1 or block.labels[0] not in ("http", "command"):
            diags.error(
                "Unsupported block type",
                'relight.rehearsal holds check "http" { ... } and check "command" { ... } blocks.',
                block.range,
            )
            continue
        found = _check(block.labels[0], block.body, scope, diags)
        if found is not None:
            checks.append(found)
    return RehearsalSpec(tuple(checks), timeout, blocks[0].range), diags


def _check(kind: str, body: Body, scope: Scope, diags: Diagnostics) -> Check | None:
    allowed = _HTTP if kind == "http" else _COMMAND
    values: dict[str, Value] = {}
    for name, attr in body.attributes.items():
        if name not in allowed:
            diags.error(
                "Unsupported argument", f'An argument named "{name}" is not expected in a {kind} check.', attr.range
            )
            continue
        values[name], d = attr.expr.evaluate(scope)
        diags.extend(d)
    for nested in body.blocks:
        diags.error("Unsupported block type", f"A {kind} check has no nested blocks.", nested.range)
    instance = str(values["instance"]) if values.get("instance") else None
    if kind == "command":
        if not values.get("run"):
            diags.error("Missing run", 'A command check needs run = "...".', body.range)
            return None
        run = str(values["run"])
        return Check(f"command {run}", "command", instance, run=run, contains=_opt(values.get("contains")))
    path = str(values.get("path") or "/")
    try:
        port, status = int(values.get("port") or 80), int(values.get("status") or 200)
    except (TypeError, ValueError):
        diags.error("Invalid value", "port and status must be numbers.", body.range)
        return None
    expected = values.get("json")
    if expected is not None and not isinstance(expected, dict):
        diags.error("Invalid value", "json must be an object of expected keys and values.", body.range)
        return None
    return Check(f"http {path}", "http", instance, path=path, port=port, status=status,
                 contains=_opt(values.get("contains")), json=expected)  # fmt: skip


def _opt(value: Value) -> str | None:
    return None if value is None else str(value)


@dataclass
class _Target:
    instance_id: str
    private_ip: str


@dataclass
class CheckRunner:
    """Runs the checks against the rehearsal's nodes (address -> instance id and IP)."""

    cloud: Cloud
    nodes: Mapping[str, tuple[str, str]]
    say: Any = field(default=lambda line: None)

    def target(self, check: Check) -> _Target:
        if check.instance is not None:
            found = self.nodes.get(check.instance)
            if found is None:
                raise CallError(
                    f"{check.name}: no instance {check.instance} in the rehearsal", f"it has {sorted(self.nodes)}."
                )
            return _Target(*found)
        if len(self.nodes) != 1:
            raise CallError(f"{check.name}: say which node to check", f"instance = one of {sorted(self.nodes)}.")
        return _Target(*next(iter(self.nodes.values())))

    def once(self, check: Check) -> tuple[bool, str, str]:
        target = self.target(check)
        if check.kind == "command":
            return self._command(check, target)
        return self._http(check, target)

    def _http(self, check: Check, target: _Target) -> tuple[bool, str, str]:
        local = self.cloud.host_address(target.instance_id)
        address = f"{target.private_ip}:{check.port}"
        if local is not None:
            mapped = local[1].get(str(check.port))
            if mapped is None:
                return False, f"nothing listens on port {check.port} yet", ""
            address = mapped
        url = f"http://{address}{check.path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                code, body = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            code, body = exc.code, exc.read().decode("utf-8", "replace")
        except (OSError, ValueError) as exc:
            return False, f"GET {check.path}: {exc}", ""
        if code != check.status:
            return False, f"GET {check.path} answered {code}, not {check.status}", body
        if check.contains is not None and check.contains not in body:
            return False, f"the answer does not contain {check.contains!r}", body
        if check.json is not None:
            try:
                doc = json.loads(body)
            except ValueError:
                return False, "the answer is not JSON", body
            wrong = {k: doc.get(k) for k, v in check.json.items() if not isinstance(doc, dict) or doc.get(k) != v}
            if wrong:
                return False, f"the answer has {wrong}, expected {dict(check.json)}", body
        return True, f"GET {check.path} answered {code}", body

    def _command(self, check: Check, target: _Target) -> tuple[bool, str, str]:
        lines: list[str] = []
        comm = SsmCommunicator(self.cloud, target.instance_id)
        try:
            code = comm.run(f"#!/bin/sh\n{check.run}\n".encode(), (), 120, lines.append)
        except AwsError as exc:
            return False, f"{exc.code}: the node does not take commands yet", ""
        output = "\n".join(lines)
        if code != 0:
            return False, f"exited with {code}", output
        if check.contains is not None and check.contains not in output:
            return False, f"the output does not contain {check.contains!r}", output
        return True, "exited with 0", output


RETRY_FIRST, RETRY_MAX = 0.25, 5.0
"""A failing check is tried again after 0.25 s, then twice as long each time up to 5 s: a node
whose service is a moment from answering is not held back by a long first pause, and one that
takes minutes is not polled needlessly."""


def run_checks(runner: CheckRunner, spec: RehearsalSpec, timeout: float | None = None) -> list[CheckResult]:
    """Each check in order, retried (see :data:`RETRY_FIRST`) until it passes or the time runs out
    (shared by all)."""
    deadline = time.monotonic() + (timeout if timeout is not None else spec.timeout)
    out: list[CheckResult] = []
    for check in spec.checks:
        result = CheckResult(check.name, False)
        started = time.monotonic()
        while True:
            runner.cloud.check_cancel()
            result.attempts += 1
            try:
                passed, detail, output = runner.once(check)
            except CallError as exc:
                passed, detail, output = False, str(exc), ""
            result.passed, result.detail, result.output = passed, detail, output[-4000:]
            pause = min(RETRY_MAX, RETRY_FIRST * 2 ** (result.attempts - 1))
            if passed or time.monotonic() + pause > deadline:
                break
            if runner.cloud.cancel.wait(pause):
                raise Canceled()
        result.seconds = round(time.monotonic() - started, 3)
        runner.say(
            f"check {check.name}: {'passed' if result.passed else 'FAILED'} "
            f"({result.detail}; {result.attempts} attempt(s))"
        )
        out.append(result)
    return out
