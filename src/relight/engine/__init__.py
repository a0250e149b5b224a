"""The engine: configuration -> graph -> plan -> apply -> state. Shells drive :class:`Engine`."""

from relight.engine.applier import CANCELED
from relight.engine.core import FEATURES, Engine
from relight.engine.graph import ConfigGraph, build_graph
from relight.engine.hooks import Hook
from relight.engine.plan import Action, Drift, OutputChange, Plan, PlanMode, ResourceChange
from relight.engine.planfile import config_digest, decode_plan, encode_plan, encode_value, read_plan, write_plan
from relight.engine.planner import PlanOptions
from relight.engine.validate import validate_schemas

__all__ = [
    "CANCELED",
    "FEATURES",
    "Action",
    "ConfigGraph",
    "Drift",
    "Engine",
    "Hook",
    "OutputChange",
    "Plan",
    "PlanMode",
    "PlanOptions",
    "ResourceChange",
    "build_graph",
    "config_digest",
    "decode_plan",
    "encode_plan",
    "encode_value",
    "read_plan",
    "validate_schemas",
    "write_plan",
]
