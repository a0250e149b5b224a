"""AWS-strictness patches for the emulator: refuse what AWS refuses, with AWS's error codes.

moto is more lenient than AWS in ways our failure scenarios depend on. Where the provider cannot
check for itself, :func:`make_emulator_strict` patches the emulator's model classes (in this
process only, once):

* a private IP already in use, or outside the subnet -> ``InvalidIPAddress.InUse`` /
  ``InvalidParameterValue`` (the emulator raised a bare exception: an HTTP 500 page);
* attaching a volume that is already attached -> ``VolumeInUse``; a device name already used on
  the instance -> ``InvalidParameterValue``; volume and instance in different zones ->
  ``InvalidVolume.ZoneMismatch``; an instance that is not alive -> ``IncorrectInstanceState``
  (the emulator accepted all four and corrupted its state);
* ``DetachVolume`` with the volume id alone (AWS accepts it; the emulator raised a TypeError);
* a volume in an availability zone that does not exist -> ``InvalidParameterValue``, and a
  volume smaller than its snapshot -> ``InvalidParameterValue`` (both were accepted);
* new user data for an instance (ModifyInstanceAttribute) is taken as AWS takes it (the emulator
  wanted it base64-encoded twice, and refused a plain script); a replaced instance profile shows
  on the instance (the emulator kept showing the old one).

One patch makes every region usable: the emulator made each image's snapshot from a volume in
``us-east-1a`` whatever the region, which the zone check above refuses outside us-east-1 (so no
region but us-east-1 could even start); images are now made in their own region's first zone.

Two patches are for speed only (the answers are the same): a launch looks its image up by id
directly instead of filtering the whole image catalogue, and the names of a response class's
methods are listed once per class instead of once per request.

The data plane's hooks (``dataplane/hooks.py``) wrap the same methods afterwards; these checks
run first, so a refused call never reaches the data plane.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

__all__ = ["make_emulator_strict"]

_patched = False
_patch_lock = threading.Lock()


def make_emulator_strict() -> None:
    """Patch the in-process emulator to refuse what AWS refuses (see the module docstring)."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        from moto.ec2.exceptions import EC2ClientError
        from moto.ec2.models.elastic_block_store import EBSBackend
        from moto.ec2.models.subnets import Subnet

        def request_ip(self: Any, ip: str, instance: Any) -> None:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                raise EC2ClientError("InvalidParameterValue", f"Invalid IPv4 address: {ip}") from None
            reserved = {self.cidr.network_address + i for i in range(4)} | {self.cidr.broadcast_address}
            if address in reserved:
                raise EC2ClientError(
                    "InvalidParameterValue",
                    f"Address {ip} is reserved in subnet {self.cidr} (AWS keeps the first four and the last).",
                )
            if address not in self.cidr:
                raise EC2ClientError(
                    "InvalidParameterValue",
                    f"Address {ip} does not fall within the subnet's address range ({self.cidr}).",
                )
            if ip in self._subnet_ips:
                raise EC2ClientError("InvalidIPAddress.InUse", f"Address {ip} is in use.")
            self._unused_ips.discard(ip)
            self._subnet_ips[ip] = instance

        original_attach = EBSBackend.attach_volume
        original_create = EBSBackend.create_volume
        original_detach = EBSBackend.detach_volume

        def detach_volume(
            self: Any, volume_id: str, instance_id: str | None = None, device_path: str | None = None
        ) -> Any:
            # AWS accepts DetachVolume with the volume id alone; the emulator needs all three.
            volume = self.get_volume(volume_id)
            if volume is not None and volume.attachment is not None:
                instance_id = instance_id or volume.attachment.instance.id
                device_path = device_path or volume.attachment.device
            elif volume is not None:
                raise EC2ClientError("IncorrectState", f"Volume '{volume_id}' is in the 'available' state.")
            return original_detach(self, volume_id, instance_id or "", device_path or "")

        def attach_volume(
            self: Any, volume_id: str, instance_id: str, device_path: str, delete_on_termination: bool = False
        ) -> Any:
            volume = self.get_volume(volume_id)
            instance = self.get_instance(instance_id)
            if instance is not None and instance.state not in ("pending", "running", "stopping", "stopped"):
                raise EC2ClientError(
                    "IncorrectInstanceState",
                    f"The instance '{instance_id}' is not in a valid state for this operation.",
                )
            if volume is not None and volume.attachment is not None:
                raise EC2ClientError("VolumeInUse", f"{volume_id} is already attached to an instance")
            if instance is not None and device_path in instance.block_device_mapping:
                raise EC2ClientError("InvalidParameterValue", f"Attachment point {device_path} is already in use")
            zone = volume.zone.name if volume is not None and volume.zone is not None else None
            if instance is not None and zone is not None and zone != instance.placement.zone:
                raise EC2ClientError(
                    "InvalidVolume.ZoneMismatch",
                    f"The volume '{volume_id}' is not in the same availability zone as instance '{instance_id}'",
                )
            return original_attach(self, volume_id, instance_id, device_path, delete_on_termination)

        def create_volume(self: Any, size: int, zone_name: str, snapshot_id: str | None = None, **kw: Any) -> Any:
            if self.get_zone_by_name(zone_name) is None:
                raise EC2ClientError("InvalidParameterValue", f"Invalid availability zone: [{zone_name}]")
            if snapshot_id and size is not None:
                snapshot = self.get_snapshot(snapshot_id)
                if int(size) < int(snapshot.volume.size):
                    raise EC2ClientError(
                        "InvalidParameterValue",
                        f"Volume of {size}GiB is too small; minimum is {snapshot.volume.size}GiB.",
                    )
            return original_create(self, size, zone_name, snapshot_id, **kw)

        from moto.ec2.models.amis import AmiBackend

        original_describe_images = AmiBackend.describe_images

        def describe_images(self: Any, *args: Any, **kwargs: Any) -> Any:
            # Every launch looks its image up with the filter image-id, which the emulator
            # answers by testing all its ~1,300 images (about 5 ms a launch); same answer, direct.
            filters = kwargs.get("filters")
            if not args and set(kwargs) == {"filters"} and filters and set(filters) == {"image-id"}:
                wanted = filters["image-id"]
                ids = [wanted] if isinstance(wanted, str) else list(wanted)
                return [self.amis[i] for i in ids if i in self.amis]
            return original_describe_images(self, *args, **kwargs)

        setattr(AmiBackend, "describe_images", describe_images)  # noqa: B010
        _cache_method_names()
        _accept_user_data_as_aws_does()
        _images_in_every_region()
        _replace_profiles_as_aws_does()
        setattr(Subnet, "request_ip", request_ip)  # noqa: B010 - patching the emulator on purpose
        setattr(EBSBackend, "attach_volume", attach_volume)  # noqa: B010
        setattr(EBSBackend, "create_volume", create_volume)  # noqa: B010
        setattr(EBSBackend, "detach_volume", detach_volume)  # noqa: B010
        _patched = True


def _cache_method_names() -> None:
    # The emulator lists every method of the (large) response class on each request to find
    # the action's handler: a few milliseconds a call. Method names do not change once loaded.
    from moto.core import responses

    original = getattr(responses, "method_names_from_class")  # noqa: B009 - imported there from moto.core.utils
    cache: dict[object, list[str]] = {}

    def method_names_from_class(clazz: object) -> list[str]:
        names = cache.get(clazz)
        if names is None:
            names = cache[clazz] = original(clazz)
        return names

    setattr(responses, "method_names_from_class", method_names_from_class)  # noqa: B010


def _accept_user_data_as_aws_does() -> None:
    """ModifyInstanceAttribute's user data is a blob: the bytes on the wire are the user data
    (the SDKs base64-encode them once, as AWS expects). The emulator wanted them base64-encoded a
    second time and refused a script; it now takes the bytes as the user data."""
    import base64

    from moto.core.types import Base64EncodedString
    from moto.ec2.responses import instances

    original = getattr(instances, "parse_user_data")  # noqa: B009 - not exported by the module

    def parse_user_data(value: Any) -> Any:
        if isinstance(value, bytes):
            return Base64EncodedString(base64.b64encode(value).decode("ascii"))
        return original(value)

    setattr(instances, "parse_user_data", parse_user_data)  # noqa: B010


def _replace_profiles_as_aws_does() -> None:
    """ReplaceIamInstanceProfileAssociation changed the association but not the instance, which
    kept describing the old profile; the instance now shows the new one, as on AWS."""
    from moto.ec2.models.iam_instance_profile import IamInstanceProfileAssociationBackend

    original = IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association

    def replace(self: Any, association_id: str, *args: Any, **kw: Any) -> Any:
        association = original(self, association_id, *args, **kw)
        profile = {"Arn": association.iam_instance_profile.arn, "Id": association.association_id}
        self.modify_instance_attribute(association.instance_id, "iam_instance_profile", profile)
        return association

    setattr(IamInstanceProfileAssociationBackend, "replace_iam_instance_profile_association", replace)  # noqa: B010


def _images_in_every_region() -> None:
    """An image's snapshot is made from a volume in the image's own region (see the module
    docstring): the zone the emulator passes by default, ``us-east-1a``, becomes the region's
    first zone when it is not one of the region's."""
    from moto.ec2.models.amis import Ami

    original = Ami.__init__

    def init(self: Any, ec2_backend: Any, *args: Any, **kw: Any) -> None:
        zone = kw.get("region_name", "us-east-1a")
        if ec2_backend.get_zone_by_name(zone) is None:
            zones = [z.name for z in ec2_backend.describe_availability_zones() if z.zone_type == "availability-zone"]
            kw["region_name"] = zones[0] if zones else zone
        original(self, ec2_backend, *args, **kw)

    setattr(Ami, "__init__", init)  # noqa: B010
