"""Act on instances of the local cloud's data plane as a user does: boto3 (EC2, SSM) and HTTP."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest

from relight.localcloud import LocalCloud

GHE_216 = "ami-0a17e2160c0ffee01"
GHE_217 = "ami-0a17e2170c0ffee02"
SEED = "ami-347c015e"
ZONE = "us-east-1a"


class Machines:
    """EC2 and SSM clients on the local cloud, and waits with clear failures."""

    def __init__(self, cloud: LocalCloud | None, endpoint: str | None = None) -> None:
        self.cloud: Any = cloud
        self.endpoint = endpoint or (cloud.endpoint if cloud is not None else "")
        self.ec2: Any = boto3.client("ec2", endpoint_url=self.endpoint)
        self.ssm: Any = boto3.client("ssm", endpoint_url=self.endpoint)
        self._subnet: str | None = None

    @property
    def subnet(self) -> str:
        if self._subnet is None:
            vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            self._subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=ZONE)[
                "Subnet"
            ]["SubnetId"]
        return self._subnet

    def launch(self, image: str = GHE_217, ip: str | None = "10.0.1.10", user_data: str | None = None, **kw: Any) -> str:
        """Launch as the aws provider does: a primary interface that goes with the instance."""
        nic: dict[str, Any] = {"DeviceIndex": 0, "SubnetId": self.subnet, "DeleteOnTermination": True}
        if ip:
            nic["PrivateIpAddress"] = ip
        params: dict[str, Any] = {"ImageId": image, "MinCount": 1, "MaxCount": 1, "NetworkInterfaces": [nic], **kw}
        if user_data is not None:
            params["UserData"] = user_data
        return str(self.ec2.run_instances(**params)["Instances"][0]["InstanceId"])

    def volume(self, size: int = 1, snapshot: str | None = None) -> str:
        params: dict[str, Any] = {"Size": size, "AvailabilityZone": ZONE}
        if snapshot:
            params["SnapshotId"] = snapshot
        return str(self.ec2.create_volume(**params)["VolumeId"])

    def attach(self, volume: str, instance: str, device: str = "/dev/xvdf") -> None:
        self.ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device=device)

    def detach(self, volume: str) -> None:
        self.ec2.detach_volume(VolumeId=volume)

    def run(self, instance: str, *commands: str, timeout: float = 60.0, **params: list[str]) -> dict[str, Any]:
        """Send an AWS-RunShellScript command; wait for its final invocation record."""
        out = self.ssm.send_command(
            InstanceIds=[instance],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": list(commands), **params},
        )
        command_id = out["Command"]["CommandId"]
        deadline = time.monotonic() + timeout
        while True:
            inv = self.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)
            if inv["Status"] not in ("Pending", "InProgress", "Delayed"):
                return dict(inv)
            assert time.monotonic() < deadline, f"command still {inv['Status']} after {timeout}s: {commands}"
            time.sleep(0.05)

    def sh(self, instance: str, *commands: str) -> str:
        """Run commands that must succeed; their stdout."""
        inv = self.run(instance, *commands)
        assert inv["Status"] == "Success", f"{commands} -> {inv['Status']} {inv['ResponseCode']}: {inv['StandardErrorContent']}"
        return str(inv["StandardOutputContent"])

    def view(self, instance: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.endpoint}/_relight/instances/{instance}", timeout=10) as resp:
            return dict(json.load(resp))

    def port(self, instance: str, port: int = 80, timeout: float = 30.0) -> str:
        """``host:port`` where the host reaches the instance's port, once it listens."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.view(instance)["ports"].get(str(port))
            if found:
                return str(found)
            assert time.monotonic() < deadline, f"{instance} does not listen on {port}: {self.view(instance)}"
            time.sleep(0.1)

    def status(self, instance: str, timeout: float = 30.0, want: int | None = 200) -> dict[str, Any]:
        """The stand-in service's GET /status (waits until it answers ``want``, if given)."""
        if not any(os.access(f"{d}/python3", os.X_OK) for d in ("/usr/local/bin", "/usr/bin")):
            pytest.skip("the stand-in service runs with the host's python3, which this machine has not")
        deadline = time.monotonic() + timeout
        while True:
            address = self.port(instance, timeout=timeout)
            try:
                with urllib.request.urlopen(f"http://{address}/status", timeout=5) as resp:
                    code, body = resp.status, json.load(resp)
            except urllib.error.HTTPError as exc:
                code, body = exc.code, json.load(exc)
            except OSError:
                code, body = 0, {}
            if want is None or code == want:
                return {"code": code, **body}
            assert time.monotonic() < deadline, f"/status of {instance} answers {code} {body}, not {want}"
            time.sleep(0.1)

    def state(self, instance: str) -> str:
        out = self.ec2.describe_instances(InstanceIds=[instance])
        return str(out["Reservations"][0]["Instances"][0]["State"]["Name"])

    def wait_booted(self, instance: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.view(instance)["booted"]:
            assert time.monotonic() < deadline, f"{instance} did not finish booting: {self.view(instance)}"
            time.sleep(0.05)
