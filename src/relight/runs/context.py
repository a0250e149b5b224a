"""What a run needs from the world, made explicit: :class:`RunContext`.

Everything that used to be process-wide (the working directory, ``os.environ``, the global cloud
clock, boto3 caches keyed by the environment) is a field here, so several runs can share one
worker process safely: each run names its own directory (nothing changes directory), its own
environment and secrets (nothing below the shells reads ``os.environ``), its own state backend
and provider registry, and gets its own cloud clock from the runner.

Shells build a context once per run: the CLI from its flags and the process environment, the
server from a workspace's settings and a checkout.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from relight.diagnostics import Diagnostics
from relight.engine import FEATURES, Plan
from relight.engine.adopt import export_terraform, read_state_file
from relight.errors import StateError
from relight.lang import Config, FilePolicy, ParseCache, load_config
from relight.providers.base import ProviderContext
from relight.providers.registry import ProviderRegistry
from relight.state import DEFAULT_STATE_FILE, LocalBackend, State, StateBackend
from relight.state.http import HttpBackend, http_settings

__all__ = [
    "BackendFactory", "Overlay", "RunContext", "configured_backend", "local_backend", "locate_state", "state_path",
]

BackendFactory = Callable[[Config | None, str], StateBackend]
"""Makes the state backend of a run from its configuration (None when it could not be loaded)
and its directory."""

Overlay = Callable[[Config], tuple[Config, Diagnostics]]
"""Rewrites a loaded configuration before it is checked and planned (a rehearsal's ephemeral
copy of a stack: another image, a volume from a snapshot, no DNS); its diagnostics say why a
configuration cannot be rewritten."""


def state_path(config: Config | None, directory: str) -> str:
    """The state file of ``config`` in ``directory``: its local backend's ``path``, else
    relight.tfstate."""
    path = DEFAULT_STATE_FILE
    if config is not None and config.backend is not None and config.backend.type == "local":
        configured = config.backend.config.get("path")
        if isinstance(configured, str) and configured:
            path = configured
    return os.path.join(directory, path)


def local_backend(config: Config | None, directory: str) -> StateBackend:
    """The default backend: a state file (with its journal and history) in the directory."""
    return LocalBackend(state_path(config, directory))


def configured_backend(context: RunContext, config: Config | None) -> StateBackend:
    """The backend the configuration asks for: ``backend "http"`` gets the http backend (state
    in a server speaking Terraform's protocol, in Terraform's format converted with the run's
    providers); anything else the local file (other backend types are adoption sources or
    warned about where they matter)."""
    block = config.backend if config is not None else None
    if block is None or block.type != "http":
        return local_backend(config, context.directory)
    settings = http_settings(block.config, context.inputs)
    providers = ProviderContext(context.inputs)

    def encode(state: State) -> bytes:
        data, diags = export_terraform(state, context.registry, providers)
        if data is None:
            raise StateError(f"cannot write the state in Terraform's format: {_first(diags)}")
        return data

    def decode(data: bytes, source: str) -> State:
        state, diags = read_state_file(data, source, context.registry, providers)
        if state is None:
            raise StateError(f"cannot read {source}: {_first(diags)}")
        return state

    return HttpBackend(settings, encode, decode)


def _first(diags: Diagnostics) -> str:
    errors = diags.errors
    return "; ".join(f"{d.summary}: {d.detail}" if d.detail else d.summary for d in errors[:3]) or "unknown error"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunContext:
    """Everything one run may use besides its request.

    ``directory`` is the configuration directory (absolute or relative to nothing: it is never
    changed to). ``environment`` holds the run's ``TF_VAR_*``, ``AWS_*`` and ``RELIGHT_*``
    variables; ``secrets`` holds more of them whose values must never reach a log (they are
    redacted from events). ``backend`` makes the state backend (None: the one the configuration
    asks for, see :func:`configured_backend`); ``registry`` the providers, each
    created for this run with its environment and cloud clock. ``cancel``, once set, stops the
    run between actions. ``approve`` is asked, with the plan, when a request's approval is
    ``ask`` (the CLI's "Enter a value:" prompt). ``now`` is the wall clock for timestamps.
    """

    directory: str
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    backend: BackendFactory | None = None
    registry: ProviderRegistry = field(default_factory=ProviderRegistry)
    cancel: threading.Event = field(default_factory=threading.Event)
    approve: Callable[[Plan], bool] | None = None
    now: Callable[[], datetime] = _utc_now
    files: FilePolicy = field(default_factory=FilePolicy.unconfined)
    parse_cache: ParseCache | None = None
    overlay: Overlay | None = None

    @property
    def inputs(self) -> dict[str, str]:
        """The environment the run's variables and providers see: ``environment`` then ``secrets``."""
        return {**self.environment, **self.secrets}

    def state_backend(self, config: Config | None) -> StateBackend:
        """The run's state backend, from ``backend`` or else the configuration."""
        if self.backend is None:
            return configured_backend(self, config)
        return self.backend(config, self.directory)

    def path(self, name: str) -> str:
        """A path the user gave (a -var-file, a plan file), relative to the run's directory."""
        return name if os.path.isabs(name) else os.path.join(self.directory, name)


def locate_state(context: RunContext) -> str:
    """The state file a run in ``context`` would use with the local backend (incidents and
    other records live beside it). Reads the configuration leniently: only its backend matters."""
    config, _ = load_config(
        context.directory, cache=context.parse_cache, file_policy=context.files, engine_features=FEATURES
    )
    return state_path(config, context.directory)
