"""The data plane: what the emulator's API calls do to bytes and processes.

:class:`DataPlane` is driven by the emulator's hooks (hooks.py) with ids and plain values, and
reads the emulator's objects through a :class:`Catalog`; it owns the content on disk
(store.py), the instances' sandboxes (instances.py), SSM invocations (ssm.py), host addresses
and port forwarding (network.py) and size checks (quota.py).

Failure semantics: a hook that changes content (a volume from a snapshot, a snapshot, an image)
raises :class:`StoreError` before the API call answers, and the hook turns it into an API error;
content is only ever moved to the trash, and the trash is purged once the deletion is durable
(:meth:`DataPlane.committed`). Boots and mounts never fail an API call: a problem is recorded on
the instance (its console log and ``failure``), as an impaired instance on AWS.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from relight.localcloud.dataplane import quota
from relight.localcloud.dataplane.instances import BootPlan, InstanceRuntime
from relight.localcloud.dataplane.network import AddressBook, Forwarder, listening_ports
from relight.localcloud.dataplane.sandbox import INIT_SCRIPT
from relight.localcloud.dataplane.ssm import Invocation, RunShellScript, aggregate_status
from relight.localcloud.dataplane.store import Store, StoreError, tree_usage

__all__ = ["Catalog", "DataPlane", "InstanceInfo", "InstanceRecord", "StoreError"]

log = logging.getLogger("relight.localcloud")
_TICK = 0.2


@dataclass(frozen=True)
class InstanceInfo:
    """An instance as the emulator has it."""

    instance_id: str
    state: str
    image_id: str
    private_ip: str | None
    user_data: bytes | None
    devices: Mapping[str, str]  # device name -> volume id, the root device included
    region: str
    public_key: str | None = None  # the launch's key pair (OpenSSH public key), if it named one


class Catalog(Protocol):
    """Read access to the emulator's objects (implemented over moto in hooks.py)."""

    def instance(self, instance_id: str) -> InstanceInfo | None: ...

    def instances(self) -> list[InstanceInfo]: ...

    def volume_size(self, volume_id: str) -> int | None: ...

    def image_snapshot(self, image_id: str) -> str | None: ...

    def object_ids(self) -> tuple[set[str], set[str], set[str]]: ...


@dataclass
class InstanceRecord:
    """What the data plane keeps about an instance across its boots (saved with the emulator)."""

    root_volume_id: str | None
    host_address: str
    booted_once: bool = False


@dataclass
class _Watch:
    """When the watcher next looks at an instance's ports and sizes."""

    started: float = field(default_factory=time.monotonic)
    next_ports: float = 0.0
    next_quota: float = 0.0
    quota_cost: float = 0.0


@contextlib.contextmanager
def _no_lock() -> Iterator[None]:
    yield


class DataPlane:
    """Volumes with bytes, instances that run, SSM Run Command. Thread-safe."""

    def __init__(
        self,
        root: Path,
        catalog: Catalog,
        images: Callable[[str], dict[str, tuple[int, bytes]]],
        durable: bool = False,
        mutate: Callable[[], AbstractContextManager[None]] = _no_lock,
        unlocked: Callable[[], AbstractContextManager[None]] = _no_lock,
    ) -> None:
        self.store = Store(root, durable)
        self._unlocked = unlocked
        self.catalog = catalog
        self._images = images
        self._durable = durable
        self._mutate = mutate
        self._lock = threading.RLock()
        self.records: dict[str, InstanceRecord] = {}
        self._runtimes: dict[str, InstanceRuntime] = {}
        self._forwarders: dict[str, Forwarder] = {}
        self._watch: dict[str, _Watch] = {}
        self._invocations: dict[str, list[Invocation]] = {}
        self._trash: list[Path] = []
        self._addresses = AddressBook()
        self._init = root / "init.sh"
        self._init.write_text(INIT_SCRIPT)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="relight-boot")
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch_loop, name="relight-dataplane-watch", daemon=True)
        self._watcher.start()

    # -- volumes and snapshots --------------------------------------------------------------
    def volume_created(self, volume_id: str, snapshot_id: str | None) -> None:
        if self.store.snapshot_path(snapshot_id) is None:
            return  # a new, empty volume (or from an empty snapshot): nothing to copy
        with self._unlocked():  # a long copy: let other calls into the emulator meanwhile
            self.store.create_volume(volume_id, snapshot_id)

    def volume_deleted(self, volume_id: str) -> None:
        self._trashed(self.store.delete_volume(volume_id))

    def snapshot_created(self, snapshot_id: str, volume_id: str) -> None:
        if self.store.volume_path(volume_id) is None:
            return  # an empty volume makes an empty snapshot
        with self._unlocked():
            self.store.create_snapshot(snapshot_id, volume_id)

    def snapshot_copied(self, snapshot_id: str, source_snapshot_id: str) -> None:
        source = self.store.snapshot_path(source_snapshot_id)
        if source is not None:
            with self._unlocked():
                self.store.copy_snapshot(snapshot_id, source)

    def snapshot_deleted(self, snapshot_id: str) -> None:
        self._trashed(self.store.delete_snapshot(snapshot_id))

    def image_created(self, snapshot_id: str, instance_id: str) -> None:
        """CreateImage: the instance's root filesystem (not its data volumes) is the image."""
        record = self.records.get(instance_id)
        path = self.store.volume_path(record.root_volume_id) if record and record.root_volume_id else None
        if path is not None:
            with self._unlocked():
                self.store.copy_snapshot(snapshot_id, path)

    def volume_attached(self, volume_id: str, instance_id: str) -> None:
        record = self.records.get(instance_id)
        if record is None or volume_id == record.root_volume_id:
            return  # during a launch: instance_launched() places the volumes
        self.store.move_volume(volume_id, instance_id)
        self._sync(instance_id)

    def volume_detached(self, volume_id: str, instance_id: str) -> None:
        record = self.records.get(instance_id)
        if record is not None and volume_id == record.root_volume_id:
            return
        self._sync(instance_id)  # the emulator no longer lists it: this unmounts it
        if self.store.volume_path(volume_id) is not None:
            self.store.move_volume(volume_id, None)

    # -- instances --------------------------------------------------------------------------
    def instance_launched(self, instance_id: str, root_volume_id: str | None) -> None:
        """A new instance: seed its root volume from its image, place its data volumes, boot."""
        info = self.catalog.instance(instance_id)
        if info is None:
            return
        if root_volume_id is not None and self.store.volume_path(root_volume_id) is None:
            self.store.seed_volume(root_volume_id, self._image_root(info.image_id))
        address = self._addresses.allocate(instance_id, info.private_ip)
        with self._lock:
            self.records[instance_id] = InstanceRecord(root_volume_id, address)
        for volume_id in self._data_devices(info, root_volume_id).values():
            self.store.move_volume(volume_id, instance_id)
        self.instance_started(instance_id)

    def instance_started(self, instance_id: str) -> None:
        runtime = self._runtime(instance_id)
        if runtime is None:
            return
        runtime.want_running = True
        self._pool.submit(self._boot, instance_id)

    def instance_stopped(self, instance_id: str) -> None:
        with self._lock:
            runtime = self._runtimes.get(instance_id)
            forwarder = self._forwarders.pop(instance_id, None)
            self._watch.pop(instance_id, None)
            invocations = [i for i in self._invocations.get(instance_id, []) if not i.final]
        for invocation in invocations:
            invocation.kill()
        if forwarder is not None:
            forwarder.close()
        if runtime is not None:
            runtime.stop()

    def instance_rebooted(self, instance_id: str) -> None:
        self.instance_stopped(instance_id)
        self.instance_started(instance_id)

    def instance_terminated(self, instance_id: str) -> None:
        """After the emulator detached and deleted its volumes: forget the instance."""
        self.instance_stopped(instance_id)
        with self._lock:
            self.records.pop(instance_id, None)
            self._runtimes.pop(instance_id, None)
            self._invocations.pop(instance_id, None)
        self._addresses.release(instance_id)
        self.store.forget_instance(instance_id)

    def _runtime(self, instance_id: str) -> InstanceRuntime | None:
        # Lock order: the emulator's (taken by the catalog) before ours, never the reverse.
        info = self.catalog.instance(instance_id) if instance_id not in self._runtimes else None
        with self._lock:
            record = self.records.get(instance_id)
            if record is None:
                return None
            runtime = self._runtimes.get(instance_id)
            if runtime is None:
                ip = info.private_ip if info else None
                hostname = f"ip-{ip.replace('.', '-')}" if ip else instance_id
                attached = self.store.attached_dir(instance_id)
                attached.mkdir(parents=True, exist_ok=True)
                runtime = InstanceRuntime(instance_id, self._init, attached, hostname, ip)
                self._runtimes[instance_id] = runtime
            return runtime

    def _boot(self, instance_id: str) -> None:
        runtime = self._runtime(instance_id)
        info = self.catalog.instance(instance_id)
        record = self.records.get(instance_id)
        if runtime is None or info is None or record is None or not runtime.want_running:
            return
        root = self.store.volume_path(record.root_volume_id, create=True) if record.root_volume_id else None
        if root is None:
            runtime.failure = "the instance has no root volume"
            return
        first = not record.booted_once
        with self._mutate():
            record.booted_once = True
        # The devices are read before the boot takes the instance's lock (lock order: the
        # emulator's first); an attach in between is mounted by the sync after the boot.
        runtime.boot(BootPlan(root, self._devices(instance_id), first, info.user_data, info.public_key))
        box = runtime.sandbox
        if box is not None:
            with self._lock:
                self._forwarders[instance_id] = Forwarder(instance_id, record.host_address, box.pid)
                self._watch[instance_id] = _Watch()
            self._sync(instance_id)

    def _data_devices(self, info: InstanceInfo, root_volume_id: str | None) -> dict[str, str]:
        return {d: v for d, v in info.devices.items() if v != root_volume_id}

    def _devices(self, instance_id: str) -> dict[str, str]:
        """The data volumes attached to the instance now (device -> volume id)."""
        record = self.records.get(instance_id)
        info = self.catalog.instance(instance_id)
        if record is None or info is None:
            return {}
        return self._data_devices(info, record.root_volume_id)

    def _sync(self, instance_id: str) -> None:
        with self._lock:
            runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            runtime.sync_mounts(self._devices(instance_id))

    def _image_root(self, image_id: str) -> Path:
        snapshot = self.catalog.image_snapshot(image_id)
        content = self.store.snapshot_path(snapshot)
        if content is not None:
            return content  # an image made by CreateImage
        return self.store.image_path(image_id, self._images(image_id))

    # -- SSM --------------------------------------------------------------------------------
    def run_command(
        self, command: Any, invocations: Sequence[MutableMapping[str, Any]], script: RunShellScript, region: str
    ) -> None:
        """Run ``script`` in each invocation's instance; ``command.status`` follows them."""
        runs: list[Invocation] = []

        def done() -> None:
            with self._mutate():
                command.status = aggregate_status([str(i["Status"]) for i in invocations])
                command.status_details = command.status

        for record in invocations:
            instance_id = str(record["InstanceId"])
            runtime = self._runtime(instance_id)
            run = Invocation(
                record, runtime, functools.partial(self._root_of, instance_id), script, region,
                functools.partial(self._sync, instance_id), self._mutate, done,
            )  # fmt: skip
            runs.append(run)
            with self._lock:
                kept = [i for i in self._invocations.get(instance_id, []) if not i.final]
                self._invocations[instance_id] = [*kept, run]
        command.status = "Pending"
        for run in runs:
            run.start()

    def _root_of(self, instance_id: str) -> Path | None:
        record = self.records.get(instance_id)
        return self.store.volume_path(record.root_volume_id) if record and record.root_volume_id else None

    # -- views ------------------------------------------------------------------------------
    def instance_view(self, instance_id: str) -> dict[str, Any] | None:
        """What ``GET /_relight/instances/<id>`` answers (documented in docs/local-cloud.md)."""
        with self._lock:
            record = self.records.get(instance_id)
            runtime = self._runtimes.get(instance_id)
            forwarder = self._forwarders.get(instance_id)
        if record is None:
            return None
        info = self.catalog.instance(instance_id)
        return {
            "instance_id": instance_id,
            "state": info.state if info else "unknown",
            "private_ip": info.private_ip if info else None,
            "host_address": record.host_address,
            "ports": {str(p): a for p, a in (forwarder.ports() if forwarder else {}).items()},
            "running": runtime is not None and runtime.sandbox is not None,
            "booted": runtime is not None and runtime.booted,
            "failure": runtime.failure if runtime else None,
            "root_volume_id": record.root_volume_id,
        }

    def console_output(self, instance_id: str) -> str:
        record = self.records.get(instance_id)
        path = self.store.volume_path(record.root_volume_id) if record and record.root_volume_id else None
        if path is None:
            return ""
        try:
            return (path / "var/log/cloud-init-output.log").read_text(errors="replace")[-64_000:]
        except OSError:
            return ""

    # -- persistence and lifecycle ----------------------------------------------------------
    def committed(self) -> None:
        """The emulator's objects are durable up to now: purge the trash of what they deleted."""
        with self._lock:
            trash, self._trash = self._trash, []
        self.store.purge(trash)

    def _trashed(self, entry: Path | None) -> None:
        if entry is None:
            return
        if self._durable:
            with self._lock:
                self._trash.append(entry)
        else:
            self.store.purge([entry])

    def export_records(self) -> dict[str, InstanceRecord]:
        with self._lock:
            return dict(self.records)

    def resume(self, records: Mapping[str, InstanceRecord]) -> list[str]:
        """After loading saved objects: keep the records and content that still belong to an
        object (the rest goes to orphans/), then boot the instances that are running."""
        volumes, snapshots, instances = self.catalog.object_ids()
        with self._lock:
            self.records = {i: r for i, r in records.items() if i in instances}
        for instance_id, record in self.records.items():
            self._addresses.restore(instance_id, record.host_address)
        self.store.purge_all_trash()
        moved = self.store.keep_only(volumes, snapshots, set(self.records))
        for info in self.catalog.instances():
            if info.instance_id in self.records and info.state in ("pending", "running"):
                self.instance_started(info.instance_id)
        return moved

    def reset(self) -> None:
        """The emulator forgot everything: stop every instance and delete all content."""
        for instance_id in list(self._runtimes):
            self.instance_stopped(instance_id)
        with self._lock:
            self.records.clear()
            self._runtimes.clear()
            self._invocations.clear()
            self._trash.clear()
        self._addresses.clear()
        self.store.wipe()

    def shutdown(self) -> None:
        """Stop every instance (their content stays on disk) and the data plane's threads."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for instance_id in list(self._runtimes):
            self.instance_stopped(instance_id)
        self._watcher.join(timeout=5)

    # -- the watcher ------------------------------------------------------------------------
    def _watch_loop(self) -> None:
        while not self._stopping.wait(_TICK):
            with self._lock:
                watched = [(i, self._runtimes.get(i), w) for i, w in self._watch.items()]
            for instance_id, runtime, watch in watched:
                if runtime is None or runtime.sandbox is None:
                    continue
                try:
                    self._look_at(instance_id, runtime, watch)
                except Exception:  # the watcher must outlive any one instance's trouble
                    log.exception("watching %s failed", instance_id)

    def _look_at(self, instance_id: str, runtime: InstanceRuntime, watch: _Watch) -> None:
        now = time.monotonic()
        runtime.poll_booted()
        if runtime.fstab_changed():
            self._sync(instance_id)
        box = runtime.sandbox
        if box is None:
            return
        if now >= watch.next_ports:
            forwarder = self._forwarders.get(instance_id)
            if forwarder is not None:
                forwarder.update(listening_ports(box.pid, runtime.private_ip))
            young = now - watch.started < 30
            watch.next_ports = now + (_TICK if young else 2.0)
        if now >= watch.next_quota:
            started = time.monotonic()
            self._check_sizes(instance_id, runtime)
            watch.quota_cost = time.monotonic() - started
            watch.next_quota = now + max(1.0, 20 * watch.quota_cost)

    def _check_sizes(self, instance_id: str, runtime: InstanceRuntime) -> None:
        record = self.records.get(instance_id)
        info = self.catalog.instance(instance_id)
        box = runtime.sandbox
        if record is None or info is None or box is None:
            return
        mounts = runtime.mounts()
        where = {vid or record.root_volume_id: (mp, ro) for mp, (vid, ro) in mounts.items()}
        for volume_id in info.devices.values():
            size = self.catalog.volume_size(volume_id)
            path = self.store.volume_path(volume_id)
            mount_point, read_only = where.get(volume_id, (None, True))
            if size is None or path is None or mount_point is None or read_only:
                continue
            used = tree_usage(path)
            if used <= size * quota.GIB:
                continue
            quota.stop_writers(quota.writers(box.pid, quota.volume_files(path)))
            for _ in range(5):
                if box.run(["mount", "-o", "remount,ro,bind", mount_point]).returncode == 0:
                    break
                time.sleep(0.05)
            runtime.console(
                f"volume {volume_id} holds {used} bytes, more than its {size} GiB: {mount_point} is now "
                "read-only (mount -o remount,rw,bind to clean up)"
            )
