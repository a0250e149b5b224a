"""``aws_instance``, with Terraform's arguments, defaults and replacement rules.

A fixed ``private_ip`` must survive the node: the replacement instance gets the same address.
So an instance in a subnet is launched with an explicit primary network interface
(``NetworkInterfaces[0]`` with ``DeleteOnTermination``): the interface, and with it the address,
goes away with the instance. Real AWS may hold a terminated instance's address for a short
while, so ``InvalidIPAddress.InUse`` on launch is retried with backoff for up to
``IP_RELEASE_TIMEOUT`` seconds. Replacement is destroy-first (the engine's default); a
create-before-destroy replacement cannot keep a fixed address.

What changes in place, as in Terraform: ``instance_type`` and ``user_data`` (the instance is
stopped, changed and started again, once for both), security groups, ``source_dest_check``,
``iam_instance_profile``, ``monitoring``, ``credit_specification``, ``metadata_options``, tags,
``volume_tags`` and the tags of ``ebs_block_device`` volumes. A new ``ami``, subnet, zone,
address, key, ``tenancy``, ``ebs_optimized``, ``cpu_options``, root or EBS device replaces the
instance, and so does new ``user_data`` when ``user_data_replace_on_change`` is set.

An instance that is ``shutting-down`` or ``terminated`` is gone: reads report it deleted, so the
next plan re-creates it. What the local cloud cannot do (CPU options, dedicated tenancy, credit
specifications, changing monitoring, EBS throughput) is planned and said (see _gaps.py).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from relight.diagnostics import Diagnostics
from relight.providers.aws import _instance_parts as parts
from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import (
    GONE_STATES,
    AwsResource,
    all_tags,
    describe_instance,
    from_tag_list,
    tag_specs,
    update_ec2_tags,
)
from relight.providers.aws._gaps import Gap, changed, gap_warning, keep_gaps, note_gaps, set_to
from relight.providers.base import (
    Attribute,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    FindCreatedRequest,
    ImportRequest,
    ImportResponse,
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    Schema,
    UpdateRequest,
    UpdateResponse,
    schema_plan,
)
from relight.providers.framework import CallError
from relight.values import UNKNOWN, Value, strip_unknown

__all__ = ["INSTANCE_GAPS", "Instance"]

RUNNING_TIMEOUT = 600.0
TERMINATE_TIMEOUT = 600.0
IP_RELEASE_TIMEOUT = 180.0

# max-one blocks: does a configured change replace the instance (else it is made in place)?
_BLOCK_REPLACES = {
    "root_block_device": True,
    "cpu_options": True,
    "credit_specification": False,
    "metadata_options": False,
}


def _monitoring_changes(planned: Mapping[str, Value], prior: Mapping[str, Value] | None) -> bool:
    return (
        prior is not None
        and isinstance(planned.get("monitoring"), bool)
        and planned["monitoring"] != prior.get("monitoring")
    )


def _has_throughput(obj: Mapping[str, Value]) -> bool:
    devices = obj.get("ebs_block_device")
    return isinstance(devices, list) and any(
        isinstance(d, dict) and d.get("throughput") not in (None, 0, UNKNOWN) for d in devices
    )


def _configured(name: str) -> Callable[[Mapping[str, Value]], bool]:
    """A gap's ``holds``: the block ``name`` has a setting with a value."""

    def holds(obj: Mapping[str, Value]) -> bool:
        found = obj.get(name)
        block = found[0] if isinstance(found, list) and found and isinstance(found[0], dict) else {}
        return any(v is not None and v is not UNKNOWN for v in block.values())

    return holds


_holds_tenancy = set_to("tenancy", (None, "default"))
CPU_GAP = Gap(
    "CPU options",
    ("cpu_options",),
    changed(_configured("cpu_options"), "cpu_options"),
    _configured("cpu_options"),
    keep=parts.keep_recorded("cpu_options"),
)
TENANCY_GAP = Gap(
    "dedicated tenancy",
    ("tenancy",),
    changed(_holds_tenancy, "tenancy"),
    _holds_tenancy,
    missing="accepts a tenancy and launches every instance with the default one",
)
CREDIT_GAP = Gap(
    "credit specifications",
    ("credit_specification",),
    changed(_configured("credit_specification"), "credit_specification"),
    _configured("credit_specification"),
    missing="ignores a launch's credit specification and has no ModifyInstanceCreditSpecification call",
    keep=parts.keep_recorded("credit_specification"),
)
MONITORING_GAP = Gap(
    "changing monitoring in place",
    ("monitoring",),
    _monitoring_changes,
    lambda obj: isinstance(obj.get("monitoring"), bool),
    missing="sets monitoring at launch but has no MonitorInstances or UnmonitorInstances call",
)
THROUGHPUT_GAP = Gap(
    "EBS throughput",
    ("ebs_block_device",),
    changed(_has_throughput, "ebs_block_device"),
    _has_throughput,
    keep=parts.keep_throughput,
)
INSTANCE_GAPS = (CPU_GAP, TENANCY_GAP, CREDIT_GAP, MONITORING_GAP, THROUGHPUT_GAP)


class Instance(AwsResource):
    name = "aws_instance"
    terraform = _tfshapes.INSTANCE
    schema = Schema(
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "ami": Attribute("string", required=True, force_new=True),
            "instance_type": Attribute("string", required=True),
            "subnet_id": Attribute("string", optional=True, computed=True, force_new=True),
            "availability_zone": Attribute("string", optional=True, computed=True, force_new=True),
            "vpc_security_group_ids": Attribute("set", element="string", optional=True, computed=True),
            "private_ip": Attribute("string", optional=True, computed=True, force_new=True),
            "associate_public_ip_address": Attribute("bool", optional=True, computed=True, force_new=True),
            "key_name": Attribute("string", optional=True, force_new=True),
            "iam_instance_profile": Attribute("string", optional=True, computed=True),
            "monitoring": Attribute("bool", optional=True, computed=True),
            "ebs_optimized": Attribute("bool", optional=True, computed=True, force_new=True),
            "source_dest_check": Attribute("bool", optional=True, default=True),
            "tenancy": Attribute("string", optional=True, computed=True, force_new=True),
            "user_data": Attribute("string", optional=True),
            "user_data_replace_on_change": Attribute("bool", optional=True, default=False),
            "volume_tags": Attribute("map", element="string", optional=True),
            "tags": Attribute("map", element="string", optional=True),
            "tags_all": Attribute("map", element="string", computed=True),
            "instance_state": Attribute("string", computed=True),
            "public_ip": Attribute("string", computed=True),
            "public_dns": Attribute("string", computed=True),
            "private_dns": Attribute("string", computed=True),
            "primary_network_interface_id": Attribute("string", computed=True),
        },
        blocks=parts.BLOCKS,
    )

    # -- plan ---------------------------------------------------------------------------
    def plan_change(self, req: PlanRequest) -> PlanResponse:
        req = _same_user_data(req)
        resp = schema_plan(self.schema, req)
        planned = resp.planned_state
        if planned is None:
            return resp
        config = req.config or {}
        parts.check_arguments(planned, config)
        replace = list(resp.requires_replace)
        prior = req.prior_state if not replace else None
        new_script = prior is not None and planned.get("user_data") != prior.get("user_data")
        if new_script and planned.get("user_data_replace_on_change") in (True, UNKNOWN):
            replace.append("user_data")
        replace += [name for name in _plan_blocks(planned, config, prior) if name not in replace]
        if replace and prior is not None:  # plan the new instance from scratch
            planned = schema_plan(
                self.schema, PlanRequest(self.name, None, req.proposed_new_state, config)
            ).planned_state
            assert planned is not None
            _plan_blocks(planned, config, None)
            prior = None
        if parts.credit_ignored(planned, config):
            resp.diagnostics.warning(
                "credit_specification has no effect on this instance type",
                f"Instance type {planned['instance_type']} does not earn CPU credits (only T instances do); "
                "AWS ignores a credit specification for it, and so does relight.",
                attribute=("credit_specification",),
            )
        note_gaps(self, INSTANCE_GAPS, planned, prior, resp.diagnostics)
        return PlanResponse(planned, tuple(replace), resp.diagnostics)

    # -- CRUD ---------------------------------------------------------------------------
    def create(self, req: CreateRequest) -> CreateResponse:
        p = strip_unknown(req.planned_state)
        params = self._run_params(p, req.token, bool(req.config.get("root_block_device")))
        deadline = time.monotonic() + IP_RELEASE_TIMEOUT
        delay = 1.0
        while True:
            try:
                out = self.api.call("ec2", "RunInstances", **params)
                break
            except AwsError as exc:
                # AWS can hold a terminated instance's address for a short while.
                if exc.code != "InvalidIPAddress.InUse" or time.monotonic() + delay > deadline:
                    raise
            self.api.sleep(delay)
            delay = min(delay * 2, 15.0)
        instance_id = out["Instances"][0]["InstanceId"]
        return self._finish_create(instance_id, req.planned_state)

    def read(self, req: ReadRequest) -> ReadResponse:
        found = self._describe(str(req.current_state["id"]))
        if found is None or found["State"]["Name"] in GONE_STATES:
            return ReadResponse(None)
        return ReadResponse(self._state(found, req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        prior, planned = req.prior_state, strip_unknown(req.planned_state)
        instance_id = str(prior["id"])
        diags = Diagnostics()
        self._stopped_changes(instance_id, prior, planned)
        groups = planned.get("vpc_security_group_ids")
        if groups not in (None, UNKNOWN) and sorted(groups) != sorted(prior.get("vpc_security_group_ids") or []):
            nic = prior.get("primary_network_interface_id")
            if nic:  # the groups live on the primary interface
                self.api.call("ec2", "ModifyNetworkInterfaceAttribute", NetworkInterfaceId=nic, Groups=list(groups))
            else:
                self.api.call("ec2", "ModifyInstanceAttribute", InstanceId=instance_id, Groups=list(groups))
        if planned.get("source_dest_check") != prior.get("source_dest_check"):
            self._set_source_dest_check(instance_id, planned.get("source_dest_check") is not False)
        if planned.get("iam_instance_profile") != prior.get("iam_instance_profile"):
            self._set_profile(instance_id, planned.get("iam_instance_profile"))
        if planned.get("monitoring") != prior.get("monitoring") and isinstance(planned.get("monitoring"), bool):
            self._set_monitoring(instance_id, bool(planned["monitoring"]), diags)
        if planned.get("credit_specification") != prior.get("credit_specification"):
            self._set_credits(instance_id, planned, diags)
        if planned.get("metadata_options") != prior.get("metadata_options"):
            self._set_metadata(instance_id, planned.get("metadata_options"))
        self._update_volume_tags(prior, planned)
        update_ec2_tags(self.api, instance_id, all_tags(prior), planned.get("tags_all"))
        found = self._describe(instance_id)
        if found is None:
            raise CallError(f"Instance {instance_id} disappeared during update")
        return UpdateResponse(self._state(found, planned), diags)

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        instance_id = str(req.prior_state["id"])
        out = self.api.try_call("ec2", "TerminateInstances", ("InvalidInstanceID.NotFound",), InstanceIds=[instance_id])
        if out is None:
            return DeleteResponse()

        def terminated() -> bool | None:
            found = self._describe(instance_id)
            return True if found is None or found["State"]["Name"] == "terminated" else None

        self.api.wait(f"instance {instance_id} to terminate", terminated, timeout=TERMINATE_TIMEOUT)
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        found = self._describe(req.id)
        if found is None or found["State"]["Name"] in GONE_STATES:
            raise AwsError(
                "DescribeInstances", "InvalidInstanceID.NotFound", f"The instance ID '{req.id}' does not exist"
            )
        return ImportResponse(self._state(found, {}))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        alive = [
            i
            for i in self.find_by_token("DescribeInstances", "Reservations", req.token)
            if i["State"]["Name"] not in GONE_STATES
        ]
        if not alive:
            return ReadResponse(None)
        return ReadResponse(self._finish_create(alive[0]["InstanceId"], req.planned_state).new_state)

    # -- launch -------------------------------------------------------------------------
    def _run_params(self, p: Mapping[str, Value], token: str, configured_root: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "ImageId": p["ami"],
            "InstanceType": p["instance_type"],
            "MinCount": 1,
            "MaxCount": 1,
        }
        if token:
            params["ClientToken"] = token[:64]
        specs = tag_specs("instance", p.get("tags_all"), token) + tag_specs("volume", p.get("volume_tags"))
        if specs:
            params["TagSpecifications"] = specs
        params.update(parts.network_params(p))
        for key, param in (("key_name", "KeyName"), ("user_data", "UserData")):
            if p.get(key):
                params[param] = str(p[key])
        if p.get("iam_instance_profile"):
            params["IamInstanceProfile"] = {"Name": str(p["iam_instance_profile"])}
        if isinstance(p.get("monitoring"), bool):
            params["Monitoring"] = {"Enabled": p["monitoring"]}
        if isinstance(p.get("ebs_optimized"), bool):
            params["EbsOptimized"] = p["ebs_optimized"]
        if p.get("tenancy"):
            params.setdefault("Placement", {})["Tenancy"] = str(p["tenancy"])
        launch_blocks = {
            "CpuOptions": parts.cpu_to_aws(p.get("cpu_options")),
            "MetadataOptions": parts.metadata_to_aws(p.get("metadata_options")),
            "CreditSpecification": parts.credits_to_aws(p),
        }
        params.update({k: v for k, v in launch_blocks.items() if v})
        # Only a configured root device is sent; otherwise the image's own mapping applies.
        root = (p.get("root_block_device") or [None])[0] if configured_root else None
        mappings = [self._root_mapping(str(p["ami"]), root)] if isinstance(root, dict) else []
        mappings += parts.ebs_devices_to_aws(p.get("ebs_block_device"))
        if mappings:
            params["BlockDeviceMappings"] = mappings
        return params

    def _root_mapping(self, ami: str, root: Mapping[str, Value]) -> dict[str, Any]:
        images = self.api.call("ec2", "DescribeImages", ImageIds=[ami]).get("Images", [])
        image = images[0] if images else {}
        device = image.get("RootDeviceName", "/dev/xvda")
        ebs: dict[str, Any] = {"DeleteOnTermination": root.get("delete_on_termination") is not False}
        for mapping in image.get("BlockDeviceMappings", []):
            if mapping.get("DeviceName") == device and mapping.get("Ebs", {}).get("VolumeSize"):
                ebs["VolumeSize"] = int(mapping["Ebs"]["VolumeSize"])
        for key, name in (("volume_size", "VolumeSize"), ("volume_type", "VolumeType"), ("encrypted", "Encrypted")):
            if root.get(key) not in (None, UNKNOWN):
                ebs[name] = int(root[key]) if key == "volume_size" else root[key]
        return {"DeviceName": device, "Ebs": ebs}

    def _finish_create(self, instance_id: str, planned: Mapping[str, Value]) -> CreateResponse:
        def running() -> dict[str, Any] | None:
            found = self._describe(instance_id)
            if found is None:
                return None  # eventual consistency: a new id may not be visible yet
            state = found["State"]["Name"]
            if state in GONE_STATES:
                raise CallError(
                    f"Instance {instance_id} terminated while starting",
                    str(found.get("StateReason", {}).get("Message") or found.get("StateTransitionReason") or ""),
                )
            return found if state == "running" else None

        found = self.api.wait(f"instance {instance_id} to be running", running, timeout=RUNNING_TIMEOUT)
        diags = Diagnostics()
        try:  # what RunInstances cannot set (an instance that has them not is recorded tainted)
            if planned.get("source_dest_check") is False:
                self._set_source_dest_check(instance_id, False)
            self._tag_devices(found, planned.get("ebs_block_device"))
        except CallError as exc:
            diags.error(exc.summary, exc.detail)
        return CreateResponse(self._state(self._describe(instance_id) or found, planned), diags)

    # -- in-place changes ---------------------------------------------------------------
    def _stopped_changes(self, instance_id: str, prior: Mapping[str, Value], planned: Mapping[str, Value]) -> None:
        """A new instance type and new user data need the instance stopped: stop it once, make
        both changes, start it again."""
        changes: list[dict[str, Any]] = []
        if planned.get("instance_type") != prior.get("instance_type"):
            changes.append({"InstanceType": {"Value": str(planned["instance_type"])}})
        if planned.get("user_data") != prior.get("user_data"):
            changes.append({"UserData": {"Value": parts.script_bytes(planned.get("user_data"))}})
        if not changes:
            return
        self.api.call("ec2", "StopInstances", InstanceIds=[instance_id])
        self.api.wait(
            f"instance {instance_id} to stop", lambda: self._in_state(instance_id, "stopped"), RUNNING_TIMEOUT
        )
        for change in changes:  # one attribute per call, as AWS requires
            self.api.call("ec2", "ModifyInstanceAttribute", InstanceId=instance_id, **change)
        self.api.call("ec2", "StartInstances", InstanceIds=[instance_id])
        self.api.wait(
            f"instance {instance_id} to be running", lambda: self._in_state(instance_id, "running"), RUNNING_TIMEOUT
        )

    def _set_source_dest_check(self, instance_id: str, value: bool) -> None:
        self.api.call("ec2", "ModifyInstanceAttribute", InstanceId=instance_id, SourceDestCheck={"Value": value})

    def _set_profile(self, instance_id: str, name: Value) -> None:
        """Associate, replace or remove the instance profile (IAM may take seconds to know a new
        profile: "Invalid IAM Instance Profile" is retried for a minute)."""
        out = self.api.call(
            "ec2",
            "DescribeIamInstanceProfileAssociations",
            Filters=[{"Name": "instance-id", "Values": [instance_id]}, {"Name": "state", "Values": ["associated"]}],
        )
        current = [a["AssociationId"] for a in out.get("IamInstanceProfileAssociations", [])]
        if not name:
            for association in current:
                self.api.call("ec2", "DisassociateIamInstanceProfile", AssociationId=association)
            return
        profile = {"Name": str(name)}
        if current:
            self._retry_profile(
                lambda: self.api.call(
                    "ec2", "ReplaceIamInstanceProfileAssociation", AssociationId=current[0], IamInstanceProfile=profile
                )
            )
        else:
            self._retry_profile(
                lambda: self.api.call(
                    "ec2", "AssociateIamInstanceProfile", InstanceId=instance_id, IamInstanceProfile=profile
                )
            )

    def _retry_profile(self, attempt: Any) -> None:
        deadline = time.monotonic() + 60.0
        while True:
            try:
                attempt()
                return
            except AwsError as exc:
                if "Invalid IAM Instance Profile" not in exc.detail or time.monotonic() > deadline:
                    raise
            self.api.sleep(2.0)

    def _set_monitoring(self, instance_id: str, enabled: bool, diags: Diagnostics) -> None:
        emulator = self.api.emulator()
        if emulator is not None:  # the local cloud has no such call: planned, not applied
            diags.append(gap_warning(MONITORING_GAP, emulator))
            return
        self.api.call("ec2", "MonitorInstances" if enabled else "UnmonitorInstances", InstanceIds=[instance_id])

    def _set_credits(self, instance_id: str, planned: Mapping[str, Value], diags: Diagnostics) -> None:
        spec = parts.credits_to_aws(planned)
        if spec is None:
            return
        emulator = self.api.emulator()
        if emulator is not None:
            diags.append(gap_warning(CREDIT_GAP, emulator))
            return
        self.api.call(
            "ec2",
            "ModifyInstanceCreditSpecification",
            InstanceCreditSpecifications=[{"InstanceId": instance_id, **spec}],
        )

    def _set_metadata(self, instance_id: str, options: Value) -> None:
        params = parts.metadata_to_aws(options)
        if not params:
            return
        self.api.call("ec2", "ModifyInstanceMetadataOptions", InstanceId=instance_id, **params)

        def applied() -> bool | None:
            found = self._describe(instance_id) or {}
            return True if (found.get("MetadataOptions") or {}).get("State", "applied") == "applied" else None

        self.api.wait(f"the metadata options of {instance_id} to apply", applied, RUNNING_TIMEOUT)

    def _update_volume_tags(self, prior: Mapping[str, Value], planned: Mapping[str, Value]) -> None:
        """``volume_tags`` on the volumes launched with the instance (root and EBS devices; never
        a volume attached by ``aws_volume_attachment``), then each device's own ``tags``."""
        before, after = prior.get("volume_tags"), planned.get("volume_tags")
        if before != after:
            for volume_id in parts.launched_volumes(prior):
                update_ec2_tags(self.api, volume_id, before, after)
        recorded = {str(d.get("device_name")): d for d in prior.get("ebs_block_device") or () if isinstance(d, dict)}
        for device in planned.get("ebs_block_device") or ():
            old = recorded.get(str(device.get("device_name"))) or {}
            if old.get("volume_id") and old.get("tags") != device.get("tags"):
                update_ec2_tags(self.api, str(old["volume_id"]), old.get("tags"), device.get("tags"))

    def _tag_devices(self, inst: Mapping[str, Any], devices: Value) -> None:
        """Tag each new EBS device's volume with its ``tags`` (RunInstances tags all volumes
        alike)."""
        by_device = {
            m.get("DeviceName"): (m.get("Ebs") or {}).get("VolumeId") for m in inst.get("BlockDeviceMappings", [])
        }
        for device in devices if isinstance(devices, list) else []:
            volume_id = by_device.get(device.get("device_name"))
            if volume_id and isinstance(device.get("tags"), dict) and device["tags"]:
                update_ec2_tags(self.api, str(volume_id), None, device["tags"])

    def _in_state(self, instance_id: str, state: str) -> bool | None:
        found = self._describe(instance_id)
        return True if found is not None and found["State"]["Name"] == state else None

    def _describe(self, instance_id: str) -> dict[str, Any] | None:
        return describe_instance(self.api, instance_id)

    # -- read ---------------------------------------------------------------------------
    def _state(self, inst: Mapping[str, Any], base: Mapping[str, Value]) -> dict[str, Value]:
        instance_id = inst["InstanceId"]
        nics = sorted(inst.get("NetworkInterfaces", []), key=lambda n: n.get("Attachment", {}).get("DeviceIndex", 0))
        owner = nics[0].get("OwnerId", "") if nics else ""
        volumes = self._volumes(inst)
        root_name = parts.root_device(inst)
        volume_tags_set = base.get("volume_tags") is not None
        # an import (nothing recorded) reads every EBS device; a recorded object only its own
        recorded_devices = base.get("ebs_block_device") if "id" not in base or base.get("ebs_block_device") else []
        state: dict[str, Value] = {
            "id": instance_id,
            "arn": f"arn:aws:ec2:{self.api.region}:{owner}:instance/{instance_id}",
            "ami": inst.get("ImageId"),
            "instance_type": inst.get("InstanceType"),
            "subnet_id": inst.get("SubnetId"),
            "availability_zone": inst.get("Placement", {}).get("AvailabilityZone"),
            "vpc_security_group_ids": sorted(
                g["GroupId"] for g in (nics[0].get("Groups") if nics else None) or inst.get("SecurityGroups", [])
            ),
            "private_ip": inst.get("PrivateIpAddress"),
            "associate_public_ip_address": bool(inst.get("PublicIpAddress")),
            "key_name": inst.get("KeyName"),
            "iam_instance_profile": parts.profile_name(inst.get("IamInstanceProfile")),
            "monitoring": (inst.get("Monitoring") or {}).get("State") in ("enabled", "pending"),
            "ebs_optimized": bool(inst.get("EbsOptimized", False)),
            "source_dest_check": inst.get("SourceDestCheck") is not False,
            "tenancy": (inst.get("Placement") or {}).get("Tenancy") or "default",
            "user_data": self._user_data(instance_id, base.get("user_data")),
            "user_data_replace_on_change": base.get("user_data_replace_on_change") is True,
            "volume_tags": self._volume_tags(volumes, root_name) if volume_tags_set else None,
            **self.tag_state(inst.get("Tags"), base),
            "instance_state": inst["State"]["Name"],
            "public_ip": inst.get("PublicIpAddress"),
            "public_dns": inst.get("PublicDnsName") or None,
            "private_dns": inst.get("PrivateDnsName"),
            "primary_network_interface_id": nics[0]["NetworkInterfaceId"] if nics else None,
            "root_block_device": parts.root_state(inst, root_name, volumes),
            "ebs_block_device": parts.ebs_devices_from_aws(
                inst.get("BlockDeviceMappings", []), root_name, volumes, recorded_devices, volume_tags_set
            ),
            "cpu_options": parts.cpu_from_aws(inst.get("CpuOptions")),
            "credit_specification": self._credits(instance_id, inst.get("InstanceType")),
            "metadata_options": parts.metadata_from_aws(inst.get("MetadataOptions")),
        }
        return keep_gaps(self.api, INSTANCE_GAPS, state, base)

    def _volumes(self, inst: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        ids = [
            str(m["Ebs"]["VolumeId"])
            for m in inst.get("BlockDeviceMappings", [])
            if (m.get("Ebs") or {}).get("VolumeId")
        ]
        if not ids:
            return {}
        out = self.api.try_call("ec2", "DescribeVolumes", ("InvalidVolume.NotFound",), VolumeIds=ids)
        if out is None:  # one of them went away meanwhile: ask one by one
            found = [
                self.api.try_call("ec2", "DescribeVolumes", ("InvalidVolume.NotFound",), VolumeIds=[i]) for i in ids
            ]
            return {v["VolumeId"]: v for o in found if o for v in o.get("Volumes", [])}
        return {v["VolumeId"]: v for v in out.get("Volumes", [])}

    def _volume_tags(self, volumes: Mapping[str, Mapping[str, Any]], root_name: str | None) -> Value:
        """The launched volumes' tags, as ``volume_tags`` (read from the root volume, or the first)."""
        chosen = next(iter(volumes.values()), None)
        for vol in volumes.values():
            if any(a.get("Device") == root_name for a in vol.get("Attachments") or ()):
                chosen = vol
        return from_tag_list((chosen or {}).get("Tags"))

    def _user_data(self, instance_id: str, recorded: Value) -> Value:
        """The instance's user data: the recorded text (or Terraform's hash of it) while AWS holds
        the same bytes, else what AWS holds (changed outside relight)."""
        if recorded is UNKNOWN:
            recorded = None
        out = self.api.try_call(
            "ec2",
            "DescribeInstanceAttribute",
            ("InvalidInstanceID.NotFound",),
            InstanceId=instance_id,
            Attribute="userData",
        )
        attribute = (out or {}).get("UserData")
        held = str(attribute.get("Value") or "") if isinstance(attribute, dict) else ""
        raw = base64.b64decode(held) if held else b""
        if _tfshapes.is_user_data_hash(recorded):
            return recorded if _tfshapes.user_data_hash(held) == recorded or not raw else raw.decode("utf-8", "replace")
        if raw == parts.script_bytes(recorded):
            return recorded
        return raw.decode("utf-8", "replace") if raw else None

    def _credits(self, instance_id: str, instance_type: Value) -> list[dict[str, Value]]:
        if not parts.burstable(instance_type):
            return []
        out = self.api.call("ec2", "DescribeInstanceCreditSpecifications", InstanceIds=[instance_id])
        specs = out.get("InstanceCreditSpecifications", [])
        return [{"cpu_credits": specs[0].get("CpuCredits")}] if specs else []


# -- module helpers -----------------------------------------------------------------------


def _plan_blocks(
    planned: dict[str, Value], config: Mapping[str, Value], prior: Mapping[str, Value] | None
) -> list[str]:
    """Plan the nested blocks into ``planned``; returns those whose change replaces the instance."""
    replace = []
    creating = prior is None
    for name, replaces in _BLOCK_REPLACES.items():
        value, differs = parts.plan_block(
            parts.BLOCKS[name].schema, config.get(name), (prior or {}).get(name), creating
        )
        planned[name] = value
        if differs and replaces:
            replace.append(name)
    devices, differs = parts.plan_ebs_devices(
        config.get("ebs_block_device"), (prior or {}).get("ebs_block_device"), creating
    )
    planned["ebs_block_device"] = devices
    if differs:
        replace.append("ebs_block_device")
    return replace


def _same_user_data(req: PlanRequest) -> PlanRequest:
    """An instance adopted from Terraform holds its user_data as the provider's hash of it (see
    _tfshapes); the same script in the configuration is no change, so it plans as the hash."""
    prior, proposed = req.prior_state, req.proposed_new_state
    if prior is None or proposed is None or not _tfshapes.is_user_data_hash(prior.get("user_data")):
        return req
    script = proposed.get("user_data")
    if not isinstance(script, str) or _tfshapes.user_data_hash(script) != prior.get("user_data"):
        return req
    same = {**proposed, "user_data": prior.get("user_data")}
    return dataclasses.replace(req, proposed_new_state=same, config=same)
