"""What a delete keeps (a final snapshot) is recorded before the irreversible step: through
``DeleteRequest.retain``, durably, once, whatever the delete does next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relight.diagnostics import Diagnostics
from relight.engine import Engine, PlanOptions
from relight.lang import load_config
from relight.providers.base import DeleteRequest, DeleteResponse
from relight.providers.registry import ProviderRegistry
from relight.state import LocalBackend

from .fakes import FakeCloud, FakeProvider, FakeThing


class KeepingThing(FakeThing):
    """Keeps a copy before it deletes; the delete itself may then fail."""

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        kept = {"kind": "final_snapshot", "id": f"kept-of-{req.prior_state['id']}"}
        assert req.retain is not None
        req.retain(kept)
        if self.cloud.call("delete", str(req.prior_state["name"])):
            diags = Diagnostics()
            diags.error("the delete failed after the copy was kept")
            return DeleteResponse(diags, retained=kept)
        self.cloud.objects.pop(str(req.prior_state["id"]), None)
        return DeleteResponse(retained=kept)  # reported again: recorded once


class KeepingProvider(FakeProvider):
    resource_types = (KeepingThing,)


def _engine(root: Path, cloud: FakeCloud) -> Engine:
    registry = ProviderRegistry()
    registry.register("fake", lambda context: KeepingProvider(cloud))
    config, diags = load_config(str(root))
    assert config is not None and not diags.has_errors
    return Engine(config, LocalBackend(str(root / "relight.tfstate")), registry, {})


def _apply(root: Path, cloud: FakeCloud, **opts: Any) -> Diagnostics:
    engine = _engine(root, cloud)
    with engine.lock("apply"):
        plan, diags = engine.plan(PlanOptions(**opts))
        assert not diags.has_errors
        _, diags = engine.apply(plan)
    return diags


@pytest.mark.parametrize(("delete_fails", "left"), [(False, 0), (True, 1)])
def test_what_a_delete_kept_is_in_the_state_once(tmp_path: Path, delete_fails: bool, left: int) -> None:
    cloud = FakeCloud()
    (tmp_path / "main.tf").write_text('resource "fake_thing" "a" {\n  name = "a"\n}\n')
    assert not _apply(tmp_path, cloud).has_errors
    thing = next(iter(cloud.objects))
    if delete_fails:
        cloud.fail_on["delete"] = {1}
    (tmp_path / "main.tf").write_text("")
    assert _apply(tmp_path, cloud).has_errors is delete_fails
    state = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    assert [r["id"] for r in state.retained] == [f"kept-of-{thing}"]
    assert state.retained[0]["address"] == "fake_thing.a"
    assert len(cloud.objects) == left
