"""What a shell asks for: :class:`RunRequest`, a frozen, JSON-serialisable value.

The CLI builds one from its flags, the server from a webhook or a confirmation, the heal
scheduler for each pass. Addresses (``-target``, ``-replace``, state commands) are parsed once,
at the edge, by :func:`parse_addresses`; a bad one is a diagnostic there, and the request only
ever holds typed addresses.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from relight.addrs import InstanceAddr, ModuleAddr, Target, parse_target
from relight.diagnostics import Diagnostics
from relight.engine import PlanMode

__all__ = ["Approval", "HealOptions", "Operation", "RunRequest", "VarInput", "parse_addresses", "parse_targets"]

VarInput = tuple[Literal["var", "var-file"], str]
"""``("var", "name=value")`` or ``("var-file", "path")``, in command-line order."""


class Operation(enum.Enum):
    INIT = "init"  # check that the configuration loads (there is nothing to download)
    VALIDATE = "validate"
    PLAN = "plan"  # also -destroy and -refresh-only plans (see ``mode``)
    APPLY = "apply"  # plan then apply, or apply exactly ``plan_file``; destroy is mode DESTROY
    IMPORT = "import"
    OUTPUT = "output"
    GRAPH = "graph"
    STATE_LIST = "state list"
    STATE_SHOW = "state show"
    STATE_RM = "state rm"
    STATE_MV = "state mv"
    STATE_PULL = "state pull"
    STATE_PUSH = "state push"
    STATE_HISTORY = "state history"
    FORCE_UNLOCK = "force-unlock"
    HEAL = "heal"


class Approval(enum.Enum):
    """What happens between the plan and the apply of an ``apply`` run."""

    AUTO = "auto"  # apply at once (-auto-approve, auto_apply workspaces, heal recoveries)
    CONFIRM = "confirm"  # stop after the plan: status "planned", the saved plan in the result
    ASK = "ask"  # ask ``RunContext.approve`` with the plan, holding the lock meanwhile


@dataclass(frozen=True)
class HealOptions:
    """What the heal scheduler tells a heal pass.

    ``mode`` overrides the policy's mode (``relight heal --mode``). ``recoveries_last_hour``
    counts recoveries already made, for ``max_recoveries_per_hour``. ``known_vanished`` names
    objects an open incident found vanished (after a failed recovery they are no longer in
    state). ``backing_off`` forbids applying this pass (after failed recoveries).
    """

    mode: str | None = None
    recoveries_last_hour: int = 0
    known_vanished: tuple[str, ...] = ()
    backing_off: bool = False


@dataclass(frozen=True)
class RunRequest:
    """One operation with its options. Fields that an operation does not use are ignored."""

    operation: Operation
    mode: PlanMode = PlanMode.NORMAL
    variables: tuple[VarInput, ...] = ()
    targets: tuple[Target, ...] = ()  # resources, instances, module instances or whole module calls
    replace: tuple[InstanceAddr, ...] = ()
    refresh: bool = True
    parallelism: int = 10
    lock: bool = True
    lock_timeout: float = 0.0
    approval: Approval = Approval.AUTO
    speculative: bool = False  # a plan that never writes state and takes no lock (pull requests)
    plan_file: bytes | None = None  # apply exactly this saved plan
    source: str = ""  # names plan_file or state_file in messages (the path a person gave)
    save_plan: bool = False  # return the plan's bytes in the result (plan -out)
    # state list/rm filters (module addresses too), the state show and import target (an instance)
    addresses: tuple[Target, ...] = ()
    destination: Target | None = None  # state mv (a module address moves everything in it)
    import_id: str = ""
    state_file: bytes | None = None  # state push: relight's state or Terraform's (format 4)
    from_backend: bool = False  # state push -from-backend: read the backend "s3" block's Terraform state
    state_format: str = "relight"  # state pull -format: "relight" or "terraform"
    force: bool = False  # state push -force; force-unlock without asking
    lock_id: str = ""  # force-unlock
    heal: HealOptions = field(default_factory=HealOptions)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (bytes as base64, addresses as text); see :meth:`from_json`."""
        out: dict[str, Any] = {}
        for f in fields(self):
            out[f.name] = _to_json(getattr(self, f.name))
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RunRequest:
        """The request :meth:`to_json` wrote; raises ValueError on a damaged document."""
        try:
            req = cls(Operation(doc["operation"]))
            return replace(
                req,
                mode=PlanMode(doc.get("mode", "normal")),
                variables=tuple((str(k), str(v)) for k, v in doc.get("variables", ())),  # type: ignore[misc]
                targets=tuple(parse_target(a) for a in doc.get("targets", ())),
                replace=tuple(InstanceAddr.parse(a) for a in doc.get("replace", ())),
                refresh=bool(doc.get("refresh", True)),
                parallelism=int(doc.get("parallelism", 10)),
                lock=bool(doc.get("lock", True)),
                lock_timeout=float(doc.get("lock_timeout", 0.0)),
                approval=Approval(doc.get("approval", "auto")),
                speculative=bool(doc.get("speculative", False)),
                plan_file=_bytes(doc.get("plan_file")),
                source=str(doc.get("source", "")),
                save_plan=bool(doc.get("save_plan", False)),
                addresses=tuple(parse_target(a) for a in doc.get("addresses", ())),
                destination=parse_target(doc["destination"]) if doc.get("destination") else None,
                import_id=str(doc.get("import_id", "")),
                state_file=_bytes(doc.get("state_file")),
                from_backend=bool(doc.get("from_backend", False)),
                state_format=str(doc.get("state_format", "relight")),
                force=bool(doc.get("force", False)),
                lock_id=str(doc.get("lock_id", "")),
                heal=_heal_options(doc.get("heal") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a run request: {exc}") from None


def _heal_options(doc: Mapping[str, Any]) -> HealOptions:
    mode = doc.get("mode")
    return HealOptions(
        mode=None if mode is None else str(mode),
        recoveries_last_hour=int(doc.get("recoveries_last_hour", 0)),
        known_vanished=tuple(str(a) for a in doc.get("known_vanished", ())),
    )


def _to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, InstanceAddr | ModuleAddr):
        return str(value)
    if isinstance(value, HealOptions):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _bytes(value: Any) -> bytes | None:
    return None if value is None else base64.b64decode(value)


def parse_addresses(texts: Iterable[str], flag: str) -> tuple[tuple[InstanceAddr, ...], Diagnostics]:
    """Parse resource instance addresses given by a person (``-replace``, state commands), in the
    root module or a child's (``module.net[0].aws_subnet.a``); each bad one is an error
    diagnostic naming ``flag``."""
    diags = Diagnostics()
    out: list[InstanceAddr] = []
    for text in texts:
        try:
            out.append(InstanceAddr.parse(text))
        except ValueError as exc:
            diags.error(f"Invalid {flag} address", f"{exc}.")
    return tuple(out), diags


def parse_targets(texts: Iterable[str], flag: str = "-target") -> tuple[tuple[Target, ...], Diagnostics]:
    """Parse ``-target`` addresses: resources and instances as :func:`parse_addresses` does, and
    module addresses (``module.net``, ``module.app["a"]``); each bad one is an error diagnostic."""
    diags = Diagnostics()
    out: list[Target] = []
    for text in texts:
        try:
            out.append(parse_target(text))
        except ValueError as exc:
            diags.error(f"Invalid {flag} address", f"{exc}.")
    return tuple(out), diags
