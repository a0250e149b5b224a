"""Drive relight in-process against the local cloud: write ``main.tf``, run the CLI, read state.

The CLI runs in this process (fast: no interpreter start, the emulator is already up), with the
AWS_* environment the ``cloud`` fixture set. The provider used directly (for import and recovery
lookups, which the CLI does not expose) is configured from the same environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from relight.addrs import InstanceAddr
from relight.providers.aws import AwsProvider
from relight.providers.base import (
    ConfigureRequest,
    CreateRequest,
    FindCreatedRequest,
    ImportRequest,
    PlanRequest,
    ProviderContext,
    ReadRequest,
)
from relight.state import LocalBackend

from .stack import Result, relight

__all__ = ["Result", "Workspace", "aws_provider", "create_with_token", "find_created", "import_state", "read_state"]


class Workspace:
    """One configuration directory and its state."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, text: str) -> None:
        (self.path / "main.tf").write_text(text)

    def run(self, *args: str) -> Result:
        return relight(self.path, *args)

    def apply(self, *extra: str) -> Result:
        res = self.run("apply", "-auto-approve", "-no-color", *extra)
        assert res.code == 0, res.text
        assert "Traceback" not in res.text
        return res

    def apply_fails(self) -> Result:
        res = self.run("apply", "-auto-approve", "-no-color")
        assert res.code == 1, res.text
        assert "Traceback" not in res.text
        return res

    def plan(self) -> Result:
        """``plan -detailed-exitcode``: code 0 = nothing to do, 2 = changes."""
        res = self.run("plan", "-detailed-exitcode", "-no-color")
        assert res.code in (0, 2), res.text
        return res

    def destroy(self) -> Result:
        res = self.run("destroy", "-auto-approve", "-no-color")
        assert res.code == 0, res.text
        return res

    def state(self, address: str) -> dict[str, Any]:
        obj = LocalBackend(self.path / "relight.tfstate").read().current(InstanceAddr.parse(address))
        assert obj is not None, f"{address} is not in the state"
        return dict(obj.attributes)

    def addresses(self) -> list[str]:
        return [str(a) for a in LocalBackend(self.path / "relight.tfstate").read().addresses()]


def aws_provider() -> AwsProvider:
    """A configured aws provider (region and endpoint from the environment)."""
    provider = AwsProvider(ProviderContext(dict(os.environ)))
    resp = provider.configure(ConfigureRequest({}))
    assert not resp.diagnostics.has_errors, list(resp.diagnostics)
    return provider


def import_state(type_name: str, id_: str) -> dict[str, Any]:
    resp = aws_provider().import_(ImportRequest(type_name, id_))
    assert not resp.diagnostics.has_errors, [str(d) for d in resp.diagnostics]
    assert resp.state is not None
    return resp.state


def read_state(type_name: str, state: dict[str, Any]) -> dict[str, Any] | None:
    resp = aws_provider().read(ReadRequest(type_name, state))
    assert not resp.diagnostics.has_errors, [str(d) for d in resp.diagnostics]
    return resp.new_state


def create_with_token(type_name: str, config: dict[str, Any], token: str) -> dict[str, Any]:
    """Plan and create ``config`` directly with an idempotency token; returns the new state."""
    provider = aws_provider()
    schema = provider.schema().resources[type_name]
    full = {name: config.get(name) for name in schema.attributes}
    full.update({name: config.get(name, []) for name in schema.blocks})
    plan = provider.plan_change(PlanRequest(type_name, None, full, full))
    assert plan.planned_state is not None, [str(d) for d in plan.diagnostics]
    resp = provider.create(CreateRequest(type_name, plan.planned_state, full, token=token))
    assert resp.new_state is not None and not resp.diagnostics.has_errors, [str(d) for d in resp.diagnostics]
    return resp.new_state


def find_created(type_name: str, token: str, planned: dict[str, Any] | None = None) -> dict[str, Any] | None:
    resp = aws_provider().find_created(FindCreatedRequest(type_name, token, planned or {}))
    assert not resp.diagnostics.has_errors, [str(d) for d in resp.diagnostics]
    return resp.new_state
