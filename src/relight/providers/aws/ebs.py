"""``aws_ebs_volume``, ``aws_volume_attachment``, ``aws_ebs_snapshot`` and its data source.

Data safety: an ``aws_ebs_volume`` is snapshotted before it is destroyed, by default
(``final_snapshot = true``, where Terraform's default is false). The plan says so ("snapshot
vol-... before destroy"); the delete creates the snapshot, waits for it to complete, and only
then deletes the volume. If the snapshot fails, the volume is not deleted and the delete
reports the error, so nothing that depends on it goes ahead. The snapshot id is returned to the
engine, which records it in state and prints it. ``final_snapshot = false`` turns this off for
one volume; ``lifecycle { prevent_destroy = true }`` refuses destroy outright.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import (
    FILTER_BLOCK,
    AwsDataSource,
    AwsResource,
    all_tags,
    ec2_filters,
    from_tag_list,
    instance_alive,
    most_recent,
    tag_specs,
    update_ec2_tags,
)
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

__all__ = ["FINAL_SNAPSHOT_TAG", "EbsSnapshot", "EbsSnapshotData", "EbsVolume", "VolumeAttachment"]

VOLUME_TIMEOUT = 300.0
VOLUME_TYPES = ("gp2", "gp3", "io1", "io2", "st1", "sc1", "standard")
SNAPSHOT_TIMEOUT = 3600.0
FINAL_SNAPSHOT_TAG = "relight:final-snapshot-of"
_VOLUME_GONE = ("InvalidVolume.NotFound",)


def describe_volume(resource: AwsResource, volume_id: str) -> dict[str, Any] | None:
    out = resource.api.try_call("ec2", "DescribeVolumes", _VOLUME_GONE, VolumeIds=[volume_id])
    vols = (out or {}).get("Volumes", [])
    if not vols or vols[0].get("State") in ("deleting", "deleted"):
        return None
    return dict(vols[0])


def wait_snapshot(resource: AwsResource, snapshot_id: str) -> dict[str, Any]:
    """Wait until the snapshot is completed; raise CallError if it fails."""

    def completed() -> dict[str, Any] | None:
        out = resource.api.call("ec2", "DescribeSnapshots", SnapshotIds=[snapshot_id])
        snap = (out.get("Snapshots") or [{}])[0]
        if snap.get("State") == "error":
            raise CallError(
                f"Snapshot {snapshot_id} failed",
                str(snap.get("StateMessage") or "AWS reported the snapshot in state 'error'."),
            )
        return dict(snap) if snap.get("State") == "completed" else None

    return resource.api.wait(f"snapshot {snapshot_id} to complete", completed, timeout=SNAPSHOT_TIMEOUT)


class EbsVolume(AwsResource):
    name = "aws_ebs_volume"
    terraform = _tfshapes.EBS_VOLUME
    schema = Schema(
        holds_data=True,
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "availability_zone": Attribute("string", required=True, force_new=True),
            "size": Attribute("number", optional=True, computed=True),
            "type": Attribute("string", optional=True, computed=True),
            "iops": Attribute("number", optional=True, computed=True),
            "throughput": Attribute("number", optional=True, computed=True),
            "snapshot_id": Attribute("string", optional=True, computed=True, force_new=True),
            "encrypted": Attribute("bool", optional=True, computed=True, force_new=True),
            "kms_key_id": Attribute("string", optional=True, computed=True, force_new=True),
            "final_snapshot": Attribute(
                "bool",
                optional=True,
                default=True,
                description="Snapshot the volume before destroying it (relight's default: true).",
            ),
            "tags": Attribute("map", element="string", optional=True),
            "tags_all": Attribute("map", element="string", computed=True),
        },
    )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        prior = req.prior_state
        if req.proposed_new_state is None:
            if prior is not None and prior.get("final_snapshot") is not False:
                return PlanResponse(None, before_destroy=f"snapshot {prior.get('id')} before destroy")
            return PlanResponse(None)
        resp = schema_plan(self.schema, req)
        planned = resp.planned_state
        assert planned is not None
        kind = planned.get("type")
        if isinstance(kind, str) and kind not in VOLUME_TYPES:
            raise CallError(
                f"Invalid volume type {kind!r}",
                f"type must be one of {', '.join(VOLUME_TYPES)}.",
                attribute=("type",),
            )
        snapshot = planned.get("snapshot_id")
        if isinstance(snapshot, str) and (prior is None or prior.get("snapshot_id") != snapshot):
            self._check_snapshot(snapshot)
        if prior is not None and not resp.requires_replace:
            size, old = planned.get("size"), prior.get("size")
            if isinstance(size, int | float) and isinstance(old, int | float) and size < old:
                raise CallError(
                    f"Cannot shrink volume {prior.get('id')} from {old} GiB to {size} GiB",
                    "EBS volumes can only grow. To move the data to a smaller volume, create a new "
                    "volume from a snapshot and copy what you need.",
                    attribute=("size",),
                )
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = strip_unknown(req.planned_state)
        params: dict[str, Any] = {"AvailabilityZone": p["availability_zone"]}
        for key, name in (
            ("size", "Size"),
            ("type", "VolumeType"),
            ("iops", "Iops"),
            ("throughput", "Throughput"),
            ("snapshot_id", "SnapshotId"),
            ("encrypted", "Encrypted"),
            ("kms_key_id", "KmsKeyId"),
        ):
            value = p.get(key)
            if value is not None and value is not UNKNOWN:
                params[name] = int(value) if key in ("size", "iops", "throughput") else value
        if "Size" not in params and "SnapshotId" not in params:
            raise CallError(
                "aws_ebs_volume needs a size or a snapshot_id",
                "Set size (in GiB), or snapshot_id to create the volume from a snapshot.",
            )
        specs = tag_specs("volume", p.get("tags_all"), req.token)
        if specs:
            params["TagSpecifications"] = specs
        out = self.api.call("ec2", "CreateVolume", **params)
        return CreateResponse(self._available(out["VolumeId"], p))

    def read(self, req: ReadRequest) -> ReadResponse:
        vol = describe_volume(self, str(req.current_state["id"]))
        return ReadResponse(None if vol is None else self._state(vol, req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        prior, planned = req.prior_state, strip_unknown(req.planned_state)
        volume_id = str(prior["id"])
        changes: dict[str, Any] = {}
        for key, name in (("size", "Size"), ("type", "VolumeType"), ("iops", "Iops"), ("throughput", "Throughput")):
            value = planned.get(key)
            if value not in (None, UNKNOWN) and value != prior.get(key):
                changes[name] = value if key == "type" else int(value)
        if changes:
            self.api.call("ec2", "ModifyVolume", VolumeId=volume_id, **changes)
        update_ec2_tags(self.api, volume_id, all_tags(prior), planned.get("tags_all"))
        vol = describe_volume(self, volume_id)
        if vol is None:
            raise CallError(f"Volume {volume_id} disappeared during update")
        return UpdateResponse(self._state(vol, planned))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        prior = req.prior_state
        volume_id = str(prior["id"])
        vol = describe_volume(self, volume_id)
        if vol is None:
            return DeleteResponse()
        retained: dict[str, Value] | None = None
        if prior.get("final_snapshot") is not False:
            retained = self._final_snapshot(vol)
            if req.retain is not None:
                req.retain(retained)  # in the state before the volume goes, whatever happens next
        self.api.try_call("ec2", "DeleteVolume", _VOLUME_GONE, VolumeId=volume_id)
        self.api.wait(
            f"volume {volume_id} to be deleted",
            lambda: True if describe_volume(self, volume_id) is None else None,
            timeout=VOLUME_TIMEOUT,
        )
        return DeleteResponse(retained=retained)

    def import_(self, req: ImportRequest) -> ImportResponse:
        vol = describe_volume(self, req.id)
        if vol is None:
            raise AwsError("DescribeVolumes", "InvalidVolume.NotFound", f"The volume '{req.id}' does not exist.")
        return ImportResponse(self._state(vol, {"final_snapshot": True}))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        alive = [
            v
            for v in self.find_by_token("DescribeVolumes", "Volumes", req.token)
            if v.get("State") not in ("deleting", "deleted")
        ]
        if not alive:
            return ReadResponse(None)
        return ReadResponse(self._available(alive[0]["VolumeId"], req.planned_state))

    # -- helpers ------------------------------------------------------------------------
    def _check_snapshot(self, snapshot_id: str) -> None:
        """Refuse at plan time a snapshot that does not exist or is not usable: otherwise a
        replacement would destroy the current volume first and only then fail to create."""
        out = self.api.try_call(
            "ec2",
            "DescribeSnapshots",
            ("InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed"),
            SnapshotIds=[snapshot_id],
        )
        snaps = (out or {}).get("Snapshots", [])
        if not snaps:
            raise CallError(
                f"Snapshot {snapshot_id} does not exist",
                "snapshot_id must name an existing snapshot in this region and account. Nothing was "
                "changed. List candidates with: aws ec2 describe-snapshots --owner-ids self",
                attribute=("snapshot_id",),
            )
        if snaps[0].get("State") == "error":
            raise CallError(
                f"Snapshot {snapshot_id} is in state 'error' and cannot be restored", attribute=("snapshot_id",)
            )

    def _final_snapshot(self, vol: Mapping[str, Any]) -> dict[str, Value]:
        volume_id = vol["VolumeId"]
        tags = [t for t in vol.get("Tags", []) if not str(t["Key"]).startswith("relight:")]
        tags.append({"Key": FINAL_SNAPSHOT_TAG, "Value": volume_id})
        out = self.api.call(
            "ec2",
            "CreateSnapshot",
            VolumeId=volume_id,
            Description=f"relight: final snapshot of {volume_id} before destroy",
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
        )
        snap = wait_snapshot(self, out["SnapshotId"])
        return {
            "kind": "final_snapshot",
            "id": snap["SnapshotId"],
            "restore_hint": f'To bring the data back, set snapshot_id = "{snap["SnapshotId"]}" before the next '
            "apply; without it a new, empty volume would be created.",
            "snapshot_id": snap["SnapshotId"],
            "volume_id": volume_id,
            "volume_size": snap.get("VolumeSize"),
            "tags": from_tag_list(tags),
        }

    def _available(self, volume_id: str, planned: Mapping[str, Value]) -> dict[str, Value]:
        def ready() -> dict[str, Any] | None:
            out = self.api.try_call("ec2", "DescribeVolumes", _VOLUME_GONE, VolumeIds=[volume_id])
            vols = (out or {}).get("Volumes", [])
            if vols and vols[0].get("State") == "error":
                raise CallError(f"Volume {volume_id} failed to create")
            return dict(vols[0]) if vols and vols[0].get("State") in ("available", "in-use") else None

        vol = self.api.wait(f"volume {volume_id} to be available", ready, timeout=VOLUME_TIMEOUT)
        return self._state(vol, planned)

    def _state(self, vol: Mapping[str, Any], base: Mapping[str, Value]) -> dict[str, Value]:
        volume_id = vol["VolumeId"]
        final = base.get("final_snapshot")
        return {
            "id": volume_id,
            "arn": f"arn:aws:ec2:{self.api.region}:{self.api.account_id()}:volume/{volume_id}",
            "availability_zone": vol.get("AvailabilityZone"),
            "size": vol.get("Size"),
            "type": vol.get("VolumeType"),
            "iops": vol.get("Iops"),
            "throughput": vol.get("Throughput"),
            "snapshot_id": vol.get("SnapshotId") or None,
            "encrypted": bool(vol.get("Encrypted", False)),
            "kms_key_id": vol.get("KmsKeyId"),
            "final_snapshot": True if final is None or final is UNKNOWN else final,
            **self.tag_state(vol.get("Tags"), base),
        }


class VolumeAttachment(AwsResource):
    """Attaches a data volume to an instance at a device name.

    Gone when its instance or volume is gone, or the volume was detached or moved elsewhere.
    Creating is idempotent (a volume already attached to this instance at this device is taken
    as created), so a create cut short by a crash needs no journaled token.
    Before attaching, the volume's current attachments are checked: a volume attached to another
    instance is refused with ``VolumeInUse`` (the emulator would accept it).
    """

    name = "aws_volume_attachment"
    terraform = _tfshapes.VOLUME_ATTACHMENT
    schema = Schema(
        attributes={
            "id": Attribute("string", computed=True),
            "device_name": Attribute("string", required=True, force_new=True),
            "volume_id": Attribute("string", required=True, force_new=True),
            "instance_id": Attribute("string", required=True, force_new=True),
            "force_detach": Attribute("bool", optional=True),
            "skip_destroy": Attribute("bool", optional=True),
            "stop_instance_before_detaching": Attribute("bool", optional=True),
        }
    )

    def create(self, req: CreateRequest) -> CreateResponse:
        p = strip_unknown(req.planned_state)
        volume_id, instance_id, device = str(p["volume_id"]), str(p["instance_id"]), str(p["device_name"])
        vol = describe_volume(self, volume_id)
        if vol is None:
            raise AwsError("AttachVolume", "InvalidVolume.NotFound", f"The volume '{volume_id}' does not exist.")
        current = _live_attachment(vol)
        if current is not None and (current["InstanceId"], current["Device"]) == (instance_id, device):
            return CreateResponse(self._wait_attached(p))
        if current is not None and not instance_alive(self.api, str(current["InstanceId"])):
            # Attached to an instance that is gone: AWS detaches these by itself; do it now.
            self.api.try_call(
                "ec2",
                "DetachVolume",
                ("IncorrectState", "InvalidAttachment.NotFound"),
                VolumeId=volume_id,
                InstanceId=str(current["InstanceId"]),
                Device=str(current["Device"]),
                Force=True,
            )
            self.api.wait(
                f"volume {volume_id} to detach from the terminated {current['InstanceId']}",
                lambda: True if _live_attachment(describe_volume(self, volume_id) or {}) is None else None,
                timeout=60.0,
            )
            current = None
        if current is not None:
            raise AwsError(
                "AttachVolume",
                "VolumeInUse",
                f"{volume_id} is already attached to instance {current['InstanceId']} at {current['Device']}. "
                "Detach it first, or remove the other aws_volume_attachment.",
            )
        self.api.call("ec2", "AttachVolume", VolumeId=volume_id, InstanceId=instance_id, Device=device)
        return CreateResponse(self._wait_attached(p))

    def read(self, req: ReadRequest) -> ReadResponse:
        return ReadResponse(self._current(req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        state = dict(req.prior_state)
        for key in ("force_detach", "skip_destroy", "stop_instance_before_detaching"):
            state[key] = req.planned_state.get(key)
        return UpdateResponse(state)

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        p = req.prior_state
        if p.get("skip_destroy"):
            return DeleteResponse()
        volume_id, instance_id = str(p["volume_id"]), str(p["instance_id"])
        if self._current(p) is None:
            return DeleteResponse()
        if p.get("stop_instance_before_detaching"):
            self.api.call("ec2", "StopInstances", InstanceIds=[instance_id])
        self.api.try_call(
            "ec2",
            "DetachVolume",
            ("InvalidVolume.NotFound", "InvalidAttachment.NotFound", "IncorrectState", "InvalidInstanceID.NotFound"),
            VolumeId=volume_id,
            InstanceId=instance_id,
            Device=str(p["device_name"]),
            Force=bool(p.get("force_detach")),
        )
        self.api.wait(
            f"volume {volume_id} to detach from {instance_id}",
            lambda: True if self._current(p) is None else None,
            timeout=VOLUME_TIMEOUT,
        )
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        parts = req.id.split(":")
        if len(parts) != 3:
            raise CallError(
                f"Invalid import id {req.id!r} for aws_volume_attachment",
                "Use DEVICE_NAME:VOLUME_ID:INSTANCE_ID, e.g. /dev/xvdf:vol-0abc:i-0def.",
            )
        base = {"device_name": parts[0], "volume_id": parts[1], "instance_id": parts[2]}
        state = self._current(base)
        if state is None:
            raise CallError(f"No attachment of {parts[1]} to {parts[2]} at {parts[0]}")
        return ImportResponse(state)

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        p = strip_unknown(req.planned_state)
        if any(p.get(k) in (None, UNKNOWN) for k in ("volume_id", "instance_id", "device_name")):
            return ReadResponse(None)
        return ReadResponse(self._current(p))

    def _current(self, p: Mapping[str, Value]) -> dict[str, Value] | None:
        vol = describe_volume(self, str(p["volume_id"]))
        att = _live_attachment(vol) if vol is not None else None
        if att is None or att["InstanceId"] != p["instance_id"] or att["Device"] != p["device_name"]:
            return None
        return self._state(p) if instance_alive(self.api, str(p["instance_id"])) else None

    def _wait_attached(self, p: Mapping[str, Value]) -> dict[str, Value]:
        def attached() -> dict[str, Value] | None:
            vol = describe_volume(self, str(p["volume_id"]))
            att = _live_attachment(vol) if vol is not None else None
            return self._state(p) if att is not None and att.get("State") == "attached" else None

        return self.api.wait(f"volume {p['volume_id']} to attach to {p['instance_id']}", attached, VOLUME_TIMEOUT)

    def _state(self, p: Mapping[str, Value]) -> dict[str, Value]:
        device, volume, instance = str(p["device_name"]), str(p["volume_id"]), str(p["instance_id"])
        return {
            "id": f"vai-{zlib.crc32(f'{device}-{instance}-{volume}-'.encode())}",
            "device_name": device,
            "volume_id": volume,
            "instance_id": instance,
            "force_detach": p.get("force_detach"),
            "skip_destroy": p.get("skip_destroy"),
            "stop_instance_before_detaching": p.get("stop_instance_before_detaching"),
        }


def _live_attachment(vol: Mapping[str, Any]) -> dict[str, Any] | None:
    for att in vol.get("Attachments", []):
        if att.get("State") in ("attaching", "attached"):
            return dict(att)
    return None


class EbsSnapshot(AwsResource):
    name = "aws_ebs_snapshot"
    terraform = _tfshapes.EBS_SNAPSHOT
    schema = Schema(
        holds_data=True,
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "volume_id": Attribute("string", required=True, force_new=True),
            "description": Attribute("string", optional=True, force_new=True),
            "volume_size": Attribute("number", computed=True),
            "encrypted": Attribute("bool", computed=True),
            "kms_key_id": Attribute("string", computed=True),
            "owner_id": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", optional=True),
            "tags_all": Attribute("map", element="string", computed=True),
        },
    )

    def create(self, req: CreateRequest) -> CreateResponse:
        p = strip_unknown(req.planned_state)
        params: dict[str, Any] = {"VolumeId": p["volume_id"]}
        if p.get("description"):
            params["Description"] = p["description"]
        specs = tag_specs("snapshot", p.get("tags_all"), req.token)
        if specs:
            params["TagSpecifications"] = specs
        out = self.api.call("ec2", "CreateSnapshot", **params)
        return CreateResponse(self._state(wait_snapshot(self, out["SnapshotId"]), p))

    def read(self, req: ReadRequest) -> ReadResponse:
        snap = self._describe(str(req.current_state["id"]))
        return ReadResponse(None if snap is None else self._state(snap, req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        snapshot_id = str(req.prior_state["id"])
        update_ec2_tags(self.api, snapshot_id, all_tags(req.prior_state), req.planned_state.get("tags_all"))
        snap = self._describe(snapshot_id)
        if snap is None:
            raise CallError(f"Snapshot {snapshot_id} disappeared during update")
        return UpdateResponse(self._state(snap, req.planned_state))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        self.api.try_call("ec2", "DeleteSnapshot", ("InvalidSnapshot.NotFound",), SnapshotId=str(req.prior_state["id"]))
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        snap = self._describe(req.id)
        if snap is None:
            raise AwsError("DescribeSnapshots", "InvalidSnapshot.NotFound", f"The snapshot '{req.id}' does not exist.")
        return ImportResponse(self._state(snap, {}))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        found = self.find_by_token("DescribeSnapshots", "Snapshots", req.token)
        if not found:
            return ReadResponse(None)
        return ReadResponse(self._state(wait_snapshot(self, found[0]["SnapshotId"]), req.planned_state))

    def _describe(self, snapshot_id: str) -> dict[str, Any] | None:
        out = self.api.try_call("ec2", "DescribeSnapshots", ("InvalidSnapshot.NotFound",), SnapshotIds=[snapshot_id])
        snaps = (out or {}).get("Snapshots", [])
        return dict(snaps[0]) if snaps else None

    def _state(self, snap: Mapping[str, Any], base: Mapping[str, Value]) -> dict[str, Value]:
        return snapshot_state(self.api.region, snap) | {
            "description": snap.get("Description") or base.get("description"),
            **self.tag_state(snap.get("Tags"), base),
        }


def snapshot_state(region: str | None, snap: Mapping[str, Any]) -> dict[str, Value]:
    snapshot_id = snap["SnapshotId"]
    return {
        "id": snapshot_id,
        "arn": f"arn:aws:ec2:{region}::snapshot/{snapshot_id}",
        "volume_id": snap.get("VolumeId"),
        "description": snap.get("Description"),
        "volume_size": snap.get("VolumeSize"),
        "encrypted": bool(snap.get("Encrypted", False)),
        "kms_key_id": snap.get("KmsKeyId"),
        "owner_id": snap.get("OwnerId"),
        "tags": from_tag_list(snap.get("Tags")),
    }


class EbsSnapshotData(AwsDataSource):
    """``data "aws_ebs_snapshot"``: the snapshot matching ids, owners, filters and tags."""

    name = "aws_ebs_snapshot"
    terraform = _tfshapes.EBS_SNAPSHOT_DATA
    schema = Schema(
        attributes={
            "most_recent": Attribute("bool", optional=True, default=False),
            "owners": Attribute("list", element="string", optional=True),
            "snapshot_ids": Attribute("list", element="string", optional=True),
            "restorable_by_user_ids": Attribute("list", element="string", optional=True),
            "tags": Attribute("map", element="string", optional=True, computed=True),
            "id": Attribute("string", computed=True),
            "snapshot_id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "volume_id": Attribute("string", computed=True),
            "volume_size": Attribute("number", computed=True),
            "description": Attribute("string", computed=True),
            "encrypted": Attribute("bool", computed=True),
            "kms_key_id": Attribute("string", computed=True),
            "owner_id": Attribute("string", computed=True),
            "state": Attribute("string", computed=True),
            "start_time": Attribute("string", computed=True),
        },
        blocks={
            "filter": FILTER_BLOCK,
        },
    )

    def read(self, req: ReadDataRequest) -> ReadDataResponse:
        c = req.config
        params: dict[str, Any] = {}
        if c.get("owners"):
            params["OwnerIds"] = list(c["owners"])
        if c.get("snapshot_ids"):
            params["SnapshotIds"] = list(c["snapshot_ids"])
        if c.get("restorable_by_user_ids"):
            params["RestorableByUserIds"] = list(c["restorable_by_user_ids"])
        filters = ec2_filters(c.get("filter"))
        filters += [{"Name": f"tag:{k}", "Values": [str(v)]} for k, v in sorted((c.get("tags") or {}).items())]
        if filters:
            params["Filters"] = filters
        snaps = self.api.call("ec2", "DescribeSnapshots", **params).get("Snapshots", [])
        snap = most_recent(snaps, c, f"data.aws_ebs_snapshot: no snapshot matched {params or 'the (empty) criteria'}.",
                           key=lambda s: (str(s.get("StartTime", "")), s.get("SnapshotId", "")))
        state = dict(c)
        state.update(snapshot_state(self.api.region, snap))
        state.update(
            {
                "snapshot_id": snap["SnapshotId"],
                "state": snap.get("State"),
                "start_time": str(snap.get("StartTime", "")),
                "tags": from_tag_list(snap.get("Tags")) or {},
            }
        )
        return ReadDataResponse(state)
