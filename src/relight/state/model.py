"""The state model: what relight knows about the real objects it manages.

A :class:`State` is one lineage (a UUID naming a state's whole history) at one serial (bumped on
every changed write), plus outputs and resource instances indexed by address. Objects
(:class:`ObjectState`, :class:`ResourceInstanceState`, :class:`OutputState`) are frozen and
treated as immutable: mutators on :class:`State` replace them instead of changing them, so
:meth:`State.copy` only copies dicts, never attribute trees.

State never holds :data:`relight.values.UNKNOWN`; the codec refuses to write one.

Instances in child modules are instances like any other: their addresses carry the module
instance (``module.net[0].aws_subnet.a``, see :mod:`relight.addrs`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from relight.addrs import InstanceAddr, ModuleAddr, ModuleInstance, ResourceAddr
from relight.values import Value

__all__ = [
    "UNASSIGNED_LINEAGE",
    "AttrPath",
    "CreateIntent",
    "ObjectState",
    "ObjectStatus",
    "OutputState",
    "ResourceInstanceState",
    "State",
]

ObjectStatus = Literal["ready", "tainted"]

# A path to a value inside an object's attributes, in Terraform's state notation: steps
# {"type": "get_attr", "value": "input"} or {"type": "index", "value": {"value": 0, "type": "number"}}.
AttrPath = tuple[Mapping[str, Any], ...]

# The lineage of a state that was never written: backends assign a UUID on the first write.
UNASSIGNED_LINEAGE = ""


@dataclass(frozen=True, slots=True)
class ObjectState:
    """One real object as last recorded.

    ``dependencies`` holds the *direct* resource addresses this object depends on (Terraform
    stores all transitive ancestors, which makes chained states grow quadratically).
    ``prevent_destroy`` records protection in state, so deleting the configuration block alone
    cannot destroy a protected object. ``private`` is provider-private data, opaque to the engine.
    ``sensitive_paths`` names the values Terraform marked sensitive (a sensitive variable or
    ``sensitive()`` flowed into them); relight keeps them so plans hide those values and a state
    handed back to Terraform keeps its marks (Terraform plans an update when marks differ).
    """

    attributes: dict[str, Value]
    status: ObjectStatus = "ready"
    dependencies: tuple[str, ...] = ()
    create_before_destroy: bool = False
    prevent_destroy: bool = False
    private: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 0
    sensitive_paths: tuple[AttrPath, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceInstanceState:
    """Everything recorded for one instance address.

    ``current`` is the live object (None while only deposed objects remain). ``deposed`` maps a
    deposed key to an object replaced under ``create_before_destroy`` and not yet destroyed.
    """

    addr: InstanceAddr
    provider: str
    current: ObjectState | None = None
    deposed: Mapping[str, ObjectState] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return self.current is None and not self.deposed


@dataclass(frozen=True, slots=True)
class OutputState:
    """A root module output value; ``sensitive`` hides it from human-readable output.

    ``type`` is the value's Terraform type in JSON notation (``["list", "string"]``), computed
    when the output was evaluated, or kept from a state adopted from Terraform while the value
    still conforms to it (None in states written before types were kept).
    """

    value: Value
    sensitive: bool = False
    type: Any = None


@dataclass(frozen=True, slots=True)
class CreateIntent:
    """A create that was started but whose result is not recorded yet.

    Journaled before the provider call, cleared after it. One still present when a run starts
    means that run died mid-call: the object may exist in the cloud, marked with ``token``, and
    the next plan asks the provider to find it (see ``Provider.find_created``). ``planned`` is
    the known part of the planned object, for providers that find objects by their arguments.
    """

    token: str
    provider: str
    planned: Mapping[str, Any] = field(default_factory=dict)
    started: str = ""


class State:
    """A lineage at a serial, with outputs and resource instances indexed by address.

    Not thread-safe: the engine serialises its own mutations. Each mutator replaces whole
    instance records, so copies taken earlier never observe later changes.
    """

    __slots__ = ("_by_resource", "_instances", "intents", "lineage", "outputs", "retained", "serial")

    def __init__(
        self,
        lineage: str,
        serial: int = 0,
        outputs: Mapping[str, OutputState] | None = None,
        instances: Mapping[InstanceAddr, ResourceInstanceState] | None = None,
    ) -> None:
        self.lineage = lineage
        self.serial = serial
        self.outputs: dict[str, OutputState] = dict(outputs or {})
        # What deletes kept on purpose (final snapshots of destroyed volumes), oldest first.
        self.retained: list[dict[str, Any]] = []
        self.intents: dict[InstanceAddr, CreateIntent] = {}
        self._instances: dict[InstanceAddr, ResourceInstanceState] = {}
        self._by_resource: dict[ResourceAddr, dict[InstanceAddr, None]] = {}
        for inst in (instances or {}).values():
            self._put(inst)

    @classmethod
    def new(cls, lineage: str | None = None) -> State:
        """An empty state at serial 0 with a fresh lineage (or the given one)."""
        return cls(lineage or str(uuid.uuid4()))

    # -- reading ---------------------------------------------------------------------------

    @property
    def instances(self) -> Mapping[InstanceAddr, ResourceInstanceState]:
        """A read-only view; change instances through the mutators so indexes stay right."""
        return MappingProxyType(self._instances)

    def get(self, addr: InstanceAddr) -> ResourceInstanceState | None:
        return self._instances.get(addr)

    def current(self, addr: InstanceAddr) -> ObjectState | None:
        inst = self._instances.get(addr)
        return inst.current if inst is not None else None

    def resource_instances(self, resource: ResourceAddr) -> list[ResourceInstanceState]:
        """The instances of one resource, in key order. Cost is the resource's size, not n."""
        addrs = sorted(self._by_resource.get(resource, {}), key=InstanceAddr.sort_key)
        return [self._instances[a] for a in addrs]

    def resources(self) -> list[ResourceAddr]:
        return sorted(self._by_resource)

    def addresses(self) -> list[InstanceAddr]:
        return sorted(self._instances, key=InstanceAddr.sort_key)

    def __iter__(self) -> Iterator[ResourceInstanceState]:
        return (self._instances[a] for a in self.addresses())

    def __len__(self) -> int:
        return len(self._instances)

    # -- mutating --------------------------------------------------------------------------

    def set_current(self, addr: InstanceAddr, provider: str, obj: ObjectState | None) -> None:
        """Record ``obj`` as the live object at ``addr``; None forgets it.

        An instance with neither a current nor a deposed object is dropped entirely.
        """
        old = self._instances.get(addr)
        deposed = old.deposed if old is not None else {}
        self._put_or_drop(ResourceInstanceState(addr, provider, obj, deposed))

    def set_instance(self, inst: ResourceInstanceState) -> None:
        """Record ``inst`` whole (its current and deposed objects), replacing what was there."""
        self._put_or_drop(inst)

    def set_deposed(
        self, addr: InstanceAddr, key: str, provider: str, obj: ObjectState | None
    ) -> None:
        """Record (or with None, forget) the deposed object ``key`` at ``addr``."""
        old = self._instances.get(addr)
        deposed = dict(old.deposed) if old is not None else {}
        if obj is None:
            deposed.pop(key, None)
        else:
            deposed[key] = obj
        current = old.current if old is not None else None
        self._put_or_drop(ResourceInstanceState(addr, provider, current, deposed))

    def remove(self, addr: InstanceAddr) -> None:
        """Forget everything at ``addr`` (no error if nothing was there)."""
        if self._instances.pop(addr, None) is None:
            return
        siblings = self._by_resource[addr.resource]
        del siblings[addr]
        if not siblings:
            del self._by_resource[addr.resource]

    def move_pairs(
        self, src: InstanceAddr | ResourceAddr | ModuleAddr, dst: InstanceAddr | ResourceAddr | ModuleAddr
    ) -> list[tuple[InstanceAddr, InstanceAddr]]:
        """The (from, to) instance moves that moving ``src`` to ``dst`` means, for what exists.

        A resource address (or an instance address without a key that names no instance) moves
        every instance of the resource, keeping each key; an instance address moves that one.
        A module address moves every instance inside that module instance, each to the same
        place under ``dst``; when nothing is at a keyless module address and ``dst`` is keyless
        too, every instance of the module call moves, keeping its key (a renamed call). Nothing
        at ``src`` gives no pairs. Occupied destinations are the caller's to judge.
        """
        if isinstance(src, ModuleAddr) or isinstance(dst, ModuleAddr):
            if not (isinstance(src, ModuleAddr) and isinstance(dst, ModuleAddr)):
                return []
            return self._module_pairs(src.module, dst.module)
        if isinstance(src, InstanceAddr) and src in self._instances:
            target = dst if isinstance(dst, InstanceAddr) else dst.instance(src.key)
            return [(src, target)]
        if isinstance(src, InstanceAddr) and src.key is not None:
            return []
        src_res = src if isinstance(src, ResourceAddr) else src.resource
        dst_res = dst if isinstance(dst, ResourceAddr) else dst.resource
        return [(inst.addr, dst_res.instance(inst.addr.key)) for inst in self.resource_instances(src_res)]

    def _module_pairs(self, src: ModuleInstance, dst: ModuleInstance) -> list[tuple[InstanceAddr, InstanceAddr]]:
        n = len(src)
        inside = [a for a in self.addresses() if a.resource.module[:n] == src]
        if inside:
            return [(a, _rehome(a, n, dst)) for a in inside]
        if src[-1][1] is not None or dst[-1][1] is not None:
            return []
        name = src[-1][0]
        pairs: list[tuple[InstanceAddr, InstanceAddr]] = []
        for a in self.addresses():
            mod = a.resource.module
            if len(mod) >= n and mod[: n - 1] == src[:-1] and mod[n - 1][0] == name:
                pairs.append((a, _rehome(a, n, (*dst[:-1], (dst[-1][0], mod[n - 1][1])))))
        return pairs

    def move(self, src: InstanceAddr, dst: InstanceAddr) -> None:
        """Move everything recorded at ``src`` to ``dst``: the current object, every deposed
        object and a pending create intent (so a crashed create is still found after a move).

        Raises KeyError when nothing is at ``src`` and ValueError when ``dst`` holds anything.
        """
        inst = self._instances.get(src)
        if inst is None:
            raise KeyError(str(src))
        if dst in self._instances:
            raise ValueError(f"{dst} already exists in the state")
        self.remove(src)
        self._put(ResourceInstanceState(dst, inst.provider, inst.current, inst.deposed))
        intent = self.intents.pop(src, None)
        if intent is not None:
            self.intents[dst] = intent

    def set_output(self, name: str, output: OutputState | None) -> None:
        if output is None:
            self.outputs.pop(name, None)
        else:
            self.outputs[name] = output

    # -- whole-state -----------------------------------------------------------------------

    def copy(self) -> State:
        """A copy sharing the immutable objects; O(n) dict copies, no attribute copies."""
        twin = State.__new__(State)
        twin.lineage = self.lineage
        twin.serial = self.serial
        twin.outputs = dict(self.outputs)
        twin.retained = list(self.retained)
        twin.intents = dict(self.intents)
        twin._instances = dict(self._instances)
        twin._by_resource = {r: dict(a) for r, a in self._by_resource.items()}
        return twin

    def same_content(self, other: State) -> bool:
        """True when outputs, instances and records are equal, whatever the lineage and serial."""
        return (
            self.outputs == other.outputs
            and self._instances == other._instances
            and self.retained == other.retained
            and self.intents == other.intents
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return (
            self.lineage == other.lineage
            and self.serial == other.serial
            and self.same_content(other)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"State(lineage={self.lineage!r}, serial={self.serial}, instances={len(self)})"

    # -- internals -------------------------------------------------------------------------

    def _put_or_drop(self, inst: ResourceInstanceState) -> None:
        if inst.is_empty:
            self.remove(inst.addr)
        else:
            self._put(inst)

    def _put(self, inst: ResourceInstanceState) -> None:
        self._instances[inst.addr] = inst
        self._by_resource.setdefault(inst.addr.resource, {})[inst.addr] = None


def _rehome(addr: InstanceAddr, depth: int, prefix: ModuleInstance) -> InstanceAddr:
    """``addr`` with its first ``depth`` module steps replaced by ``prefix``."""
    res = addr.resource
    moved = ResourceAddr(res.mode, res.type, res.name, prefix + res.module[depth:])
    return InstanceAddr(moved, addr.key)
