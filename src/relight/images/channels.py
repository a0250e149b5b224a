"""Promote, revoke and prune: the registry's record and the cloud's tags moved together.

A channel is written twice: in the registry (with its history, for ``--downgrade`` and people)
and as the tag ``relight:channel:NAME = "true"`` on the image in the cloud, which is what
``data "relight_image"`` (and a plain ``data "aws_ami"`` filter) reads. The cloud is changed
first: a promotion that fails there leaves the registry as it was; one that fails after it
(the registry file cannot be written) is reported and is repaired by promoting again.

Contract of each function: returns what it did as data; raises :class:`RegistryError` for a
request that cannot be done (unknown image, revoked image) and :class:`CallError` for a cloud
refusal, in both cases before anything changed when it can tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from relight.channel_names import channel_problem
from relight.images.cleanup import remove_image
from relight.images.cloud import CHANNEL_TAG_PREFIX, IMAGE_NAME_TAG, REVOKED_TAG, Cloud, tag_list, tags_of
from relight.images.registry import ImageRecord, ImageRegistry, RegistryError

__all__ = ["PruneReport", "promote", "prune", "revoke"]

def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_channel(channel: str) -> None:
    problem = channel_problem(channel)
    if problem is not None:
        raise RegistryError(problem)


def promote(
    cloud: Cloud, registry: ImageRegistry, image_id: str, channel: str, by: str = ""
) -> tuple[ImageRecord, str | None]:
    """Point ``channel`` of the image's name at ``image_id``; returns the record and the image
    the channel pointed at before (None if none)."""
    check_channel(channel)
    record = registry.get(image_id)
    if record.status != "built":
        raise RegistryError(f"{record.image_id} is {record.status}: it cannot be promoted")
    cloud = cloud.for_region(record.region)
    key = CHANNEL_TAG_PREFIX + channel
    images = cloud.call(
        "ec2", "DescribeImages", Owners=["self"], Filters=[{"Name": f"tag:{IMAGE_NAME_TAG}", "Values": [record.name]}]
    ).get("Images", [])
    if not any(i["ImageId"] == record.image_id for i in images):
        raise RegistryError(f"{record.image_id} is not in the cloud any more (deregistered?); build it again")
    for image in images:
        if image["ImageId"] != record.image_id and key in tags_of(image):
            cloud.call("ec2", "DeleteTags", Resources=[image["ImageId"]], Tags=[{"Key": key}])
    cloud.call("ec2", "CreateTags", Resources=[record.image_id], Tags=tag_list({key: "true"}))
    return registry.set_channel(record.image_id, channel, _now(), by)


def revoke(cloud: Cloud, registry: ImageRegistry, image_id: str) -> ImageRecord:
    """Mark the image revoked: its channel tags go, ``relight:revoked`` is set (the data source
    refuses it), the registry records it. The image itself stays (running nodes use it)."""
    record = registry.get(image_id)
    cloud = cloud.for_region(record.region)
    found = cloud.try_call("ec2", "DescribeImages", ("InvalidAMIID.NotFound",), ImageIds=[record.image_id])
    for image in (found or {}).get("Images", []):
        channel_tags = [{"Key": k} for k in tags_of(image) if k.startswith(CHANNEL_TAG_PREFIX)]
        if channel_tags:
            cloud.call("ec2", "DeleteTags", Resources=[record.image_id], Tags=channel_tags)
        cloud.call("ec2", "CreateTags", Resources=[record.image_id], Tags=tag_list({REVOKED_TAG: _now()}))
    return registry.set_status(record.image_id, "revoked")


@dataclass
class PruneReport:
    removed: list[tuple[str, list[str]]] = field(default_factory=list)  # image id, its snapshots
    kept: list[str] = field(default_factory=list)


def prune(
    cloud: Cloud, registry: ImageRegistry, keep: int, name: str | None = None, dry_run: bool = False
) -> PruneReport:
    """For each image name, keep the ``keep`` newest builds and every build in a channel;
    deregister the others (and delete their snapshots), marking them ``pruned``."""
    if keep < 1:
        raise RegistryError("--keep must be at least 1")
    report = PruneReport()
    by_name: dict[str, list[ImageRecord]] = {}
    for record in registry.images(name):
        if record.status in ("built", "revoked"):
            by_name.setdefault(record.name, []).append(record)
    for records in by_name.values():
        records.sort(key=lambda r: r.built_at, reverse=True)
        for n, record in enumerate(records):
            if n < keep or record.channels:
                report.kept.append(record.image_id)
                continue
            snapshots = [] if dry_run else remove_image(cloud.for_region(record.region), record.image_id)
            if not dry_run:
                registry.set_status(record.image_id, "pruned")
            report.removed.append((record.image_id, snapshots))
    return report
