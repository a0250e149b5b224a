"""The built-in ``terraform`` provider: ``terraform_data`` with Terraform's exact semantics.

``input`` is stored and mirrored into ``output``; ``output`` is unknown in a plan whenever
``input`` changes; a change to ``triggers_replace`` replaces the object (new ``id``).
"""

from __future__ import annotations

import uuid

from relight.diagnostics import Diagnostics
from relight.providers.base import (
    Attribute,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    ImportRequest,
    ImportResponse,
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    Schema,
    UpdateRequest,
    UpdateResponse,
)
from relight.providers.framework import BaseProvider, ResourceType
from relight.providers.tfcompat import TerraformShape
from relight.values import UNKNOWN, Value

__all__ = ["TerraformProvider"]


class TerraformData(ResourceType):
    name = "terraform_data"
    schema = Schema(
        attributes={
            "id": Attribute("string", computed=True),
            "input": Attribute("any", optional=True),
            "output": Attribute("any", computed=True),
            "triggers_replace": Attribute("any", optional=True),
        }
    )
    # Terraform stores these "any" attributes with their type ({"value": ..., "type": ...}).
    terraform = TerraformShape(dynamic=frozenset({"input", "output", "triggers_replace"}))

    def plan(self, req: PlanRequest) -> PlanResponse:
        if req.proposed_new_state is None:
            return PlanResponse(None)
        prior, proposed = req.prior_state, req.proposed_new_state
        replace: tuple[str, ...] = ()
        if prior is not None and prior.get("triggers_replace") != proposed.get("triggers_replace"):
            replace = ("triggers_replace",)
        creating = prior is None or bool(replace)
        input_value: Value = proposed.get("input")
        output: Value
        if not creating and prior is not None and prior.get("input") == input_value:
            output = prior.get("output")
        else:
            output = UNKNOWN if input_value is not None else None
        planned = {
            "id": UNKNOWN if creating or prior is None else prior.get("id"),
            "input": input_value,
            "output": output,
            "triggers_replace": proposed.get("triggers_replace"),
        }
        return PlanResponse(planned, replace)

    def create(self, req: CreateRequest) -> CreateResponse:
        state = dict(req.planned_state)
        state["id"] = str(uuid.uuid4())
        state["output"] = state.get("input")
        return CreateResponse(state)

    def read(self, req: ReadRequest) -> ReadResponse:
        return ReadResponse(dict(req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        state = dict(req.planned_state)
        state["id"] = req.prior_state.get("id")
        state["output"] = state.get("input")
        return UpdateResponse(state)

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        diags = Diagnostics()
        state = {"id": req.id, "input": None, "output": None, "triggers_replace": None}
        return ImportResponse(state, diags)


class TerraformProvider(BaseProvider):
    """The ``terraform`` provider (built in; needs no configuration)."""

    name = "terraform"
    resource_types = (TerraformData,)
    local = True  # terraform_data lives in the state alone
