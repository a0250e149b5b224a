"""Leaving nothing behind: the cleanup stack of a build, and ``relight image gc``.

Every temporary object a build makes (key pair, security group, instance, a half-made image)
carries the build's id as a tag from the call that creates it (``TagSpecifications``), and is
pushed on a :class:`CleanupStack` as soon as its id is known. The stack runs in reverse on
success, failure, Ctrl-C and SIGTERM; every undo is attempted even when an earlier one fails
(the failures are reported, naming what is left). After the stack, the build sweeps its own
tag (:func:`sweep`): an object whose create call was answered while the build was being
stopped, before its id was recorded, is found by its tag and removed too.

A build killed outright (SIGKILL, a power cut) runs nothing; :func:`collect_garbage` (``relight
image gc``) finds objects tagged by builds that are no longer running and removes them. A build
is known to be running while it holds its lock file (an ``flock`` beside the registry, released
by the kernel when the process dies); a build from another host counts as dead once it started
more than ``older_than`` seconds ago.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from relight.images.cloud import BUILD_ID_TAG, BUILD_STATE_TAG, AwsError, CallError, Cloud, tags_of

__all__ = [
    "BUILD_HOST_TAG",
    "BUILD_LOCK_TAG",
    "BUILD_STARTED_TAG",
    "BuildLock",
    "CleanupStack",
    "GcReport",
    "collect_garbage",
    "remove_image",
    "sweep",
]

BUILD_HOST_TAG = "relight:build-host"
BUILD_LOCK_TAG = "relight:build-lock"  # the lock file the running build holds, on its host
BUILD_STARTED_TAG = "relight:build-started"


class CleanupStack:
    """Undo actions, run last-in first-out. :meth:`run` attempts every one and returns the
    failures (what is left behind, for the report)."""

    def __init__(self) -> None:
        self._items: list[tuple[str, Callable[[], None], list[bool]]] = []

    def push(self, what: str, undo: Callable[[], None]) -> Callable[[], None]:
        """Register ``undo``; the returned function disarms it (the object is to be kept)."""
        armed = [True]
        self._items.append((what, undo, armed))

        def disarm() -> None:
            armed[0] = False

        return disarm

    def __len__(self) -> int:
        return sum(1 for _, _, armed in self._items if armed[0])

    def run(self, say: Callable[[str], None]) -> list[str]:
        failures: list[str] = []
        while self._items:
            what, undo, armed = self._items.pop()
            if not armed[0]:
                continue
            say(f"Cleaning up: {what}")
            try:
                undo()
            except (CallError, OSError) as exc:
                failures.append(f"{what}: {exc}")
        return failures


def terminate(cloud: Cloud, instance_id: str, timeout: float = 600.0) -> None:
    """Terminate and wait until it is gone (its security group can then be deleted)."""
    found = cloud.try_call("ec2", "TerminateInstances", ("InvalidInstanceID.NotFound",), InstanceIds=[instance_id])
    if found is None:
        return

    def gone() -> bool | None:
        state = cloud.instance_state(instance_id)
        return True if state in (None, "terminated") else None

    _uncancelable(cloud, lambda: cloud.wait(f"{instance_id} to terminate", gone, timeout))


def delete_security_group(cloud: Cloud, group_id: str, timeout: float = 120.0) -> None:
    """Delete, retrying while AWS still sees it in use (an instance's interface going away)."""

    def attempt() -> bool | None:
        try:
            cloud.try_call("ec2", "DeleteSecurityGroup", ("InvalidGroup.NotFound",), GroupId=group_id)
            return True
        except AwsError as exc:
            if exc.code == "DependencyViolation":
                return None
            raise

    _uncancelable(cloud, lambda: cloud.wait(f"{group_id} to be free", attempt, timeout))


def delete_key_pair(cloud: Cloud, name: str) -> None:
    cloud.try_call("ec2", "DeleteKeyPair", ("InvalidKeyPair.NotFound",), KeyName=name)


def remove_image(cloud: Cloud, image_id: str, delete_snapshots: bool = True) -> list[str]:
    """Deregister ``image_id`` and delete the snapshots it was made of; the snapshot ids."""
    out = cloud.try_call(
        "ec2", "DescribeImages", ("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"), ImageIds=[image_id]
    )
    images = (out or {}).get("Images", [])
    snapshots = [
        str(m["Ebs"]["SnapshotId"])
        for i in images
        for m in i.get("BlockDeviceMappings", [])
        if m.get("Ebs", {}).get("SnapshotId")
    ]
    if images:
        cloud.try_call(
            "ec2", "DeregisterImage", ("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"), ImageId=image_id
        )
    if delete_snapshots:
        for snap in snapshots:
            cloud.try_call("ec2", "DeleteSnapshot", ("InvalidSnapshot.NotFound",), SnapshotId=snap)
    return snapshots


def delete_volume(cloud: Cloud, volume_id: str) -> None:
    cloud.try_call("ec2", "DeleteVolume", ("InvalidVolume.NotFound",), VolumeId=volume_id)


def _uncancelable(cloud: Cloud, fn: Callable[[], object]) -> None:
    """Cleanup waits must finish even while a cancel is set (the cancel is why we clean up)."""
    saved = cloud.cancel
    cloud.cancel = type(saved)()
    try:
        fn()
    finally:
        cloud.cancel = saved


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    kept_running: list[str] = field(default_factory=list)  # build ids still running
    failures: list[str] = field(default_factory=list)


def sweep(cloud: Cloud, build_id: str, report: GcReport | None = None) -> GcReport:
    """Remove every object tagged with ``build_id`` that a finished build would not keep:
    instances, security groups, key pairs, images still ``pending`` (with their snapshots) and
    volumes not in use. A ``complete`` image and its snapshots are the build's result: kept."""
    report = report or GcReport()
    found = cloud.tagged(BUILD_ID_TAG, build_id)
    steps: list[tuple[str, Callable[[Cloud, str], object], str]] = []
    steps += [(f"instance {i}", terminate, i) for i in found["instances"]]
    steps += [(f"security group {g}", delete_security_group, g) for g in found["security_groups"]]
    steps += [(f"key pair {k}", delete_key_pair, k) for k in found["key_pairs"]]
    for image_id in found["images"]:
        if _image_state_tag(cloud, image_id) != "complete":
            steps.append((f"unfinished image {image_id}", remove_image, image_id))
    steps += [(f"volume {v}", delete_volume, v) for v in _available_volumes(cloud, found["volumes"])]
    for what, step, ident in steps:
        try:
            step(cloud, ident)
            report.removed.append(what)
        except (CallError, OSError) as exc:
            report.failures.append(f"{what}: {exc}")
    return report


def _image_state_tag(cloud: Cloud, image_id: str) -> str:
    out = cloud.try_call("ec2", "DescribeImages", ("InvalidAMIID.NotFound",), ImageIds=[image_id])
    for image in (out or {}).get("Images", []):
        return tags_of(image).get(BUILD_STATE_TAG, "")
    return "gone"


def _available_volumes(cloud: Cloud, volume_ids: list[str]) -> list[str]:
    if not volume_ids:
        return []
    out = cloud.call("ec2", "DescribeVolumes", VolumeIds=volume_ids)
    return [v["VolumeId"] for v in out.get("Volumes", []) if v.get("State") == "available"]


def collect_garbage(cloud: Cloud, locks_dir: str, older_than: float = 6 * 3600, dry_run: bool = False) -> GcReport:
    """``relight image gc``: sweep every build id found on tagged objects whose build is not
    running (see the module docstring). With ``dry_run`` only the report's ``removed`` lists
    what would go (nothing is touched)."""
    report = GcReport()
    found = cloud.tagged(BUILD_ID_TAG)
    ids: dict[str, dict[str, str]] = {}
    for kind, items in found.items():
        for item in items:
            tags = _tags_for(cloud, kind, item)
            build = tags.get(BUILD_ID_TAG)
            if build:
                ids.setdefault(build, tags)
    for build_id, tags in sorted(ids.items()):
        if _alive(build_id, tags, locks_dir, older_than):
            report.kept_running.append(build_id)
            continue
        if dry_run:
            report.removed.append(f"build {build_id}")
            continue
        sweep(cloud, build_id, report)
    return report


def _tags_for(cloud: Cloud, kind: str, item: str) -> dict[str, str]:
    if kind == "instances":
        inst = cloud.instance(item)
        return tags_of(inst or {})
    if kind == "security_groups":
        out = cloud.call("ec2", "DescribeSecurityGroups", GroupIds=[item]).get("SecurityGroups", [])
    elif kind == "key_pairs":
        out = cloud.call("ec2", "DescribeKeyPairs", KeyNames=[item]).get("KeyPairs", [])
    elif kind == "images":
        out = cloud.call("ec2", "DescribeImages", ImageIds=[item]).get("Images", [])
    elif kind == "snapshots":
        out = cloud.call("ec2", "DescribeSnapshots", SnapshotIds=[item]).get("Snapshots", [])
    else:
        out = cloud.call("ec2", "DescribeVolumes", VolumeIds=[item]).get("Volumes", [])
    return tags_of(out[0]) if out else {}


def _alive(build_id: str, tags: dict[str, str], locks_dir: str, older_than: float) -> bool:
    if tags.get(BUILD_HOST_TAG) == socket.gethostname():
        lock = tags.get(BUILD_LOCK_TAG)  # where the build holds its lock, whatever registry gc reads
        if lock:
            return BuildLock.path_held(lock)
        return BuildLock.held_by_someone(locks_dir, build_id)
    try:
        started = float(tags.get(BUILD_STARTED_TAG, "0"))
    except ValueError:
        started = 0.0
    return time.time() - started < older_than


class BuildLock:
    """The lock file a running build holds (``LOCKS/<build id>.lock``, an flock)."""

    def __init__(self, locks_dir: str, build_id: str) -> None:
        self.path = os.path.join(locks_dir, f"{build_id}.lock")
        self._fd: int | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(fd)

    @staticmethod
    def held_by_someone(locks_dir: str, build_id: str) -> bool:
        return BuildLock.path_held(os.path.join(locks_dir, f"{build_id}.lock"))

    @staticmethod
    def path_held(path: str) -> bool:
        """True while a build holds the lock file at ``path`` (gone or free: the build ended)."""
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False
