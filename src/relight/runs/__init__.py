"""The run layer: every shell runs operations through here, and only through here.

    shell (CLI | heal scheduler | server | worker)
        -> RunRequest (a frozen value) -> Runner().execute(request, RunContext, sink)
        -> RunResult (data) + typed events (one stream: CLI progress, server log, Slack)

A :class:`RunContext` carries what used to be process-wide (directory, environment, secrets,
state backend, providers, cancellation, approval), so several runs can share one process.
Views for people (:mod:`relight.runs.render`) and the JSON plan (:mod:`relight.runs.planjson`)
live here too, so the CLI and the server show the same thing.
"""

from relight.engine import Action, Plan, PlanMode
from relight.lang import FilePolicy, ParseCache
from relight.runs.classify import Classification, PassKind, classify, summarize
from relight.runs.context import BackendFactory, Overlay, RunContext, local_backend, locate_state, state_path
from relight.runs.events import (
    ApplyDone,
    ApplySkipped,
    ApplyStarted,
    DiagnosticEvent,
    Event,
    EventSink,
    HealFinding,
    HealPolicyLoaded,
    ListSink,
    Message,
    PlanReady,
    RefreshDone,
    RefreshStarted,
    RunFinished,
    RunStarted,
    SafeSink,
)
from relight.runs.healpass import first_error
from relight.runs.healpolicy import MODES, HealPolicy, load_policy, url_problem
from relight.runs.planjson import plan_to_json
from relight.runs.render import plan_summary, progress_line, render_plan, render_value, still_line
from relight.runs.request import (
    Approval,
    HealOptions,
    Operation,
    RunRequest,
    VarInput,
    parse_addresses,
    parse_targets,
)
from relight.runs.result import Counts, HealReport, RunResult, RunStatus, Timings
from relight.runs.runner import Runner
from relight.runs.stateops import state_from_bytes, terraform_state
from relight.state import OutputState, ResourceInstanceState, State
from relight.state import dumps as state_json

# Re-exported for the shells, which reach the engine and the state only through this package.
__all__ = [
    "MODES",
    "Action",
    "ApplyDone",
    "ApplySkipped",
    "ApplyStarted",
    "Approval",
    "BackendFactory",
    "Classification",
    "Counts",
    "DiagnosticEvent",
    "Event",
    "EventSink",
    "FilePolicy",
    "HealFinding",
    "HealOptions",
    "HealPolicy",
    "HealPolicyLoaded",
    "HealReport",
    "ListSink",
    "Message",
    "Operation",
    "OutputState",
    "Overlay",
    "ParseCache",
    "PassKind",
    "Plan",
    "PlanMode",
    "PlanReady",
    "RefreshDone",
    "RefreshStarted",
    "ResourceInstanceState",
    "RunContext",
    "RunFinished",
    "RunRequest",
    "RunResult",
    "RunStarted",
    "RunStatus",
    "Runner",
    "SafeSink",
    "State",
    "Timings",
    "VarInput",
    "classify",
    "first_error",
    "load_policy",
    "local_backend",
    "locate_state",
    "parse_addresses",
    "parse_targets",
    "plan_summary",
    "plan_to_json",
    "progress_line",
    "render_plan",
    "render_value",
    "state_from_bytes",
    "state_json",
    "state_path",
    "still_line",
    "summarize",
    "terraform_state",
    "url_problem",
]
