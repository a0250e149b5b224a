"""How the emulator's objects are written to and read from ``objects.pickle`` (see persist.py).

Three things plain pickle cannot do with moto's objects are handled here:

* ``defaultdict(lambda: ...)``: the lambda is replaced by :class:`_EmptyLike`, a factory that
  returns a copy of an empty sample of what the lambda made; subclasses of defaultdict with their
  own constructor (``ParameterDict(account, region)``) are rebuilt without calling it;
* locks are recreated, unlocked;
* the emulator's own ~1,300 public images (and their snapshots) are 99 % of the bytes and are
  the same in every EC2 backend the emulator creates, so they are written as references
  (``persistent_id``) and read back from a fresh backend of the same account and region. What a
  user changes on those objects themselves (launch permissions, a disabled image) is not kept;
  their tags are (tags live in the backend).
"""

from __future__ import annotations

import collections
import copy
import io
import pickle
import threading
from typing import Any

__all__ = ["dumps", "install_backends", "live_backends", "loads"]

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class _EmptyLike:
    """A picklable ``default_factory``: a fresh copy of an empty sample (for moto's lambdas)."""

    def __init__(self, sample: Any) -> None:
        self.sample = sample

    def __call__(self) -> Any:
        return copy.deepcopy(self.sample)


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, shared: dict[int, tuple[str, str, str, str]]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._shared = shared

    def persistent_id(self, obj: Any) -> Any:
        return self._shared.get(id(obj))

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, collections.defaultdict):
            factory = obj.default_factory
            if _is_local(factory):
                factory = _EmptyLike(factory())  # type: ignore[misc]
            state = getattr(obj, "__dict__", None) or None
            return _rebuild_defaultdict, (type(obj), factory), state, None, iter(obj.items())
        if isinstance(obj, _LOCK_TYPES):
            return _new_lock, (type(obj).__name__,)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self._templates: dict[tuple[str, str], Any] = {}

    def persistent_load(self, pid: Any) -> Any:
        kind, account, region, image_id = pid
        template = self._templates.get((account, region))
        if template is None:
            from moto.ec2.models import EC2Backend

            template = self._templates[(account, region)] = EC2Backend(region, account)
        image = template.amis[image_id]
        return image if kind == "image" else image.ebs_snapshot


def dumps(doc: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, _shared_images()).dump(doc)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def live_backends() -> list[tuple[str, str, str, Any]]:
    """(service, account, region, backend) of every backend the emulator has in use."""
    from moto.backends import get_backend
    from moto.core.base_backend import BackendDict

    out: list[tuple[str, str, str, Any]] = []
    lookup: Any = get_backend
    for registry in list(getattr(BackendDict, "_instances")):  # noqa: B009 - moto's registry of live backends
        try:
            same = lookup(registry.service_name) is registry
        except Exception:
            same = False
        if not same:
            continue
        for account, region, backend in registry.iter_backends():
            out.append((registry.service_name, account, region, backend))
    return out


def install_backends(backends: list[tuple[str, str, str, Any]]) -> None:
    """Make loaded backends the emulator's own (and their shared images point at them)."""
    from moto.backends import get_backend

    lookup: Any = get_backend
    for service, account, region, backend in backends:
        dict.__setitem__(lookup(service)[account], region, backend)
        if service == "ec2":
            for image in backend.amis.values():
                image.ec2_backend = backend
                image.ebs_snapshot.ec2_backend = backend
            backend.snapshots = {s.id: s for s in backend.snapshots.values()}


def _shared_images() -> dict[int, tuple[str, str, str, str]]:
    """id(object) -> reference, for the emulator's own images and their snapshots."""
    from moto.ec2.models import ec2_backends

    shared: dict[int, tuple[str, str, str, str]] = {}
    backend: Any
    for account, region, backend in ec2_backends.iter_backends():
        for image in backend.amis.values():
            if image.owner_alias == "amazon":  # the emulator's catalogue (and our shipped images)
                shared[id(image)] = ("image", account, region, image.id)
                shared[id(image.ebs_snapshot)] = ("snapshot", account, region, image.id)
    return shared


def _rebuild_defaultdict(cls: Any, factory: Any) -> Any:
    obj = cls.__new__(cls)
    collections.defaultdict.__init__(obj, factory)
    return obj


def _new_lock(kind: str) -> Any:
    return threading.RLock() if "RLock" in kind else threading.Lock()


def _is_local(func: Any) -> bool:
    """A function pickle cannot name (a lambda, or one defined inside another)."""
    name = getattr(func, "__qualname__", "")
    return callable(func) and ("<lambda>" in name or "<locals>" in name)
