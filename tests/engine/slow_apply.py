"""A run driven the way a shell drives the engine, with a slow, file-backed provider.

Used by the kill test: ``python slow_apply.py WORKDIR`` applies WORKDIR's configuration; each
``slow_thing`` create sleeps, then writes ``WORKDIR/cloud/<id>.json``, like a cloud API call.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

from relight.engine import Engine, PlanOptions
from relight.lang import load_config
from relight.providers.base import (
    Attribute,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    ReadRequest,
    ReadResponse,
    Schema,
)
from relight.providers.framework import BaseProvider, ResourceType
from relight.providers.registry import ProviderRegistry
from relight.state import LocalBackend

CLOUD = os.path.join(sys.argv[1] if len(sys.argv) > 1 else ".", "cloud")


class SlowThing(ResourceType):
    name = "slow_thing"
    schema = Schema(attributes={"id": Attribute("string", computed=True), "name": Attribute("string", required=True)})

    def create(self, req: CreateRequest) -> CreateResponse:
        time.sleep(float(os.environ.get("SLOW_DELAY", "0.05")))
        state = dict(req.planned_state, id=uuid.uuid4().hex)
        with open(os.path.join(CLOUD, f"{state['id']}.json"), "w") as fh:
            json.dump(state, fh)
        return CreateResponse(state)

    def read(self, req: ReadRequest) -> ReadResponse:
        path = os.path.join(CLOUD, f"{req.current_state['id']}.json")
        return ReadResponse(dict(req.current_state) if os.path.exists(path) else None)

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        os.remove(os.path.join(CLOUD, f"{req.prior_state['id']}.json"))
        return DeleteResponse()


class SlowProvider(BaseProvider):
    name = "slow"
    resource_types = (SlowThing,)


def main(workdir: str) -> int:
    os.makedirs(CLOUD, exist_ok=True)
    config, diags = load_config(workdir)
    assert config is not None and not diags.has_errors
    registry = ProviderRegistry({"slow": SlowProvider})
    engine = Engine(config, LocalBackend(os.path.join(workdir, "relight.tfstate")), registry, {})
    with engine.lock("apply"):
        plan, diags = engine.plan(PlanOptions())
        assert not diags.has_errors, list(diags)
        _, diags = engine.apply(plan, parallelism=int(os.environ.get("SLOW_PARALLELISM", "5")))
    return 1 if diags.has_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
