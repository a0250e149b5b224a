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

The block is decoded by :mod:`relight.runs.rehearsalspec` (so ``relight validate`` checks it).
Each check may name its node with ``instance = "aws_instance.ghe_node"`` (the address in the
rehearsal's stack); with one instance in the stack it is that one. A failing check is retried
(after 0.25 s, doubling up to 5 s) until it passes or the timeout runs out (a fresh node needs
time to boot, and on AWS a volume restored from a snapshot reads slowly at first). The node is
reached where the local cloud says (its ``/_relight`` API), else at its private IP (run
rehearsals from inside the VPC).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relight.images.cloud import AwsError, CallError, Canceled, Cloud
from relight.images.communicators import SsmCommunicator
from relight.runs.rehearsalspec import Check, RehearsalSpec, decode_rehearsal

__all__ = ["Check", "CheckResult", "CheckRunner", "RehearsalSpec", "decode_rehearsal", "run_checks"]

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
