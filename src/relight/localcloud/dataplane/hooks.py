"""The seam between the emulator (moto) and the data plane: every patch, in one place.

moto keeps metadata only. :func:`install` wraps the model methods below (once per process;
after the strictness patches, so a call AWS would refuse never reaches the data plane). Each
wrapper calls moto's method, then tells the active :class:`DataPlane` (none: metadata only, as
before) what happened, with ids:

=============================================  ==============================================
moto method                                     data plane
=============================================  ==============================================
``InstanceBackend.run_instances``               seed each root volume from its image (adding
                                                the root volume the emulator leaves out when
                                                only data volumes are mapped), boot
``Instance.start`` / ``stop`` / ``reboot``      boot / kill every process / both
``Instance.terminate``                          kill first; after moto detached and deleted
                                                the volumes, forget the instance
``EBSBackend.create_volume``                    copy the snapshot's content
``EBSBackend.delete_volume``                    content to the trash (purged once durable)
``EBSBackend.attach_volume`` / ``detach_volume`` move the volume in or out of the instance,
                                                mount or unmount it per ``/etc/fstab``
``EBSBackend.create_snapshot`` / ``copy_snapshot`` / ``delete_snapshot``  copy / copy / trash
``AmiBackend.create_image`` / ``copy_image``    the root filesystem becomes the image's snapshot
``General.get_console_output``                  the instance's console log
``SimpleSystemManagerBackend.send_command``     run ``AWS-RunShellScript`` in the instances
``Command._get_instance_ids_from_targets``      no ``Targets``: no extra instances (moto sent
                                                the command to every instance it knew)
=============================================  ==============================================

A copy that fails (disk full) undoes moto's new object and answers with an API error, so the
caller never holds an id whose content is missing.
"""

from __future__ import annotations

import base64
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from relight.localcloud.dataplane.plane import DataPlane, InstanceInfo
from relight.localcloud.dataplane.ssm import DOCUMENT, parse_parameters
from relight.localcloud.dataplane.store import StoreError
from relight.localcloud.locks import EmulatorLock

__all__ = ["MotoCatalog", "activate", "active", "fail_unfinished_commands", "install"]

log = logging.getLogger("relight.localcloud")
_installed = False
_install_lock = threading.Lock()
_active: DataPlane | None = None
_ROOT_DEVICES = ("/dev/sda1", "/dev/xvda")


def activate(plane: DataPlane | None) -> None:
    """Make ``plane`` the one the hooks drive (None: metadata only)."""
    global _active
    _active = plane


def active() -> DataPlane | None:
    return _active


class MotoCatalog:
    """The data plane's read access to moto's objects (every account and region), each read
    under the emulator lock (moto is not thread-safe; see locks.py)."""

    def __init__(self, emulator: EmulatorLock) -> None:
        self._instances: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._emulator = emulator

    def forget(self) -> None:
        with self._lock:
            self._instances.clear()

    def remember(self, instance: Any) -> None:
        with self._lock:
            self._instances[instance.id] = instance

    def _instance(self, instance_id: str) -> Any:
        with self._lock:
            found = self._instances.get(instance_id)
        if found is not None:
            return found
        for backend in _ec2_backends():
            found = backend.get_instance_by_id(instance_id)
            if found is not None:
                self.remember(found)
                return found
        return None

    def instance(self, instance_id: str) -> InstanceInfo | None:
        with self._emulator.held():
            inst = self._instance(instance_id)
            return None if inst is None else _info(inst)

    def instances(self) -> list[InstanceInfo]:
        with self._emulator.held():
            return [_info(i) for b in _ec2_backends() for r in b.all_reservations() for i in r.instances]

    def volume_size(self, volume_id: str) -> int | None:
        with self._emulator.held():
            for backend in _ec2_backends():
                volume = backend.volumes.get(volume_id)
                if volume is not None:
                    return int(volume.size)
        return None

    def image_snapshot(self, image_id: str) -> str | None:
        with self._emulator.held():
            for backend in _ec2_backends():
                ami = backend.amis.get(image_id)
                if ami is not None:
                    return str(ami.ebs_snapshot.id)
        return None

    def object_ids(self) -> tuple[set[str], set[str], set[str]]:
        volumes: set[str] = set()
        snapshots: set[str] = set()
        instances: set[str] = set()
        with self._emulator.held():
            for backend in _ec2_backends():
                volumes |= set(backend.volumes)
                snapshots |= set(backend.snapshots)
                instances |= {i.id for r in backend.all_reservations() for i in r.instances if i.state != "terminated"}
        return volumes, snapshots, instances


def _ec2_backends() -> list[Any]:
    from moto.ec2.models import ec2_backends

    return [b for _, _, b in ec2_backends.iter_backends()]


def _info(inst: Any) -> InstanceInfo:
    user_data = None
    if inst.user_data is not None:
        user_data = base64.b64decode(inst.user_data.as_bytes())
    devices = {d: str(b.volume_id) for d, b in inst.get_block_device_mapping if b.volume_id}
    return InstanceInfo(
        inst.id, str(inst.state), str(inst.image_id), inst.private_ip, user_data, devices, inst.region_name,
        _public_key(inst),
    )  # fmt: skip


def _public_key(inst: Any) -> str | None:
    """The OpenSSH public key of the key pair the instance was launched with (cloud-init's input)."""
    name = getattr(inst, "key_name", None)
    pair = getattr(getattr(inst, "ec2_backend", None), "key_pairs", {}).get(name) if name else None
    return None if pair is None else str(pair.public_key)


def _root_volume(backend: Any, inst: Any) -> str | None:
    ami = backend.amis.get(inst.image_id)
    names = ([ami.root_device_name] if ami is not None else []) + list(_ROOT_DEVICES)
    mapping = dict(inst.get_block_device_mapping)
    for name in names:
        if name in mapping:
            return str(mapping[name].volume_id)
    return None


def _after(cls: type, name: str, then: Callable[..., None]) -> None:
    """Wrap ``cls.name``: call moto's method, then ``then(self, result, *args, **kwargs)``."""
    original = getattr(cls, name)

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if _active is not None:
            then(self, result, *args, **kwargs)
        return result

    setattr(cls, name, wrapper)


def _store_failed(what: str, exc: StoreError) -> Exception:
    from moto.ec2.exceptions import EC2ClientError

    log.error("%s: %s", what, exc)
    return EC2ClientError("InsufficientStorage", f"The local cloud could not store the data of {what}: {exc}")


def install() -> None:
    """Apply the patches (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _install_instances()
        _install_volumes()
        _install_images()
        _install_ssm()
        _installed = True


def _plane() -> DataPlane:
    assert _active is not None
    return _active


def _install_instances() -> None:
    from moto.ec2.models.instances import Instance, InstanceBackend
    from moto.ec2.responses.general import General

    def launched(backend: Any, reservation: Any, *args: Any, **kwargs: Any) -> None:
        for inst in reservation.instances:
            if _root_volume(backend, inst) is None:
                # Given BlockDeviceMappings for data volumes only, the emulator makes no root
                # volume at all; AWS always adds the image's root device.
                inst.setup_defaults()
            try:
                _plane().instance_launched(inst.id, _root_volume(backend, inst))
            except StoreError as exc:
                for dead in reservation.instances:
                    dead.terminate()
                raise _store_failed(f"a new instance from {inst.image_id}", exc) from exc

    _after(InstanceBackend, "run_instances", launched)

    def lifecycle(name: str, action: Callable[[DataPlane, str], None], was: tuple[str, ...]) -> None:
        original = getattr(Instance, name)

        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            before = self.state
            result = original(self, *args, **kwargs)
            plane = _active
            if plane is not None and before in was:
                action(plane, self.id)
            return result

        setattr(Instance, name, wrapper)

    lifecycle("start", DataPlane.instance_started, ("stopped", "stopping"))
    lifecycle("stop", DataPlane.instance_stopped, ("pending", "running"))
    lifecycle("reboot", DataPlane.instance_rebooted, ("pending", "running"))

    original_terminate = Instance.terminate

    @functools.wraps(original_terminate)
    def terminate(self: Any) -> Any:
        plane = _active
        if plane is None or self.state == "terminated":
            return original_terminate(self)
        plane.instance_stopped(self.id)  # kill its processes before its volumes go
        result = original_terminate(self)
        plane.instance_terminated(self.id)
        return result

    setattr(Instance, "terminate", terminate)  # noqa: B010 - patching the emulator on purpose

    original_console = General.get_console_output

    @functools.wraps(original_console)
    def console(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.core.types import Base64EncodedString
        from moto.core.utils import utcnow

        plane = _active
        if plane is None:
            return original_console(self)
        inst = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        text = plane.console_output(inst.id)
        return ActionResult(
            {"InstanceId": inst.id, "Timestamp": utcnow(), "Output": Base64EncodedString.from_raw_string(text)}
        )

    setattr(General, "get_console_output", console)  # noqa: B010


def _install_volumes() -> None:
    from moto.ec2.models.elastic_block_store import EBSBackend

    def created(backend: Any, volume: Any, size: int, zone_name: str, snapshot_id: str | None = None,
                **kw: Any) -> None:  # fmt: skip
        try:
            _plane().volume_created(volume.id, snapshot_id)
        except StoreError as exc:
            backend.volumes.pop(volume.id, None)
            raise _store_failed(f"a volume from {snapshot_id}", exc) from exc

    def attached(backend: Any, attachment: Any, volume_id: str, instance_id: str, *args: Any, **kw: Any) -> None:
        if attachment is not None:
            _plane().volume_attached(volume_id, instance_id)

    def detached(backend: Any, attachment: Any, volume_id: str, *args: Any, **kw: Any) -> None:
        _plane().volume_detached(volume_id, attachment.instance.id)

    def snapshotted(backend: Any, snapshot: Any, volume_id: str, *args: Any, **kw: Any) -> None:
        if snapshot.from_ami:
            return  # an image's own snapshot: its content is the image's (see the image hooks)
        try:
            _plane().snapshot_created(snapshot.id, volume_id)
        except StoreError as exc:
            backend.snapshots.pop(snapshot.id, None)
            raise _store_failed(f"a snapshot of {volume_id}", exc) from exc

    def copied(backend: Any, snapshot: Any, source_snapshot_id: str, *args: Any, **kw: Any) -> None:
        try:
            _plane().snapshot_copied(snapshot.id, source_snapshot_id)
        except StoreError as exc:
            backend.snapshots.pop(snapshot.id, None)
            raise _store_failed(f"a copy of {source_snapshot_id}", exc) from exc

    _after(EBSBackend, "create_volume", created)
    _after(EBSBackend, "delete_volume", lambda b, v, volume_id: _plane().volume_deleted(volume_id))
    _after(EBSBackend, "attach_volume", attached)
    _after(EBSBackend, "detach_volume", detached)
    _after(EBSBackend, "create_snapshot", snapshotted)
    _after(EBSBackend, "copy_snapshot", copied)
    _after(EBSBackend, "delete_snapshot", lambda b, s, snapshot_id: _plane().snapshot_deleted(snapshot_id))


def _install_images() -> None:
    from moto.ec2.models.amis import AmiBackend

    def imaged(backend: Any, ami: Any, instance_id: str, *args: Any, **kw: Any) -> None:
        try:
            _plane().image_created(ami.ebs_snapshot.id, instance_id)
        except StoreError as exc:
            backend.amis.pop(ami.id, None)
            raise _store_failed(f"an image of {instance_id}", exc) from exc

    def image_copied(backend: Any, ami: Any, source_image_id: str, source_region: str, *args: Any,
                     **kw: Any) -> None:  # fmt: skip
        from moto.ec2.models import ec2_backends

        source = ec2_backends[backend.account_id][source_region].amis.get(source_image_id)
        if source is not None:
            _plane().snapshot_copied(ami.ebs_snapshot.id, source.ebs_snapshot.id)

    _after(AmiBackend, "create_image", imaged)
    _after(AmiBackend, "copy_image", image_copied)


def _install_ssm() -> None:
    from moto.ssm.exceptions import InvalidDocument, ValidationException
    from moto.ssm.models import Command, SimpleSystemManagerBackend

    # The emulator sends a command without Targets to every instance it knows, terminated ones
    # included (its target filter is empty, which matches everything).
    original_targets = Command._get_instance_ids_from_targets

    @functools.wraps(original_targets)
    def targets(self: Any) -> list[str]:
        return original_targets(self) if self.targets else []

    setattr(Command, "_get_instance_ids_from_targets", targets)  # noqa: B010

    original = SimpleSystemManagerBackend.send_command

    @functools.wraps(original)
    def send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        plane = _active
        if plane is None:
            return original(self, *args, **kwargs)
        document = kwargs.get("document_name")
        if document != DOCUMENT:
            raise InvalidDocument(f"The local cloud runs the document {DOCUMENT} only, not {document!r}.")
        script = parse_parameters(kwargs.get("parameters") or {})
        if isinstance(script, str):
            raise ValidationException(script)
        command = original(self, *args, **kwargs)
        for instance_id in command.instance_ids:
            info = plane.catalog.instance(instance_id)
            if info is None or info.state not in ("pending", "running"):
                self._commands.remove(command)
                raise _invalid_instance(instance_id, self.account_id)
        plane.run_command(command, command.invocations, script, self.region_name)
        return command

    setattr(SimpleSystemManagerBackend, "send_command", send_command)  # noqa: B010


def fail_unfinished_commands() -> int:
    """After a restart: invocations that were still running when the local cloud stopped are
    ``Failed`` (their processes died with it). Returns how many."""
    from moto.ssm.models import ssm_backends

    failed = 0
    backend: Any
    note = "the local cloud stopped while the command ran\n"
    for _, _, backend in ssm_backends.iter_backends():
        for command in backend._commands:
            for invocation in command.invocations:
                if invocation.get("Status") in ("Pending", "InProgress", "Delayed"):
                    invocation.update(
                        Status="Failed", StatusDetails="Failed", ResponseCode=-1, StandardErrorContent=note
                    )
                    failed += 1
            if command.status in ("Pending", "InProgress"):
                command.status = command.status_details = "Failed"
    return failed


def _invalid_instance(instance_id: str, account: str) -> Exception:
    from moto.ssm.exceptions import SSMException

    return SSMException(
        "InvalidInstanceId",
        f"Instances [[{instance_id}]] not in a valid state for account {account}: it must exist and be running.",
    )
