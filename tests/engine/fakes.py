"""A fault-injecting provider for engine tests: ``fake_thing`` objects kept in memory.

``FakeCloud`` is the "real world": tests can delete or change objects behind the engine's back.
``fail_on`` makes the k-th call of a method fail (counted per method, 1-based).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from relight.diagnostics import Diagnostics
from relight.providers.base import (
    Attribute,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    ImportRequest,
    ImportResponse,
    ReadDataRequest,
    ReadDataResponse,
    ReadRequest,
    ReadResponse,
    Schema,
    UpdateRequest,
    UpdateResponse,
)
from relight.providers.framework import BaseProvider, DataSource, ResourceType
from relight.providers.registry import ProviderRegistry


@dataclass
class FakeCloud:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_on: dict[str, set[int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def call(self, method: str, name: str) -> bool:
        """Record a call; True when this call must fail."""
        with self.lock:
            self.calls.append((method, name))
            self.counts[method] = self.counts.get(method, 0) + 1
            return self.counts[method] in self.fail_on.get(method, set())


class FakeThing(ResourceType):
    name = "fake_thing"
    schema = Schema(
        attributes={
            "id": Attribute("string", computed=True),
            "name": Attribute("string", required=True, force_new=True),
            "size": Attribute("number", optional=True),
            "tags": Attribute("map", element="string", optional=True),
            "secret": Attribute("string", optional=True, sensitive=True),
            "ref": Attribute("string", optional=True),
        }
    )

    @property
    def cloud(self) -> FakeCloud:
        provider = self.provider
        assert isinstance(provider, FakeProvider)
        return provider.cloud

    def _fail(self, method: str, name: str) -> Diagnostics | None:
        if self.cloud.delay:
            time.sleep(self.cloud.delay)
        if self.cloud.call(method, name):
            diags = Diagnostics()
            diags.error(f"injected failure in {method} of {name}")
            return diags
        return None

    def create(self, req: CreateRequest) -> CreateResponse:
        failed = self._fail("create", str(req.planned_state["name"]))
        if failed:
            return CreateResponse(None, failed)
        state = dict(req.planned_state)
        state["id"] = f"thing-{next(self.cloud.ids)}"
        with self.cloud.lock:
            self.cloud.objects[state["id"]] = dict(state)
        return CreateResponse(state)

    def read(self, req: ReadRequest) -> ReadResponse:
        self.cloud.call("read", str(req.current_state.get("name")))
        with self.cloud.lock:
            obj = self.cloud.objects.get(str(req.current_state["id"]))
        return ReadResponse(dict(obj) if obj is not None else None)

    def update(self, req: UpdateRequest) -> UpdateResponse:
        failed = self._fail("update", str(req.planned_state["name"]))
        if failed:
            return UpdateResponse(None, failed)
        state = dict(req.planned_state)
        with self.cloud.lock:
            self.cloud.objects[str(state["id"])] = dict(state)
        return UpdateResponse(state)

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        failed = self._fail("delete", str(req.prior_state["name"]))
        if failed:
            return DeleteResponse(failed)
        with self.cloud.lock:
            self.cloud.objects.pop(str(req.prior_state["id"]), None)
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        """An object by its id: the id alone (the read that follows fills it in), or nothing."""
        self.cloud.call("import", req.id)
        with self.cloud.lock:
            found = req.id in self.cloud.objects
        return ImportResponse({"id": req.id} if found else None)


class FakeLookup(DataSource):
    """``data "fake_lookup" "x" { name = "a" }``: the fake thing named ``name`` (an error if none)."""

    name = "fake_lookup"
    schema = Schema(
        attributes={
            "name": Attribute("string", required=True),
            "id": Attribute("string", computed=True),
            "size": Attribute("number", computed=True),
        }
    )

    def read(self, req: ReadDataRequest) -> ReadDataResponse:
        provider = self.provider
        assert isinstance(provider, FakeProvider)
        provider.cloud.call("read_data", str(req.config["name"]))
        with provider.cloud.lock:
            found = [o for o in provider.cloud.objects.values() if o.get("name") == req.config["name"]]
        if not found:
            diags = Diagnostics()
            diags.error("No such thing", f"No fake thing is named {req.config['name']!r}.")
            return ReadDataResponse(None, diags)
        obj = found[0]
        return ReadDataResponse({"name": obj["name"], "id": obj["id"], "size": obj.get("size")})


class FakeProvider(BaseProvider):
    name = "fake"
    resource_types = (FakeThing,)
    data_source_types = (FakeLookup,)

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        super().__init__()


def registry_with(cloud: FakeCloud) -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register("fake", lambda context: FakeProvider(cloud))
    return registry
