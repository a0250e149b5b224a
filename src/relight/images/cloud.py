"""The image builder's view of AWS: :class:`Cloud`, calls through the aws provider's boundary.

Every EC2 and SSM call of a build, a gc, a promotion or a rehearsal goes through
:class:`relight.providers.aws.AwsApi` (botocore's errors translated once, cloud time on a
clock), and is counted here by operation, so a build can say how many calls it made and the
benchmark can set them beside Packer's sequence. Settings come from the run's environment
(``AWS_*``), never from ``os.environ``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from relight.providers.aws import AwsApi, AwsError, AwsSettings
from relight.providers.aws.relight_image import (
    BUILD_ID_TAG,
    CHANNEL_TAG_PREFIX,
    DIGEST_TAG,
    IMAGE_NAME_TAG,
    REVOKED_TAG,
    SOURCE_IMAGE_TAG,
)
from relight.providers.clock import CloudClock
from relight.providers.framework import CallError

__all__ = [
    "BUILD_ID_TAG",
    "BUILD_NAME_TAG",
    "BUILD_STATE_TAG",
    "CHANNEL_TAG_PREFIX",
    "DIGEST_TAG",
    "IMAGE_NAME_TAG",
    "REVOKED_TAG",
    "SOURCE_IMAGE_TAG",
    "AwsError",
    "CallError",
    "Canceled",
    "Cloud",
]

_T = TypeVar("_T")

BUILD_NAME_TAG = "relight:build"
BUILD_STATE_TAG = "relight:build-state"  # "pending" until the build finished, then "complete"


class Canceled(Exception):
    """The build or rehearsal was asked to stop (Ctrl-C, SIGTERM); cleanup follows."""


class Cloud:
    """EC2 and SSM for one build or rehearsal, in one region, with a cancel event.

    ``call`` raises :class:`AwsError` (a refusal, with its code) or :class:`CallError`;
    ``wait`` polls until a probe answers, and raises :class:`Canceled` as soon as ``cancel``
    is set, so a Ctrl-C never waits for a slow cloud.
    """

    def __init__(
        self,
        environment: Mapping[str, str],
        region: str | None = None,
        cancel: threading.Event | None = None,
        clock: CloudClock | None = None,
    ) -> None:
        settings = AwsSettings({"region": region} if region else {}, environment)
        self.clock = clock or CloudClock()
        self.api = AwsApi(settings, self.clock)
        if self.api.region is None:
            raise CallError(
                "No AWS region", "Set region in the source block (a build), pass -region, or export AWS_REGION."
            )
        self.region: str = self.api.region
        self.environment = environment
        self.endpoint = settings.endpoints.get("ec2")
        self.cancel = cancel or threading.Event()
        self.calls: Counter[str] = Counter()
        self.sequence: list[str] = []
        self._lock = threading.Lock()

    def for_region(self, region: str) -> Cloud:
        """This cloud in ``region`` (itself when it is already there): an image lives in the
        region it was built in, whatever region the command runs with."""
        if not region or region == self.region:
            return self
        return Cloud(self.environment, region, self.cancel, self.clock)

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        with self._lock:
            self.calls[operation] += 1
            self.sequence.append(operation)
        return self.api.call(service, operation, **params)

    def try_call(self, service: str, operation: str, missing: tuple[str, ...], **params: Any) -> dict[str, Any] | None:
        try:
            return self.call(service, operation, **params)
        except AwsError as exc:
            if exc.code in missing:
                return None
            raise

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Canceled()

    def wait(self, what: str, probe: Callable[[], _T | None], timeout: float, interval: float = 0.2) -> _T:
        """Poll ``probe`` (backing off to 3 s) until it returns a value; CallError after
        ``timeout`` seconds; Canceled as soon as the cancel event is set."""
        deadline = time.monotonic() + timeout
        delay = interval
        while True:
            self.check_cancel()
            found = probe()
            if found is not None:
                return found
            if time.monotonic() + delay > deadline:
                raise CallError(f"Timed out after {timeout:.0f}s waiting for {what}")
            self.clock.enter()
            try:
                if self.cancel.wait(delay):
                    raise Canceled()
            finally:
                self.clock.leave()
            delay = min(delay * 1.5, 3.0)

    def instance_state(self, instance_id: str) -> str | None:
        out = self.try_call("ec2", "DescribeInstances", ("InvalidInstanceID.NotFound",), InstanceIds=[instance_id])
        for reservation in (out or {}).get("Reservations", []):
            for inst in reservation.get("Instances", []):
                return str(inst["State"]["Name"])
        return None

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        out = self.try_call("ec2", "DescribeInstances", ("InvalidInstanceID.NotFound",), InstanceIds=[instance_id])
        for reservation in (out or {}).get("Reservations", []):
            for inst in reservation.get("Instances", []):
                return dict(inst)
        return None

    def host_address(self, instance_id: str) -> tuple[str, dict[str, str]] | None:
        """Where the host reaches an instance's services on the local cloud (its ``/_relight``
        API: address and port map), or None on AWS (use the instance's IP)."""
        if not self.endpoint:
            return None
        url = f"{self.endpoint.rstrip('/')}/_relight/instances/{instance_id}"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                doc = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None
        if not isinstance(doc, dict) or not doc.get("host_address"):
            return None
        return str(doc["host_address"]), {str(k): str(v) for k, v in (doc.get("ports") or {}).items()}

    def tagged(self, key: str, value: str | None = None) -> dict[str, list[str]]:
        """Ids of live objects carrying tag ``key`` (= ``value``), by kind."""
        filters = (
            [{"Name": f"tag:{key}", "Values": [value]}] if value is not None else [{"Name": "tag-key", "Values": [key]}]
        )
        out: dict[str, list[str]] = {
            "instances": [],
            "security_groups": [],
            "key_pairs": [],
            "images": [],
            "snapshots": [],
            "volumes": [],
        }
        reservations = self.call("ec2", "DescribeInstances", Filters=filters).get("Reservations", [])
        out["instances"] = [
            i["InstanceId"]
            for r in reservations
            for i in r.get("Instances", [])
            if i["State"]["Name"] not in ("terminated",)
        ]
        out["security_groups"] = [
            g["GroupId"] for g in self.call("ec2", "DescribeSecurityGroups", Filters=filters).get("SecurityGroups", [])
        ]
        out["key_pairs"] = [
            k["KeyName"] for k in self.call("ec2", "DescribeKeyPairs", Filters=filters).get("KeyPairs", [])
        ]
        out["images"] = [
            i["ImageId"] for i in self.call("ec2", "DescribeImages", Owners=["self"], Filters=filters).get("Images", [])
        ]
        out["snapshots"] = [
            s["SnapshotId"]
            for s in self.call("ec2", "DescribeSnapshots", OwnerIds=["self"], Filters=filters).get("Snapshots", [])
        ]
        out["volumes"] = [
            v["VolumeId"] for v in self.call("ec2", "DescribeVolumes", Filters=filters).get("Volumes", [])
        ]
        return out


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def tags_of(item: Mapping[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in item.get("Tags", []) or []}
