"""Instances that run: boots from their image, user data, fstab mounts that follow attachments,
stop/start/reboot/terminate, images, and the host address of their services."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from relight.localcloud import LocalCloud

from .machines import GHE_216, GHE_217, SEED, Machines


@pytest.fixture
def m(dataplane: LocalCloud) -> Machines:
    return Machines(dataplane)


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def test_an_instance_of_a_shipped_image_serves_its_stand_in_service_with_data_on_the_volume(m: Machines) -> None:
    # The documented rule: 10.B.C.D is reached at 127.B.C.D on the same ports; a port another
    # process holds there (another local cloud on this machine) is offered on a free port instead.
    primary_free = _bindable("127.0.1.10", 80)
    node = m.launch(GHE_217)
    assert m.status(node, want=503)["status"] == "no-data-volume"
    vol = m.volume()
    m.attach(vol, node)
    assert m.status(node)["data_token"] is None
    m.sh(node, "echo tok-217 > /data/ghe/token")
    status = m.status(node)
    assert (status["version"], status["schema"], status["data_token"]) == ("2.17.0", 17, "tok-217")
    view = m.view(node)
    assert view["host_address"] == "127.0.1.10"  # from the private IP 10.0.1.10
    host, port = view["ports"]["80"].split(":")
    assert host == "127.0.1.10"
    if port != "80":  # only when another process holds 127.0.1.10:80 (before or after our probe)
        assert not primary_free or not _bindable("127.0.1.10", 80)
    assert m.cloud.instance_address(node) == view


def test_versions_differ_a_newer_one_migrates_old_data_an_older_one_refuses_new_data(m: Machines) -> None:
    old = m.launch(GHE_216, ip="10.0.1.11")
    vol = m.volume()
    m.attach(vol, old)
    m.status(old)
    m.sh(old, "echo t1 > /data/ghe/token")
    assert m.status(old)["schema"] == 16
    m.ec2.terminate_instances(InstanceIds=[old])
    new = m.launch(GHE_217, ip="10.0.1.12")
    m.attach(vol, new)
    status = m.status(new)
    assert (status["version"], status["migrated_from"], status["data_token"]) == ("2.17.0", 16, "t1")
    assert "schema 16 -> 17" in m.sh(new, "cat /data/ghe/migrations.log")
    m.ec2.terminate_instances(InstanceIds=[new])
    back = m.launch(GHE_216, ip="10.0.1.13")
    m.attach(vol, back)
    assert m.status(back, want=409)["status"] == "data-too-new"


def test_the_seed_image_boots_too(m: Machines) -> None:
    node = m.ec2.run_instances(ImageId=SEED, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]  # default VPC
    assert m.status(node, want=503)["version"] == "2.4.0"
    view = m.view(node)
    assert view["host_address"] == "127." + view["private_ip"].split(".", 1)[1]


def test_user_data_runs_once_at_first_boot(m: Machines) -> None:
    script = "#!/bin/sh\necho ran >> /root/user-data.log\n"
    node = m.launch(GHE_217, user_data=script)
    m.wait_booted(node)
    assert m.sh(node, "cat /root/user-data.log") == "ran\n"
    m.ec2.reboot_instances(InstanceIds=[node])
    m.wait_booted(node)
    m.ec2.stop_instances(InstanceIds=[node])
    m.ec2.start_instances(InstanceIds=[node])
    m.wait_booted(node)
    assert m.sh(node, "cat /root/user-data.log") == "ran\n"
    console = m.ec2.get_console_output(InstanceId=node)["Output"]
    assert "running user data (first boot)" in console
    assert console.count("boot finished") == 3


def test_user_data_that_is_not_a_script_is_not_run(m: Machines) -> None:
    node = m.launch(GHE_217, user_data="just some configuration\n")
    m.wait_booted(node)
    assert m.sh(node, "cat /var/lib/cloud/instance/user-data.txt") == "just some configuration\n"
    assert m.run(node, "test -e /root/user-data.log")["ResponseCode"] == 1


def test_volumes_appear_and_disappear_at_their_fstab_mount_point_while_the_instance_runs(m: Machines) -> None:
    node = m.launch(GHE_217)
    m.wait_booted(node)
    first, second = m.volume(), m.volume()
    m.attach(first, node)
    m.sh(node, "mkdir -p /logs && echo '/dev/sdg /logs ext4 defaults 0 2' >> /etc/fstab")
    m.attach(second, node, "/dev/sdg")  # sdg and xvdg are one device
    m.sh(node, "echo one > /data/f", "echo two > /logs/f")
    assert m.sh(node, "cat /data/f /logs/f") == "one\ntwo\n"
    m.detach(first)
    assert m.run(node, "cat /data/f")["ResponseCode"] == 1
    assert m.sh(node, "cat /logs/f") == "two\n"
    m.attach(first, node, "/dev/xvdf")
    assert m.sh(node, "cat /data/f") == "one\n"


def test_a_fstab_line_written_after_the_attach_mounts_the_volume(m: Machines) -> None:
    node = m.launch(GHE_217)
    vol = m.volume()
    m.attach(vol, node, "/dev/xvdh")
    assert m.sh(node, "grep -c xvdh /proc/self/mountinfo || true") == "0\n"
    m.sh(node, "echo '/dev/xvdh /srv/extra ext4 defaults 0 2' >> /etc/fstab", "echo hi > /tmp/x")
    assert m.sh(node, "mountpoint -q /srv/extra && echo mounted") == "mounted\n"


def test_stop_kills_every_process_and_reboot_keeps_the_root_filesystem(m: Machines) -> None:
    node = m.launch(GHE_217)
    m.sh(node, "echo kept > /root/file", "nohup sleep 1000 >/dev/null 2>&1 &")
    assert "sleep 1000" in m.sh(node, "ps -eo args")
    m.ec2.reboot_instances(InstanceIds=[node])
    out = m.sh(node, "cat /root/file; ps -eo args")
    assert out.startswith("kept\n") and "sleep 1000" not in out
    m.ec2.stop_instances(InstanceIds=[node])
    with pytest.raises(m.ssm.exceptions.InvalidInstanceId):
        m.ssm.send_command(InstanceIds=[node], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]})
    m.ec2.start_instances(InstanceIds=[node])
    assert m.sh(node, "cat /root/file") == "kept\n"


def test_terminate_deletes_the_root_filesystem_and_delete_on_termination_volumes_only(m: Machines) -> None:
    node = m.launch(GHE_217)
    kept = m.volume()
    m.attach(kept, node)
    m.sh(node, "echo data > /data/f")
    view = m.view(node)
    plane = m.cloud.data_plane
    root = plane.store.volume_path(view["root_volume_id"])
    assert root is not None and (root / "opt/ghe/server.py").exists()
    m.ec2.terminate_instances(InstanceIds=[node])
    assert not root.exists()
    assert plane.store.volume_path(kept) is not None
    assert (plane.store.volume_path(kept) / "f").read_text() == "data\n"
    assert m.ec2.describe_volumes(VolumeIds=[kept])["Volumes"][0]["State"] == "available"


def test_create_image_captures_the_root_filesystem_not_the_data_volumes(m: Machines) -> None:
    builder = m.launch(GHE_217, ip="10.0.1.20")
    vol = m.volume()
    m.attach(vol, builder)
    m.sh(builder, "echo baked > /opt/ghe/EXTRA", "echo data > /data/not-in-image")
    image = m.ec2.create_image(InstanceId=builder, Name="ghe-2.17.1-baked")["ImageId"]
    m.sh(builder, "echo later > /opt/ghe/LATER")  # after the image: not in it
    child = m.launch(image, ip="10.0.1.21")
    assert m.sh(child, "cat /opt/ghe/EXTRA; ls /opt/ghe; ls /data 2>&1 || true").startswith("baked\n")
    listing = m.sh(child, "ls /opt/ghe")
    assert "LATER" not in listing and "server.py" in listing
    assert m.run(child, "test -e /data/not-in-image")["ResponseCode"] == 1
    assert m.status(child, want=503)["version"] == "2.17.0"  # the service came with the image


def test_host_addresses_are_unique_and_come_back_with_the_private_ip(m: Machines) -> None:
    first = m.launch(GHE_217, ip="10.0.1.30")
    assert m.port(first) == "127.0.1.30:80"
    m.ec2.terminate_instances(InstanceIds=[first])
    again = m.launch(GHE_217, ip="10.0.1.30")
    assert m.port(again) == "127.0.1.30:80"  # a replacement is reached where the old one was
    other_vpc = m.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = m.ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    twin = m.ec2.run_instances(
        ImageId=GHE_217, MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"], PrivateIpAddress="10.0.1.30"
    )["Instances"][0]["InstanceId"]
    assert m.view(twin)["host_address"].startswith("127.254.")
    assert m.status(twin, want=503)["version"] == "2.17.0"


def test_a_volume_cannot_hold_much_more_than_its_size(m: Machines) -> None:
    node = m.launch(GHE_217)
    vol = m.volume(size=1)
    m.attach(vol, node)
    inv = m.run(
        node,
        "fallocate -l 1100M /data/big",
        "for i in $(seq 100); do echo more 2>/dev/null > /data/after || break; rm /data/after; sleep 0.1; done",
        "echo more > /data/after",
        timeout=120,
    )
    assert inv["Status"] == "Failed"
    assert "Read-only file system" in inv["StandardErrorContent"]
    path = m.cloud.data_plane.store.volume_path(vol)
    assert not (path / "after").exists()
    console = m.ec2.get_console_output(InstanceId=node)["Output"]
    assert f"volume {vol} holds" in console and "read-only" in console
    m.sh(node, "mount -o remount,rw,bind /data && rm /data/big && echo ok > /data/after")  # root can clean up
    assert (path / "after").read_text() == "ok\n"


def test_the_instances_listing_and_a_missing_instance(m: Machines) -> None:
    import json
    import urllib.error
    import urllib.request

    node = m.launch(GHE_217)
    with urllib.request.urlopen(f"{m.cloud.endpoint}/_relight/instances") as resp:
        listed = json.load(resp)["instances"]
    assert [i["instance_id"] for i in listed] == [node]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{m.cloud.endpoint}/_relight/instances/i-0123456789abcdef0")
    assert err.value.code == 404


def test_many_instances_boot_and_are_stopped(m: Machines, tmp_path: Path) -> None:
    nodes = [m.launch(GHE_217, ip=f"10.0.1.{40 + i}") for i in range(8)]
    for node in nodes:
        m.wait_booted(node)
    m.ec2.terminate_instances(InstanceIds=nodes)
    deadline = time.monotonic() + 10
    while any(m.cloud.data_plane.instance_view(n) for n in nodes):
        assert time.monotonic() < deadline
        time.sleep(0.05)
