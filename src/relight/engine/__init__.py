"""The engine: configuration -> graph -> plan -> apply -> state. Shells drive :class:`Engine`."""

from relight.engine.core import Engine
from relight.engine.hooks import Hook, MultiHook
from relight.engine.plan import Action, Drift, OutputChange, Plan, PlanMode, ResourceChange
from relight.engine.planfile import read_plan, write_plan
from relight.engine.planner import PlanOptions

__all__ = [
    "Action",
    "Drift",
    "Engine",
    "Hook",
    "MultiHook",
    "OutputChange",
    "Plan",
    "PlanMode",
    "PlanOptions",
    "ResourceChange",
    "read_plan",
    "write_plan",
]
