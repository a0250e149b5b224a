"""The module-based example stack (examples/github-enterprise-modules) on the local cloud.

* The single-node stack (examples/github-enterprise) switches over to it: its ``moved`` blocks
  carry every object to its module address, and nothing in the cloud is created or destroyed.
* Two nodes from one module call (``for_each``): planned, applied, settled; a terminated
  replica comes back with its IP, its volume and its alarms, through ``relight heal``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from relight.localcloud import LocalCloud

from .stack import EXAMPLES, Cloud, copy_example, relight

TWO_NODES = 'nodes={primary={private_ip="10.0.1.10"}, replica={private_ip="10.0.1.11", data_volume_size=50}}'


def use_modules_example(workdir: Path) -> None:
    """Replace the configuration in ``workdir`` with the module-based example (state kept)."""
    for old in workdir.glob("*.tf"):
        old.unlink()
    source = EXAMPLES / "github-enterprise-modules"
    for path in source.rglob("*.tf"):
        target = workdir / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)


def outputs(workdir: Path) -> dict[str, object]:
    res = relight(workdir, "output", "-json")
    assert res.code == 0, res.text
    return {k: v["value"] for k, v in json.loads(res.out).items()}


def test_the_single_node_stack_moves_into_modules_without_touching_the_cloud(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    workdir = copy_example("github-enterprise", tmp_path)
    assert relight(workdir, "apply", "-auto-approve").code == 0
    flat = outputs(workdir)
    use_modules_example(workdir)
    planned = relight(workdir, "plan", "-no-color")
    assert planned.code == 0, planned.text
    assert "Plan: 0 to add, 0 to change, 0 to destroy." in planned.out
    assert '# aws_instance.ghe_node has moved to module.ghe["primary"].aws_instance.node' in planned.out
    applied = relight(workdir, "apply", "-auto-approve")
    assert applied.code == 0, applied.text
    assert outputs(workdir)["instance_ids"] == {"primary": flat["instance_id"]}
    listed = relight(workdir, "state", "list").out.split()
    assert 'module.ghe["primary"].aws_instance.node' in listed and "module.network.aws_vpc.main" in listed
    assert not any(line.startswith("aws_") for line in listed)
    assert relight(workdir, "plan", "-detailed-exitcode").code == 0


def test_two_nodes_from_one_module_call_apply_settle_and_heal(cloud: LocalCloud, tmp_path: Path) -> None:
    workdir = tmp_path / "stack"
    workdir.mkdir()
    use_modules_example(workdir)
    first = relight(workdir, "apply", "-auto-approve", "-var", TWO_NODES)
    assert first.code == 0, first.text
    assert "Apply complete! Resources: 16 added" in first.out
    assert relight(workdir, "plan", "-detailed-exitcode", "-var", TWO_NODES).code == 0
    view = Cloud()
    ips = sorted(i["PrivateIpAddress"] for i in view.instances())
    assert ips == ["10.0.1.10", "10.0.1.11"]
    assert view.a_records() == {"ghe.corp.internal": ["10.0.1.10"], "ghe-replica.corp.internal": ["10.0.1.11"]}
    before = outputs(workdir)
    replica = str(before["instance_ids"]["replica"])  # type: ignore[index]
    view.terminate(replica)
    (workdir / "terraform.tfvars").write_text(TWO_NODES + "\n")
    healed = relight(workdir, "heal")
    assert healed.code == 0 and "recovered in" in healed.out, healed.text
    after = outputs(workdir)
    new_replica = after["instance_ids"]["replica"]  # type: ignore[index]
    assert new_replica != replica and after["instance_ids"]["primary"] == before["instance_ids"]["primary"]  # type: ignore[index]
    volume = view.volume(str(before["data_volume_ids"]["replica"]))  # type: ignore[index]
    assert [a["InstanceId"] for a in volume["Attachments"]] == [new_replica]
    assert view.alarms()["ghe-replica-cpu-high"]["Dimensions"] == [{"Name": "InstanceId", "Value": new_replica}]
    assert sorted(i["PrivateIpAddress"] for i in view.instances()) == ["10.0.1.10", "10.0.1.11"]
    assert relight(workdir, "plan", "-detailed-exitcode").code == 0
