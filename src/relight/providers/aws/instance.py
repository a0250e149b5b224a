"""``aws_instance`` and the ``aws_ami`` data source.

A fixed ``private_ip`` must survive the node: the replacement instance gets the same address.
So an instance in a subnet is launched with an explicit primary network interface
(``NetworkInterfaces[0]`` with ``DeleteOnTermination``): the interface, and with it the address,
goes away with the instance. Real AWS may hold a terminated instance's address for a short
while, so ``InvalidIPAddress.InUse`` on launch is retried with backoff for up to
``IP_RELEASE_TIMEOUT`` seconds. Replacement is destroy-first (the engine's default); a
create-before-destroy replacement cannot keep a fixed address.

An instance that is ``shutting-down`` or ``terminated`` is gone: reads report it deleted, so the
next plan re-creates it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import time
from collections.abc import Mapping
from typing import Any

from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import (
    GONE_STATES,
    AwsDataSource,
    AwsResource,
    describe_instance,
    ec2_filters,
    from_tag_list,
    tag_specs,
    update_ec2_tags,
)
from relight.providers.base import (
    Attribute,
    BlockType,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    FindCreatedRequest,
    ImportRequest,
    ImportResponse,
    PlanRequest,
    PlanResponse,
    ReadDataRequest,
    ReadDataResponse,
    ReadRequest,
    ReadResponse,
    Schema,
    UpdateRequest,
    UpdateResponse,
    schema_plan,
)
from relight.providers.framework import CallError
from relight.values import UNKNOWN, Value, strip_unknown

__all__ = ["AmiData", "Instance"]

RUNNING_TIMEOUT = 600.0
TERMINATE_TIMEOUT = 600.0
IP_RELEASE_TIMEOUT = 180.0

_ROOT = Schema(
    attributes={
        "volume_size": Attribute("number", optional=True, computed=True),
        "volume_type": Attribute("string", optional=True, computed=True),
        "delete_on_termination": Attribute("bool", optional=True, default=True),
        "encrypted": Attribute("bool", optional=True, computed=True),
        "device_name": Attribute("string", computed=True),
        "volume_id": Attribute("string", computed=True),
    }
)


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
            "user_data": Attribute("string", optional=True, force_new=True),
            "tags": Attribute("map", element="string", optional=True),
            "instance_state": Attribute("string", computed=True),
            "public_ip": Attribute("string", computed=True),
            "private_dns": Attribute("string", computed=True),
            "primary_network_interface_id": Attribute("string", computed=True),
        },
        blocks={"root_block_device": BlockType(_ROOT, nesting="list", max_items=1)},
    )

    # -- plan ---------------------------------------------------------------------------
    def plan_change(self, req: PlanRequest) -> PlanResponse:
        resp = schema_plan(self.schema, _same_user_data(req))
        planned = resp.planned_state
        if planned is None:
            return resp
        ip = planned.get("private_ip")
        if isinstance(ip, str):
            try:
                ipaddress.IPv4Address(ip)
            except ValueError:
                raise CallError(
                    f"Invalid private_ip {ip!r}",
                    "private_ip must be an IPv4 address such as 10.0.1.10.",
                    attribute=("private_ip",),
                ) from None
        prior = req.prior_state if not resp.requires_replace else None
        replace = list(resp.requires_replace)
        root, root_changed = _plan_root(planned.get("root_block_device"), prior)
        planned["root_block_device"] = root
        if root_changed and req.prior_state is not None and "root_block_device" not in replace:
            replace.append("root_block_device")
            planned = schema_plan(
                self.schema, PlanRequest(self.name, None, req.proposed_new_state, req.config)
            ).planned_state
            assert planned is not None
            planned["root_block_device"], _ = _plan_root(planned.get("root_block_device"), None)
        return PlanResponse(planned, tuple(replace))

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
        return self._finish_create(instance_id, p)

    def read(self, req: ReadRequest) -> ReadResponse:
        found = self._describe(str(req.current_state["id"]))
        if found is None or found["State"]["Name"] in GONE_STATES:
            return ReadResponse(None)
        return ReadResponse(self._state(found, req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        prior, planned = req.prior_state, strip_unknown(req.planned_state)
        instance_id = str(prior["id"])
        if planned.get("instance_type") != prior.get("instance_type"):
            self._resize(instance_id, str(planned["instance_type"]))
        groups = planned.get("vpc_security_group_ids")
        if groups not in (None, UNKNOWN) and sorted(groups) != sorted(prior.get("vpc_security_group_ids") or []):
            nic = prior.get("primary_network_interface_id")
            if nic:  # the groups live on the primary interface
                self.api.call("ec2", "ModifyNetworkInterfaceAttribute", NetworkInterfaceId=nic, Groups=list(groups))
            else:
                self.api.call("ec2", "ModifyInstanceAttribute", InstanceId=instance_id, Groups=list(groups))
        update_ec2_tags(self.api, instance_id, prior.get("tags"), planned.get("tags"))
        found = self._describe(instance_id)
        if found is None:
            raise CallError(f"Instance {instance_id} disappeared during update")
        return UpdateResponse(self._state(found, planned))

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

    # -- helpers ------------------------------------------------------------------------
    def _run_params(self, p: Mapping[str, Value], token: str, configured_root: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "ImageId": p["ami"],
            "InstanceType": p["instance_type"],
            "MinCount": 1,
            "MaxCount": 1,
        }
        if token:
            params["ClientToken"] = token[:64]
        specs = tag_specs("instance", p.get("tags"), token)
        if specs:
            params["TagSpecifications"] = specs
        groups = [g for g in p.get("vpc_security_group_ids") or [] if g is not UNKNOWN]
        subnet = p.get("subnet_id")
        if subnet not in (None, UNKNOWN):
            nic: dict[str, Any] = {"DeviceIndex": 0, "SubnetId": subnet, "DeleteOnTermination": True}
            if p.get("private_ip") not in (None, UNKNOWN):
                nic["PrivateIpAddress"] = p["private_ip"]
            if groups:
                nic["Groups"] = groups
            if p.get("associate_public_ip_address") not in (None, UNKNOWN):
                nic["AssociatePublicIpAddress"] = bool(p["associate_public_ip_address"])
            params["NetworkInterfaces"] = [nic]
        else:
            if groups:
                params["SecurityGroupIds"] = groups
            if p.get("availability_zone") not in (None, UNKNOWN):
                params["Placement"] = {"AvailabilityZone": p["availability_zone"]}
        if p.get("key_name"):
            params["KeyName"] = p["key_name"]
        if p.get("user_data"):
            params["UserData"] = str(p["user_data"])
        # Only a configured root device is sent; otherwise the image's own mapping applies.
        root = (p.get("root_block_device") or [None])[0] if configured_root else None
        if isinstance(root, dict):
            params["BlockDeviceMappings"] = [self._root_mapping(str(p["ami"]), root)]
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
        return CreateResponse(self._state(found, planned))

    def _resize(self, instance_id: str, instance_type: str) -> None:
        self.api.call("ec2", "StopInstances", InstanceIds=[instance_id])
        self.api.wait(
            f"instance {instance_id} to stop", lambda: self._in_state(instance_id, "stopped"), RUNNING_TIMEOUT
        )
        self.api.call("ec2", "ModifyInstanceAttribute", InstanceId=instance_id, InstanceType={"Value": instance_type})
        self.api.call("ec2", "StartInstances", InstanceIds=[instance_id])
        self.api.wait(
            f"instance {instance_id} to be running", lambda: self._in_state(instance_id, "running"), RUNNING_TIMEOUT
        )

    def _in_state(self, instance_id: str, state: str) -> bool | None:
        found = self._describe(instance_id)
        return True if found is not None and found["State"]["Name"] == state else None

    def _describe(self, instance_id: str) -> dict[str, Any] | None:
        return describe_instance(self.api, instance_id)

    def _state(self, inst: Mapping[str, Any], base: Mapping[str, Value]) -> dict[str, Value]:
        instance_id = inst["InstanceId"]
        nics = sorted(inst.get("NetworkInterfaces", []), key=lambda n: n.get("Attachment", {}).get("DeviceIndex", 0))
        region = self.api.region
        owner = nics[0].get("OwnerId", "") if nics else ""
        return {
            "id": instance_id,
            "arn": f"arn:aws:ec2:{region}:{owner}:instance/{instance_id}",
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
            "user_data": base.get("user_data") if base.get("user_data") is not UNKNOWN else None,
            "tags": from_tag_list(inst.get("Tags")),
            "instance_state": inst["State"]["Name"],
            "public_ip": inst.get("PublicIpAddress"),
            "private_dns": inst.get("PrivateDnsName"),
            "primary_network_interface_id": nics[0]["NetworkInterfaceId"] if nics else None,
            "root_block_device": self._root_state(inst, base),
        }

    def _root_state(self, inst: Mapping[str, Any], base: Mapping[str, Value]) -> list[dict[str, Value]]:
        root_name = inst.get("RootDeviceName")
        mappings = inst.get("BlockDeviceMappings", [])
        mapping = next((m for m in mappings if m.get("DeviceName") == root_name), None)
        if mapping is None:  # the emulator mounts every root at /dev/sda1, whatever the image says
            mapping = next((m for m in mappings if m.get("DeviceName") in ("/dev/sda1", "/dev/xvda")), None)
        if mapping is None:
            return []
        volume_id = mapping["Ebs"]["VolumeId"]
        vols = self.api.try_call("ec2", "DescribeVolumes", ("InvalidVolume.NotFound",), VolumeIds=[volume_id])
        vol = ((vols or {}).get("Volumes") or [{}])[0]
        return [
            {
                "volume_size": vol.get("Size"),
                "volume_type": vol.get("VolumeType"),
                "delete_on_termination": bool(mapping["Ebs"].get("DeleteOnTermination", True)),
                "encrypted": bool(vol.get("Encrypted", False)),
                "device_name": mapping["DeviceName"],
                "volume_id": volume_id,
            }
        ]


def _plan_root(blocks: Value, prior: Mapping[str, Value] | None) -> tuple[list[dict[str, Value]], bool]:
    """Fill the root device's unset (computed) settings from the prior object, or unknown.

    Returns the planned block and whether a configured setting differs from the prior one (a
    change to the root device replaces the instance)."""
    prior_blocks = (prior or {}).get("root_block_device") or []
    before = prior_blocks[0] if prior_blocks else None
    given = (blocks or [None])[0] if isinstance(blocks, list) else None
    if given is None:
        if prior is not None:
            return list(prior_blocks), False
        return [{k: (UNKNOWN if a.computed else a.default) for k, a in _ROOT.attributes.items()}], False
    out: dict[str, Value] = {}
    changed = False
    for key, attr in _ROOT.attributes.items():
        value = given.get(key)
        if value is None and attr.default is not None:
            value = attr.default
        if value is None:
            value = before.get(key) if before is not None else (UNKNOWN if attr.computed else None)
        elif before is not None and before.get(key) != value:
            changed = True
        out[key] = value
    return [out], changed


class AmiData(AwsDataSource):
    """``data "aws_ami"``: the newest (``most_recent``) image matching owners and filters."""

    name = "aws_ami"
    terraform = _tfshapes.AMI_DATA
    schema = Schema(
        attributes={
            "most_recent": Attribute("bool", optional=True, default=False),
            "owners": Attribute("list", element="string", optional=True),
            "executable_users": Attribute("list", element="string", optional=True),
            "name_regex": Attribute("string", optional=True),
            "id": Attribute("string", computed=True),
            "image_id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "name": Attribute("string", computed=True),
            "description": Attribute("string", computed=True),
            "owner_id": Attribute("string", computed=True),
            "creation_date": Attribute("string", computed=True),
            "architecture": Attribute("string", computed=True),
            "root_device_name": Attribute("string", computed=True),
            "root_device_type": Attribute("string", computed=True),
            "virtualization_type": Attribute("string", computed=True),
            "state": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", computed=True),
        },
        blocks={
            "filter": BlockType(
                Schema(
                    attributes={
                        "name": Attribute("string", required=True),
                        "values": Attribute("list", element="string", required=True),
                    }
                ),
                nesting="set",
            )
        },
    )

    def read(self, req: ReadDataRequest) -> ReadDataResponse:
        c = req.config
        params: dict[str, Any] = {}
        if c.get("owners"):
            params["Owners"] = list(c["owners"])
        if c.get("executable_users"):
            params["ExecutableUsers"] = list(c["executable_users"])
        filters = ec2_filters(c.get("filter"))
        if filters:
            params["Filters"] = filters
        images = self.api.call("ec2", "DescribeImages", **params).get("Images", [])
        if c.get("name_regex"):
            pattern = re.compile(str(c["name_regex"]))
            images = [i for i in images if pattern.search(i.get("Name", ""))]
        if not images:
            raise CallError(
                "Your query returned no results. Please change your search criteria and try again.",
                f"data.aws_ami: no image matched owners={c.get('owners')} and filters {filters}.",
            )
        if len(images) > 1 and not c.get("most_recent"):
            raise CallError(
                "Your query returned more than one result. Please try a more specific search criteria, "
                "or set `most_recent` attribute to true."
            )
        image = max(images, key=lambda i: (i.get("CreationDate", ""), i.get("ImageId", "")))
        state = dict(c)
        state.update(
            {
                "id": image["ImageId"],
                "image_id": image["ImageId"],
                "arn": f"arn:aws:ec2:{self.api.region}::image/{image['ImageId']}",
                "name": image.get("Name"),
                "description": image.get("Description"),
                "owner_id": image.get("OwnerId"),
                "creation_date": image.get("CreationDate"),
                "architecture": image.get("Architecture"),
                "root_device_name": image.get("RootDeviceName"),
                "root_device_type": image.get("RootDeviceType"),
                "virtualization_type": image.get("VirtualizationType"),
                "state": image.get("State"),
                "tags": from_tag_list(image.get("Tags")) or {},
            }
        )
        return ReadDataResponse(state)


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
