"""Volumes and snapshots hold bytes: a snapshot is a copy at that moment, a volume from a snapshot
starts with its content, deleting frees it, a failed copy answers with an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from relight.localcloud import LocalCloud
from relight.localcloud.dataplane import StoreError

from .machines import GHE_217, Machines


@pytest.fixture
def m(dataplane: LocalCloud) -> Machines:
    return Machines(dataplane)


def _files(path: Path | None) -> dict[str, str]:
    """Regular files and their text (leaving out the stand-in service's own data, in ghe/)."""
    if path is None:
        return {}
    found = {str(p.relative_to(path)): p for p in sorted(path.rglob("*"))}
    return {k: p.read_text() for k, p in found.items() if p.is_file() and not p.is_symlink() and not k.startswith("ghe")}


def test_a_snapshot_is_the_volume_at_that_moment_and_a_volume_from_it_starts_with_it(m: Machines) -> None:
    store = m.cloud.data_plane.store
    node = m.launch(GHE_217)
    vol = m.volume()
    m.attach(vol, node)
    m.sh(node, "mkdir -p /data/d && echo before > /data/d/f && ln -s d/f /data/link")
    snap = m.ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    m.sh(node, "echo after > /data/d/f && echo new > /data/g")
    assert _files(store.snapshot_path(snap)) == {"d/f": "before\n"}
    assert (store.snapshot_path(snap) / "link").is_symlink()
    restored = m.volume(snapshot=snap)
    assert _files(store.volume_path(restored)) == {"d/f": "before\n"}
    m.detach(vol)
    m.attach(restored, node)
    assert m.sh(node, "cat /data/d/f /data/link; ls /data/d; test -e /data/g || echo no-g") == "before\nbefore\nf\nno-g\n"


def test_deleting_frees_the_content(m: Machines) -> None:
    store = m.cloud.data_plane.store
    node = m.launch(GHE_217)
    vol = m.volume()
    m.attach(vol, node)
    m.sh(node, "echo x > /data/f")
    snap = m.ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    m.detach(vol)
    path, snap_path = store.volume_path(vol), store.snapshot_path(snap)
    assert path is not None and snap_path is not None
    m.ec2.delete_volume(VolumeId=vol)
    m.ec2.delete_snapshot(SnapshotId=snap)
    assert not path.exists() and not snap_path.exists()
    assert list((m.cloud.data_dir / "trash").iterdir()) == []  # not durable: purged at once


def test_an_empty_volume_has_no_directory_and_makes_an_empty_snapshot(m: Machines) -> None:
    store = m.cloud.data_plane.store
    vol = m.volume()
    assert store.volume_path(vol) is None
    snap = m.ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    assert store.snapshot_path(snap) is None
    assert store.volume_path(m.volume(snapshot=snap)) is None


def test_a_copy_that_fails_answers_with_an_error_and_leaves_no_object(m: Machines, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    store = m.cloud.data_plane.store
    node = m.launch(GHE_217)
    vol = m.volume()
    m.attach(vol, node)
    m.sh(node, "echo x > /data/f")

    def full(*args: object, **kwargs: object) -> None:
        raise StoreError(28, "No space left on device")

    monkeypatch.setattr(store, "create_snapshot", full)
    with pytest.raises(ClientError) as err:
        m.ec2.create_snapshot(VolumeId=vol)
    assert err.value.response["Error"]["Code"] == "InsufficientStorage"
    assert m.ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vol]}])["Snapshots"] == []
    assert _files(store.volume_path(vol)) == {"f": "x\n"}  # the source is untouched


def test_copy_snapshot_copies_the_content(m: Machines) -> None:
    store = m.cloud.data_plane.store
    node = m.launch(GHE_217)
    vol = m.volume()
    m.attach(vol, node)
    m.sh(node, "echo x > /data/f")
    snap = m.ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    copy = m.ec2.copy_snapshot(SourceSnapshotId=snap, SourceRegion="us-east-1")["SnapshotId"]
    assert _files(store.snapshot_path(copy)) == {"f": "x\n"}


def test_a_launch_with_a_data_volume_from_a_snapshot_mounts_it(m: Machines) -> None:
    node = m.launch(GHE_217)
    vol = m.volume()
    m.attach(vol, node)
    m.status(node)
    m.sh(node, "echo launched-token > /data/ghe/token")
    snap = m.ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    m.ec2.terminate_instances(InstanceIds=[node])
    other = m.launch(
        GHE_217,
        ip="10.0.1.60",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvdf", "Ebs": {"SnapshotId": snap, "DeleteOnTermination": True}}],
    )
    assert m.status(other)["data_token"] == "launched-token"
