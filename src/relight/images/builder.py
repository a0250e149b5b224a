"""Building an image from one amazon-ebs build, in amazon-ebs's order, leaving nothing behind.

The steps, as Packer's amazon-ebs builder takes them (each a named :class:`BuildStep` event):

1. ``source-image``   ``source_ami``, or DescribeImages with ``source_ami_filter``
2. ``up-to-date``     an image with this build's digest (template, variables, source image)
                      exists: nothing is built, unless ``-force`` (relight's addition)
3. ``check-name``     DescribeImages: the AMI name is free (or ``force_deregister``)
4. ``key-pair``       CreateKeyPair (SSH only, unless the template names its own key)
5. ``security-group`` CreateSecurityGroup (+ ingress on the SSH port for SSH)
6. ``launch``         RunInstances (tagged), then wait until running
7. ``connect``        SSM: the agent answers; SSH: a session opens
8. ``provision``      each provisioner in order
9. ``stop``           StopInstances, wait until stopped
10. ``deregister``    with ``force_deregister``: the old image with this name (+ snapshots)
11. ``create-image``  CreateImage, wait until available
12. ``tag``           CreateTags on the image and its snapshots, then ``build-state = complete``
13. ``cleanup``       the cleanup stack in reverse: terminate, delete group, delete key pair

Contract: :func:`build` always returns a :class:`BuildResult`. On success the image is kept and
tagged ``relight:build-state = complete``; on any failure or cancel (``cancel`` set by Ctrl-C or
SIGTERM in the shell) every temporary object, and a half-made image, is removed before it
returns; ``left_behind`` names anything whose removal failed (``relight image gc`` retries).
With ``on_error = "abort"`` a failed build keeps its objects for inspection (gc removes them).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from relight.images.cleanup import (
    BUILD_HOST_TAG,
    BUILD_LOCK_TAG,
    BUILD_STARTED_TAG,
    BuildLock,
    CleanupStack,
    delete_key_pair,
    delete_security_group,
    remove_image,
    sweep,
    terminate,
)
from relight.images.cloud import (
    BUILD_ID_TAG,
    BUILD_NAME_TAG,
    BUILD_STATE_TAG,
    CHANNEL_TAG_PREFIX,
    DIGEST_TAG,
    IMAGE_NAME_TAG,
    REVOKED_TAG,
    SOURCE_IMAGE_TAG,
    CallError,
    Canceled,
    Cloud,
    tag_list,
    tags_of,
)
from relight.images.communicators import Communicator, SshCommunicator, SsmCommunicator
from relight.images.events import BuildArtifact, BuildFinished, BuildOutput, BuildStarted, BuildStep
from relight.images.provisioners import FileProvisioner, ShellProvisioner
from relight.images.registry import ImageRecord, ImageRegistry
from relight.images.template import BuildSpec
from relight.runs import EventSink

__all__ = ["STEPS", "BuildOptions", "BuildResult", "build"]

STEPS = (
    "source-image", "up-to-date", "check-name", "key-pair", "security-group", "launch", "connect",
    "provision", "stop", "deregister", "create-image", "tag", "cleanup",
)  # fmt: skip


@dataclass(frozen=True)
class BuildOptions:
    """``force``: build even when an image with the digest exists. ``on_error``: ``cleanup``
    (Packer's default) or ``abort`` (keep the objects of a failed build). ``step_hook`` is told
    each step as it starts (tests stop or kill a build there)."""

    force: bool = False
    on_error: str = "cleanup"
    run_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    git_commit: str = ""
    template: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    step_hook: Callable[[str, str], None] | None = None


@dataclass
class BuildResult:
    name: str
    build_id: str
    status: str = "failed"  # built | up-to-date | failed | canceled
    image_id: str = ""
    region: str = ""
    source_image: str = ""
    digest: str = ""
    error: str = ""
    left_behind: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cloud_seconds: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    sequence: list[str] = field(default_factory=list)
    log_path: str = ""
    ami_name: str = ""

    @property
    def artifact_id(self) -> str:
        return f"{self.region}:{self.image_id}" if self.image_id else ""

    @property
    def ok(self) -> bool:
        return self.status in ("built", "up-to-date")


class _Build:
    """The working set of one build: its cloud, its stack, its log."""

    def __init__(self, spec: BuildSpec, cloud: Cloud, options: BuildOptions, sink: EventSink) -> None:
        self.spec = spec
        self.src = spec.source
        self.cloud = cloud
        self.options = options
        self.sink = sink
        self.log: Any = None  # the open build log
        self.stack = CleanupStack()
        self.result = BuildResult(spec.name, uuid.uuid4().hex[:16], region=cloud.region)
        self.instance_id = ""
        self.key_pem = ""
        self.key_name = ""
        self.keep_image: Callable[[], None] = lambda: None  # disarms the half-made image's removal
        self.lock_path = ""  # the build's lock file: gc on this host asks it whether the build runs

    @property
    def build_tags(self) -> dict[str, str]:
        return {
            BUILD_ID_TAG: self.result.build_id,
            BUILD_NAME_TAG: self.spec.name,
            BUILD_HOST_TAG: socket.gethostname(),
            BUILD_STARTED_TAG: str(int(time.time())),
            **({BUILD_LOCK_TAG: self.lock_path} if self.lock_path else {}),
        }

    def say(self, line: str) -> None:
        self.log.write(line + "\n")
        self.log.flush()

    def step(self, name: str, message: str) -> None:
        self.cloud.check_cancel()
        self.say(f"==> {self.spec.name}: {message}")
        self.sink.emit(BuildStep(self.spec.name, name, message))
        if self.options.step_hook is not None:
            self.options.step_hook(self.spec.name, name)
        self.cloud.check_cancel()

    def output(self, line: str) -> None:
        self.say(f"    {self.spec.name}: {line}")
        self.sink.emit(BuildOutput(self.spec.name, line))


def build(
    spec: BuildSpec,
    environment: dict[str, str],
    registry: ImageRegistry,
    sink: EventSink,
    options: BuildOptions | None = None,
    cancel: Any = None,
) -> BuildResult:
    """Build ``spec``; see the module docstring for the contract."""
    options = options or BuildOptions()
    started = time.monotonic()
    try:
        cloud = Cloud(environment, spec.source.region, cancel)
    except CallError as exc:
        return BuildResult(spec.name, "", error=str(exc))
    b = _Build(spec, cloud, options, sink)
    b.result.log_path = registry.log_path(b.result.build_id)
    lock = BuildLock(registry.locks, b.result.build_id)
    b.lock_path = os.path.abspath(lock.path)
    try:
        os.makedirs(registry.logs, exist_ok=True)
        log = open(b.result.log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as exc:
        b.result.error = f"cannot write the build's log in the registry ({exc}); nothing was made in the cloud"
        return b.result
    with log, lock.held():
        b.log = log
        sink.emit(BuildStarted(spec.name, b.result.build_id))
        _run(b)
    result = b.result
    result.seconds = time.monotonic() - started
    result.cloud_seconds = min(cloud.clock.snapshot()[0], result.seconds)
    result.calls = dict(cloud.calls)
    result.sequence = list(cloud.sequence)
    if result.status == "built":
        _record(result, spec, options, registry)
    sink.emit(
        BuildFinished(
            spec.name, result.status, result.seconds, result.cloud_seconds, sum(result.calls.values()), result.error
        )
    )
    return result


def _run(b: _Build) -> None:
    try:
        _steps(b)
    except Canceled:
        b.result.status = "canceled"
        b.result.error = "The build was canceled."
        b.say(f"==> {b.spec.name}: Build was canceled; cleaning up.")
    except CallError as exc:
        b.result.status = "failed"
        b.result.error = str(exc)
        b.say(f"==> {b.spec.name}: Error: {exc}")
    except Exception as exc:  # a communicator's own error (SSH, a dropped session...): still clean up
        b.result.status = "failed"
        b.result.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        b.say(f"==> {b.spec.name}: Error: {b.result.error}")
    keep = b.result.status == "failed" and b.options.on_error == "abort"
    if keep:
        b.say(
            f"==> {b.spec.name}: -on-error=abort: the build's objects are left for inspection "
            "(relight image gc removes them)."
        )
        return
    b.sink.emit(BuildStep(b.spec.name, "cleanup", "Cleaning up"))
    if b.options.step_hook is not None and b.result.status != "canceled":
        b.options.step_hook(b.spec.name, "cleanup")
    failures = b.stack.run(lambda line: b.say(f"==> {b.spec.name}: {line}"))
    report = _sweep_quietly(b)
    b.result.left_behind = failures + report
    for item in b.result.left_behind:
        b.say(f"==> {b.spec.name}: could not remove {item}; run `relight image gc` to retry.")


def _sweep_quietly(b: _Build) -> list[str]:
    import threading

    saved = b.cloud.cancel
    b.cloud.cancel = threading.Event()
    try:
        report = sweep(b.cloud, b.result.build_id)
    except CallError as exc:
        return [f"the sweep of build {b.result.build_id}: {exc}"]
    finally:
        b.cloud.cancel = saved
    for removed in report.removed:
        b.say(f"==> {b.spec.name}: removed {removed} (found by its build tag)")
    return report.failures


def _steps(b: _Build) -> None:
    src = b.src
    b.step("source-image", "Finding the source image")
    source_image = _source_image(b)
    b.result.source_image = source_image
    b.result.digest = _digest(b.spec.digest, source_image)
    b.result.ami_name = src.ami_name
    b.output(f"Found Image ID: {source_image}")
    b.step("up-to-date", "Looking for an image with this build's digest")
    same = _image_with_digest(b.cloud, b.result.digest)
    if same and not b.options.force:
        b.result.image_id, b.result.status = same, "up-to-date"
        b.output(f"{same} was built from the same template, variables and source image; not rebuilding (use -force).")
        b.sink.emit(BuildArtifact(b.spec.name, b.result.artifact_id, same, True))
        return
    b.step("check-name", f"Prevalidating AMI Name: {src.ami_name}")
    existing = _images_named(b.cloud, src.ami_name)
    if existing and not src.force_deregister:
        raise CallError(
            f"AMI Name: '{src.ami_name}' is used by an existing AMI: {existing[0]}",
            "Set force_deregister = true to replace it.",
        )
    in_channels = _channels_of(b.cloud, existing)
    if in_channels:
        image, channels = in_channels
        raise CallError(
            f"AMI Name: '{src.ami_name}' is used by {image}, the image of channel {', '.join(channels)}",
            "force_deregister would remove the image configurations run (and heal re-creates from). Give the "
            "build a new ami_name (e.g. with the version or a timestamp), or promote another image to the "
            "channel first.",
        )
    if src.communicator == "ssh" and not src.ssh_private_key_file:
        b.step("key-pair", "Creating temporary keypair")
        _key_pair(b)
    groups = list(src.security_group_ids)
    if not groups:
        b.step("security-group", "Creating temporary security group for this instance")
        groups = [_security_group(b)]
    b.step("launch", "Launching a source AWS instance")
    _launch(b, source_image, groups)
    b.step("connect", f"Waiting for the instance to accept commands ({src.communicator})")
    comm = _communicator(b)
    try:
        b.step("provision", "Provisioning")
        _provision(b, comm)
    finally:
        comm.close()
    if src.skip_create_ami:
        b.output("skip_create_ami: no image is made.")
        b.result.status = "built"
        return
    b.step("stop", "Stopping the source instance")
    b.cloud.call("ec2", "StopInstances", InstanceIds=[b.instance_id])
    b.cloud.wait(
        f"{b.instance_id} to stop", lambda: True if b.cloud.instance_state(b.instance_id) == "stopped" else None, 1800
    )
    if existing:
        b.step("deregister", f"Deregistering the AMI named {src.ami_name}: {', '.join(existing)}")
        for image_id in existing:
            remove_image(b.cloud, image_id, delete_snapshots=src.force_delete_snapshot)
    b.step("create-image", f"Creating AMI {src.ami_name} from instance {b.instance_id}")
    _create_image(b)
    b.step("tag", "Adding tags to AMI and its snapshots")
    _tag_image(b)
    b.result.status = "built"
    b.sink.emit(BuildArtifact(b.spec.name, b.result.artifact_id, b.result.image_id, False))


def _digest(template_digest: str, source_image: str) -> str:
    import hashlib

    return hashlib.sha256(f"{template_digest}\0{source_image}".encode()).hexdigest()


def _channels_of(cloud: Cloud, image_ids: list[str]) -> tuple[str, list[str]] | None:
    """The first of ``image_ids`` a registry channel points at, with its channels (None: none)."""
    if not image_ids:
        return None
    out = cloud.call("ec2", "DescribeImages", ImageIds=image_ids)
    for image in out.get("Images", []):
        tags = tags_of(image)
        channels = sorted(k.removeprefix(CHANNEL_TAG_PREFIX) for k in tags if k.startswith(CHANNEL_TAG_PREFIX))
        if channels:
            return str(image["ImageId"]), channels
    return None


def _images_named(cloud: Cloud, name: str) -> list[str]:
    out = cloud.call("ec2", "DescribeImages", Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])
    return [str(i["ImageId"]) for i in out.get("Images", [])]


def _image_with_digest(cloud: Cloud, digest: str) -> str | None:
    out = cloud.call(
        "ec2", "DescribeImages", Owners=["self"],
        Filters=[{"Name": f"tag:{DIGEST_TAG}", "Values": [digest]}, {"Name": "state", "Values": ["available"]}],
    )  # fmt: skip
    found = [
        i
        for i in out.get("Images", [])
        if tags_of(i).get(BUILD_STATE_TAG) == "complete" and REVOKED_TAG not in tags_of(i)
    ]
    found.sort(key=lambda i: str(i.get("CreationDate", "")), reverse=True)
    return str(found[0]["ImageId"]) if found else None


def _source_image(b: _Build) -> str:
    src = b.src
    if src.source_ami:
        out = b.cloud.try_call(
            "ec2", "DescribeImages", ("InvalidAMIID.NotFound", "InvalidAMIID.Malformed"), ImageIds=[src.source_ami]
        )
        if not (out or {}).get("Images"):
            raise CallError(f"The source image {src.source_ami} does not exist", "Check source_ami and the region.")
        return src.source_ami
    filt = src.source_ami_filter
    assert filt is not None
    filters = [{"Name": k, "Values": [v]} for k, v in sorted(filt.filters.items())]
    images = b.cloud.call("ec2", "DescribeImages", Owners=list(filt.owners), Filters=filters).get("Images", [])
    if not images:
        raise CallError(
            "No AMI was found matching the source_ami_filter",
            f"filters {dict(filt.filters)}, owners {list(filt.owners)}.",
        )
    if len(images) > 1 and not filt.most_recent:
        raise CallError(
            "Your query returned more than one result", "Set most_recent = true in source_ami_filter, or filter more."
        )
    images.sort(key=lambda i: (str(i.get("CreationDate", "")), str(i["ImageId"])), reverse=True)
    return str(images[0]["ImageId"])


def _key_pair(b: _Build) -> None:
    name = b.src.ssh_keypair_name or f"packer_{b.result.build_id}"
    out = b.cloud.call(
        "ec2", "CreateKeyPair", KeyName=name, KeyType=b.src.temporary_key_pair_type,
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": tag_list(b.build_tags)}],
    )  # fmt: skip
    b.key_name, b.key_pem = name, str(out["KeyMaterial"])
    b.stack.push(f"key pair {name}", lambda: delete_key_pair(b.cloud, name))


def _vpc(b: _Build) -> str:
    if b.src.subnet_id:
        subnets = b.cloud.call("ec2", "DescribeSubnets", SubnetIds=[b.src.subnet_id]).get("Subnets", [])
        if not subnets:
            raise CallError(f"The subnet {b.src.subnet_id} does not exist")
        return str(subnets[0]["VpcId"])
    if b.src.vpc_id:
        return b.src.vpc_id
    vpcs = b.cloud.call("ec2", "DescribeVpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}]).get("Vpcs", [])
    if not vpcs:
        raise CallError("No default VPC in this region", "Set subnet_id (or vpc_id) in the source block.")
    return str(vpcs[0]["VpcId"])


def _security_group(b: _Build) -> str:
    name = f"packer_{b.result.build_id}"
    out = b.cloud.call(
        "ec2", "CreateSecurityGroup", GroupName=name, VpcId=_vpc(b),
        Description="Temporary group for a relight image build",
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(b.build_tags)}],
    )  # fmt: skip
    group = str(out["GroupId"])
    b.stack.push(f"security group {group}", lambda: delete_security_group(b.cloud, group))
    if b.src.communicator == "ssh":
        ranges = [{"CidrIp": c} for c in b.src.temporary_security_group_source_cidrs]
        b.cloud.call(
            "ec2", "AuthorizeSecurityGroupIngress", GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": b.src.ssh_port, "ToPort": b.src.ssh_port, "IpRanges": ranges}
            ],
        )  # fmt: skip
    return group


def _launch(b: _Build, image: str, groups: list[str]) -> None:
    src = b.src
    params: dict[str, Any] = {
        "ImageId": image, "InstanceType": src.instance_type, "MinCount": 1, "MaxCount": 1,
        "SecurityGroupIds": groups, "InstanceInitiatedShutdownBehavior": src.shutdown_behavior,
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tag_list({**src.run_tags, **b.build_tags})},
            {"ResourceType": "volume", "Tags": tag_list({**src.run_volume_tags, **b.build_tags})},
        ],
    }  # fmt: skip
    optional = {
        "KeyName": b.key_name or src.ssh_keypair_name or None, "SubnetId": src.subnet_id, "UserData": src.user_data,
        "IamInstanceProfile": {"Name": src.iam_instance_profile} if src.iam_instance_profile else None,
        "EbsOptimized": src.ebs_optimized or None,
        "Placement": {"AvailabilityZone": src.availability_zone} if src.availability_zone else None,
        "BlockDeviceMappings": [d.to_aws() for d in src.launch_block_device_mappings] or None,
    }  # fmt: skip
    params.update({k: v for k, v in optional.items() if v is not None})
    out = b.cloud.call("ec2", "RunInstances", **params)
    b.instance_id = str(out["Instances"][0]["InstanceId"])
    b.stack.push(f"instance {b.instance_id}", lambda: terminate(b.cloud, b.instance_id))
    b.output(f"Instance ID: {b.instance_id}")

    def running() -> bool | None:
        state = b.cloud.instance_state(b.instance_id)
        if state in ("terminated", "shutting-down", None):
            raise CallError(f"The instance {b.instance_id} went away while starting ({state})")
        return True if state == "running" else None

    b.cloud.wait(f"{b.instance_id} to be running", running, 1800)


def _communicator(b: _Build) -> Communicator:
    src = b.src
    _pause(b, src.pause_before_connecting)
    comm: Communicator
    if src.communicator == "ssh":
        host, port = _ssh_address(b)
        key = b.key_pem or _read_key(src.ssh_private_key_file or "")
        comm = SshCommunicator(host, port, src.ssh_username or "root", key)
        comm.connect(src.ssh_timeout)
        b.output(f"Connected to SSH at {host}:{port}")
    elif src.communicator == "ssm":
        comm = SsmCommunicator(b.cloud, b.instance_id)
        comm.connect(src.ssm_timeout)
        b.output("The SSM agent answers")
    else:
        comm = _NoCommunicator()
    return comm


def _pause(b: _Build, seconds: float) -> None:
    """Wait ``seconds`` (a Ctrl-C still stops the build at once)."""
    if seconds <= 0:
        return
    until = time.monotonic() + seconds
    b.cloud.wait(
        "the pause", lambda: True if time.monotonic() >= until else None, seconds + 5, interval=min(seconds, 0.5)
    )


def _ssh_address(b: _Build) -> tuple[str, int]:
    local = b.cloud.host_address(b.instance_id)
    if local is not None:
        host, _ports = local

        def port_open() -> tuple[str, int] | None:
            found = b.cloud.host_address(b.instance_id)
            mapped = (found or (host, {}))[1].get(str(b.src.ssh_port))
            if mapped is None:
                return None
            addr, _, port = mapped.rpartition(":")
            return addr, int(port)

        return b.cloud.wait(f"SSH to listen on {b.instance_id}", port_open, b.src.ssh_timeout)
    inst = b.cloud.instance(b.instance_id) or {}
    return str(inst.get("PublicIpAddress") or inst.get("PrivateIpAddress") or ""), b.src.ssh_port


def _read_key(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CallError(f"Cannot read ssh_private_key_file {path}", str(exc)) from None


class _NoCommunicator:
    def connect(self, timeout: float) -> None:
        return None

    def run(self, script: bytes, env: Any, timeout: float, say: Callable[[str], None]) -> int:
        raise CallError('communicator = "none" cannot run provisioners')

    def upload(self, path: str, mode: int, content: bytes) -> None:
        raise CallError('communicator = "none" cannot run provisioners')

    def close(self) -> None:
        return None


def _provision(b: _Build, comm: Communicator) -> None:
    for n, prov in enumerate(b.spec.provisioners, 1):
        b.say(f"==> {b.spec.name}: Provisioning with {prov.describe()} ({n} of {len(b.spec.provisioners)})")
        attempts = 1 + max(0, prov.max_retries)
        for attempt in range(1, attempts + 1):
            _pause(b, prov.pause_before)
            try:
                _one(b, comm, prov)
                break
            except CallError:
                if attempt == attempts:
                    raise
                b.output(f"attempt {attempt} failed; retrying")


def _one(b: _Build, comm: Communicator, prov: ShellProvisioner | FileProvisioner) -> None:
    timeout = prov.timeout or 3600.0
    if isinstance(prov, FileProvisioner):
        for rel, mode, content in prov.files:
            target = prov.destination if not rel else prov.destination.rstrip("/") + "/" + rel
            b.output(f"Uploading {len(content)} bytes to {target}")
            comm.upload(target, mode, content)
        return
    for name, script in prov.scripts_to_run():
        b.output(f"Running {name}")
        code = comm.run(script, prov.environment_vars, timeout, b.output)
        if code not in prov.valid_exit_codes:
            raise CallError(
                f"Script exited with non-zero exit status: {code}",
                f"The {prov.describe()} provisioner at {prov.range.filename}:{prov.range.start.line} failed; "
                f"allowed exit codes: {list(prov.valid_exit_codes)}.",
            )


def _create_image(b: _Build) -> None:
    src = b.src
    tags = {**b.build_tags, BUILD_STATE_TAG: "pending"}
    params: dict[str, Any] = {
        "InstanceId": b.instance_id, "Name": src.ami_name,
        "TagSpecifications": [{"ResourceType": "image", "Tags": tag_list(tags)}],
    }  # fmt: skip
    if src.ami_description:
        params["Description"] = src.ami_description
    if src.ami_block_device_mappings:
        params["BlockDeviceMappings"] = [d.to_aws() for d in src.ami_block_device_mappings]
    out = b.cloud.call("ec2", "CreateImage", **params)
    image_id = str(out["ImageId"])
    b.result.image_id = image_id
    b.keep_image = b.stack.push(f"unfinished image {image_id}", lambda: _drop_image(b.cloud, image_id))
    b.output(f"AMI: {image_id}")

    def available() -> bool | None:
        found = b.cloud.try_call("ec2", "DescribeImages", ("InvalidAMIID.NotFound",), ImageIds=[image_id])
        images = (found or {}).get("Images", [])
        state = images[0].get("State") if images else None
        if state == "failed":
            raise CallError(f"The image {image_id} failed", str(images[0].get("StateReason", {}).get("Message", "")))
        return True if state == "available" else None

    b.cloud.wait(f"{image_id} to become available", available, 3600)


def _drop_image(cloud: Cloud, image_id: str) -> None:
    remove_image(cloud, image_id)


def _tag_image(b: _Build) -> None:
    src, image_id = b.src, b.result.image_id
    image = b.cloud.call("ec2", "DescribeImages", ImageIds=[image_id])["Images"][0]
    snapshots = [
        m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", []) if m.get("Ebs", {}).get("SnapshotId")
    ]
    name = b.spec.build_name or src.name
    image_tags = {
        **src.tags,
        **b.build_tags,
        DIGEST_TAG: b.result.digest,
        IMAGE_NAME_TAG: name,
        SOURCE_IMAGE_TAG: b.result.source_image,
    }
    b.cloud.call("ec2", "CreateTags", Resources=[image_id], Tags=tag_list(image_tags))
    if snapshots:
        b.cloud.call(
            "ec2",
            "CreateTags",
            Resources=snapshots,
            Tags=tag_list({**src.snapshot_tags, **b.build_tags, IMAGE_NAME_TAG: name}),
        )
    # Last: from here on the image is the build's result and never garbage.
    b.cloud.call("ec2", "CreateTags", Resources=[image_id], Tags=tag_list({BUILD_STATE_TAG: "complete"}))
    b.keep_image()


def _record(result: BuildResult, spec: BuildSpec, options: BuildOptions, registry: ImageRegistry) -> None:
    try:
        registry.record(
            ImageRecord(
                image_id=result.image_id, name=spec.build_name or spec.source.name, region=result.region,
                build_id=result.build_id, build_name=spec.name, artifact_id=result.artifact_id,
                digest=result.digest, source_image=result.source_image,
                built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), ami_name=result.ami_name,
                git_commit=options.git_commit, template=options.template, variables=options.variables,
                log=result.log_path, seconds=round(result.seconds, 3), cloud_seconds=round(result.cloud_seconds, 3),
                aws_calls=sum(result.calls.values()),
            )
        )  # fmt: skip
    except OSError as exc:
        result.error = f"the image was built but could not be recorded in the registry: {exc}"
