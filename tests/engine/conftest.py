from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr, parse_target
from relight.engine import FEATURES, Engine, Plan, PlanOptions
from relight.lang import load_config
from relight.state import LocalBackend, State

from .fakes import FakeCloud, registry_with


class Workspace:
    """A directory with .tf files, a local state, and the fake cloud."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cloud = FakeCloud()

    def write(self, text: str, name: str = "main.tf") -> None:
        """Write a configuration file; ``name`` may name a module's file (``modules/net/main.tf``)."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def engine(self, variables: dict[str, Any] | None = None) -> Engine:
        config, diags = load_config(str(self.root), engine_features=FEATURES)
        assert config is not None and not diags.has_errors, list(diags)
        backend = LocalBackend(str(self.root / "relight.tfstate"))
        return Engine(config, backend, registry_with(self.cloud), variables or {})

    def plan(self, **opts: Any) -> Plan:
        engine = self.engine()
        plan, diags = engine.plan(_options(opts))
        assert not diags.has_errors, [d.summary + ": " + d.detail for d in diags]
        return plan

    def apply(self, **opts: Any) -> State:
        engine = self.engine()
        with engine.lock("apply"):
            plan, diags = engine.plan(_options(opts))
            assert not diags.has_errors, [d.summary + ": " + d.detail for d in diags]
            state, diags = engine.apply(plan)
        assert not diags.has_errors, [d.summary + ": " + d.detail for d in diags]
        return state

    def state(self) -> State:
        return LocalBackend(str(self.root / "relight.tfstate")).read()


def _options(opts: dict[str, Any]) -> PlanOptions:
    """PlanOptions from test keywords; addresses may be given as text."""
    if "targets" in opts:
        opts["targets"] = tuple(parse_target(a) if isinstance(a, str) else a for a in opts["targets"])
    if "replace" in opts:
        opts["replace"] = tuple(InstanceAddr.parse(a) if isinstance(a, str) else a for a in opts["replace"])
    return PlanOptions(**opts)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.chdir(tmp_path)
    return Workspace(tmp_path)


Factory = Callable[[], Workspace]
