"""``python slow_server.py CONFIG``: ``relight serve`` with one more provider, ``slow``, for fault tests.

Each ``slow_thing`` create sleeps ``SLOW_DELAY`` seconds, then writes ``$SLOW_CLOUD/<id>.json``,
like a cloud API call that takes a while; reads look the file up; deletes remove it.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

from relight.diagnostics import render
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
from relight.server.config import load_server_config
from relight.server.server import Server


def _cloud() -> str:
    return os.environ["SLOW_CLOUD"]


class SlowThing(ResourceType):
    name = "slow_thing"
    schema = Schema(attributes={"id": Attribute("string", computed=True), "name": Attribute("string", required=True)})

    def create(self, req: CreateRequest) -> CreateResponse:
        time.sleep(float(os.environ.get("SLOW_DELAY", "0.2")))
        state = dict(req.planned_state, id=uuid.uuid4().hex)
        with open(os.path.join(_cloud(), f"{state['id']}.json"), "w") as fh:
            json.dump(state, fh)
        return CreateResponse(state)

    def read(self, req: ReadRequest) -> ReadResponse:
        path = os.path.join(_cloud(), f"{req.current_state['id']}.json")
        return ReadResponse(dict(req.current_state) if os.path.exists(path) else None)

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        os.remove(os.path.join(_cloud(), f"{req.prior_state['id']}.json"))
        return DeleteResponse()


class SlowProvider(BaseProvider):
    name = "slow"
    resource_types = (SlowThing,)


def main(path: str) -> int:
    config, diags, sources = load_server_config(path, dict(os.environ))
    if config is None:
        print(render(diags, sources), file=sys.stderr)
        return 1
    Server(config, dict(os.environ), registry=ProviderRegistry({"slow": SlowProvider}), poll=0.2,
           lost_after=float(os.environ.get("WORKER_LOST_AFTER", "30")),
           heartbeat=float(os.environ.get("WORKER_HEARTBEAT", "5"))).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
