"""The embedded local cloud: an AWS-API emulator (moto's server) on 127.0.0.1.

``relight local-cloud`` runs one in the foreground; :class:`LocalCloud` starts one in-process
for tests and the demo::

    with LocalCloud() as cloud:
        os.environ.update(cloud.env())
        ...  # relight plan / apply against cloud.endpoint

The emulator is more lenient than AWS in a few ways our failure scenarios depend on. Where the
provider cannot check for itself, :func:`make_emulator_strict` patches the emulator (in this
process only) to refuse what AWS refuses, with AWS's error codes:

* a private IP already in use, or outside the subnet -> ``InvalidIPAddress.InUse`` /
  ``InvalidParameterValue`` (the emulator raised a bare exception: an HTTP 500 page);
* attaching a volume that is already attached -> ``VolumeInUse``; a device name already used on
  the instance -> ``InvalidParameterValue``; volume and instance in different zones ->
  ``InvalidVolume.ZoneMismatch`` (the emulator accepted all three and corrupted its state);
* a volume in an availability zone that does not exist -> ``InvalidParameterValue``, and a
  volume smaller than its snapshot -> ``InvalidParameterValue`` (both were accepted);
* new user data for a stopped instance (ModifyInstanceAttribute) is taken as AWS takes it (the
  emulator wanted it base64-encoded twice, and refused a plain script); a replaced instance
  profile shows on the instance (the emulator kept showing the old one).

moto is an optional dependency (``pip install 'relight[local]'``); importing this module
without it raises :class:`LocalCloudUnavailable` with that instruction.

Every answer carries the header ``x-relight-local-cloud`` (naming the emulator and its version), so
the aws provider knows it is talking to the local cloud and can say which settings the emulator
accepts but cannot apply (docs/local-cloud.md lists them).

Images: besides the emulator's public catalogue, the local cloud offers the machine images our
examples boot, owned by the local account (``owners = ["self"]``): ``ami-347c015e``, the image
id the 2015 seed hard-codes, and ``ghe-<version>-<date>`` images for ``examples/github-enterprise``
(standing in for images baked with Packer on a real account).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import urllib.request
from types import TracebackType
from typing import Any

from relight.errors import RelightError

__all__ = ["DEFAULT_PORT", "LocalCloud", "LocalCloudUnavailable", "make_emulator_strict"]

DEFAULT_PORT = 4566
REGION = "us-east-1"
ACCESS_KEY = "relight-local"
SECRET_KEY = "relight-local-secret"


class LocalCloudUnavailable(RelightError):
    """The emulator (moto) is not installed, or its port is taken."""


_patched = False
_patch_lock = threading.Lock()

ACCOUNT = "123456789012"  # the emulator's account id
IMAGES: tuple[dict[str, Any], ...] = (
    {"ami_id": "ami-347c015e", "name": "github-enterprise-2.4.0-seed", "creation_date": "2015-11-20T00:00:00.000Z"},
    {"ami_id": "ami-0a17e2160c0ffee01", "name": "ghe-2.16.0-20261001", "creation_date": "2026-10-01T00:00:00.000Z"},
    {"ami_id": "ami-0a17e2170c0ffee02", "name": "ghe-2.17.0-20261101", "creation_date": "2026-11-01T00:00:00.000Z"},
)


def _add_images() -> None:
    from moto.ec2.models import amis

    present = {a["ami_id"] for a in amis.AMIS}
    for image in IMAGES:
        if image["ami_id"] in present:
            continue
        amis.AMIS.append(
            {
                "state": "available",
                "public": False,
                "owner_id": ACCOUNT,
                "root_device_type": "ebs",
                "root_device_name": "/dev/xvda",
                "description": f"{image['name']} (local cloud image)",
                "image_type": "machine",
                "platform": None,
                "architecture": "x86_64",
                "virtualization_type": "hvm",
                "hypervisor": "xen",
                "image_location": f"{ACCOUNT}/{image['name']}",
                **image,
            }
        )


def emulator_name() -> str:
    """What the local cloud's answers say it is (the header's value), e.g. "moto 5.2.5"."""
    from importlib.metadata import version

    return f"moto {version('moto')}"


def _marked(app: Any) -> Any:
    """The WSGI application with every answer marked as the local cloud's."""
    mark = ("x-relight-local-cloud", emulator_name())

    def marked(environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            return start_response(status, [*headers, mark], *rest)

        return app(environ, start)

    return marked


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

        _accept_user_data_as_aws_does()
        _replace_profiles_as_aws_does()
        setattr(Subnet, "request_ip", request_ip)  # noqa: B010 - patching the emulator on purpose
        setattr(EBSBackend, "attach_volume", attach_volume)  # noqa: B010
        setattr(EBSBackend, "create_volume", create_volume)  # noqa: B010
        setattr(EBSBackend, "detach_volume", detach_volume)  # noqa: B010
        _add_images()
        _patched = True


class LocalCloud:
    """One emulator server on 127.0.0.1, in a background thread of this process.

    ``port=0`` picks a free port. State lives in memory while the server runs; :meth:`reset`
    empties it. ``stop`` (or leaving the ``with`` block) shuts the server down cleanly.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", region: str = REGION) -> None:
        try:
            server_class = _marked_server_class()
        except ImportError:
            raise LocalCloudUnavailable(
                "The local cloud needs the AWS emulator (moto). Install it with: pip install 'relight[local]'"
            ) from None
        self.host = host
        self.region = region
        self._port = port or _free_port(host)
        self._server = server_class(ip_address=host, port=self._port, verbose=False)
        self._running = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self._port}"

    def env(self) -> dict[str, str]:
        """The environment variables that point boto3 (and so relight) at this cloud."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def start(self) -> LocalCloud:
        if _port_taken(self.host, self._port):
            raise LocalCloudUnavailable(
                f"Port {self._port} on {self.host} is already in use. Choose another with --port, "
                "or stop the process that holds it."
            )
        make_emulator_strict()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self._server.start()
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._server.stop()

    def reset(self) -> None:
        """Forget every object in the emulator."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10):
            pass

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _marked_server_class() -> type[Any]:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class MarkedServer(ThreadedMotoServer):
        """moto's threaded server, answering through :func:`_marked`."""

        def _server_entry(self) -> None:
            app = _marked(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return MarkedServer


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0
