"""Image builds on the local cloud with its data plane: the image has what the template put in
it, identical builds are not repeated, and a failing build leaves nothing behind."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from relight.cli.main import main
from relight.images import BuildRequest, Registry, run_builds
from relight.localcloud import LocalCloud
from relight.runs import ListSink
from tests.images.helpers import copy_example, env_of, leftovers, manifest
from tests.localcloud.machines import Machines


def test_build_launch_and_find_the_file_and_the_service(dataplane: LocalCloud, tmp_path: Path) -> None:
    template = copy_example(tmp_path)
    sink = ListSink()
    request = BuildRequest(str(template), registry=str(tmp_path / "registry"), base=str(tmp_path))
    run = run_builds(request, env_of(dataplane), sink)
    assert run.ok, (run.diagnostics, [r.error for r in run.results])
    (result,) = run.results
    assert result.status == "built" and result.image_id.startswith("ami-")
    m = Machines(dataplane)
    assert leftovers(m.ec2, keep_images=(result.image_id,)) == {}

    # Packer's manifest, beside the command's directory.
    doc = manifest(tmp_path / "packer-manifest.json")
    assert doc["builds"][-1]["artifact_id"] == f"us-east-1:{result.image_id}"
    assert doc["builds"][-1]["name"] == "ghe" and doc["builds"][-1]["builder_type"] == "amazon-ebs"
    assert doc["last_run_uuid"] == doc["builds"][-1]["packer_run_uuid"]

    # The registry recorded it, with what made it.
    record = Registry(str(tmp_path / "registry")).get(result.image_id)
    assert record.name == "ghe" and record.source_image == "ami-0a17e2170c0ffee02"
    assert record.variables["ghe_version"] == "2.18.0" and Path(record.log).is_file()
    image = m.ec2.describe_images(ImageIds=[result.image_id])["Images"][0]
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert tags["Version"] == "2.18.0" and tags["relight:build-state"] == "complete"
    assert tags["relight:image-name"] == "ghe"

    # Launch it: the file, the release and the new service are there.
    node = m.launch(result.image_id)
    m.wait_booted(node)
    assert m.sh(node, "cat /etc/ghe/banner.txt").strip() == "GitHub Enterprise, baked by relight image build."
    assert m.sh(node, "cat /opt/ghe/VERSION").strip() == "2.18.0"
    address = m.port(node, 8080)
    with urllib.request.urlopen(f"http://{address}/", timeout=10) as resp:
        health = json.load(resp)
    assert health == {
        "service": "ghe-health",
        "version": "2.18.0",
        "banner": "GitHub Enterprise, baked by relight image build.",
    }
    assert m.status(node, want=503)["version"] == "2.18.0"  # the GHE service itself, waiting for its data volume

    # The same template, variables and source image: not rebuilt.
    again = run_builds(request, env_of(dataplane), ListSink())
    assert again.ok and again.results[0].status == "up-to-date" and again.results[0].image_id == result.image_id
    assert "RunInstances" not in again.results[0].calls
    # A different variable: a new image.
    other = run_builds(
        BuildRequest(
            str(template),
            registry=str(tmp_path / "registry"),
            base=str(tmp_path),
            variables=(("var", "ghe_version=2.18.1"),),
        ),
        env_of(dataplane),
        ListSink(),
    )
    assert other.ok and other.results[0].status == "built" and other.results[0].image_id != result.image_id
    assert len(manifest(tmp_path / "packer-manifest.json")["builds"]) == 3


def test_a_failing_provisioner_leaves_nothing_behind(dataplane: LocalCloud, tmp_path: Path) -> None:
    template = copy_example(tmp_path, '  provisioner "shell" {\n    inline = ["echo about to fail", "exit 3"]\n  }\n')
    run = run_builds(BuildRequest(str(template), registry=str(tmp_path / "r"), base=str(tmp_path)), env_of(dataplane))
    (result,) = run.results
    assert result.status == "failed"
    assert "non-zero exit status: 3" in result.error and "ghe.pkr.hcl:" in result.error
    assert result.left_behind == []
    assert leftovers(Machines(dataplane).ec2) == {}
    assert "about to fail" in Path(result.log_path).read_text()
    assert Registry(str(tmp_path / "r")).images() == []
    assert not (tmp_path / "packer-manifest.json").exists()


def test_cli_machine_readable_and_registry_commands(
    dataplane: LocalCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = copy_example(tmp_path)
    code = main(
        ["-chdir", str(tmp_path), "image", "build", "-machine-readable", "-var", "ghe_version=2.19.0", str(template)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    ids = [line.split(",")[-1] for line in out.splitlines() if ",artifact,0,id," in line]
    assert len(ids) == 1 and ids[0].startswith("us-east-1:ami-")
    assert any(line.split(",")[1:4] == ["ghe.amazon-ebs.ghe", "artifact-count", "1"] for line in out.splitlines())
    image = ids[0].split(":")[1]

    assert main(["-chdir", str(tmp_path), "image", "promote", image, "-channel", "production"]) == 0
    m = Machines(dataplane)
    tags = {t["Key"]: t["Value"] for t in m.ec2.describe_images(ImageIds=[image])["Images"][0]["Tags"]}
    assert tags["relight:channel:production"] == "true"
    assert main(["-chdir", str(tmp_path), "image", "list", "-json"]) == 0
    listed: list[dict[str, Any]] = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [(r["image_id"], r["channels"]) for r in listed] == [(image, ["production"])]
    # A forced rebuild under the promoted image's name with force_deregister is refused: it would
    # deregister the image the channel points at (configurations run it, heal re-creates from it).
    name = m.ec2.describe_images(ImageIds=[image])["Images"][0]["Name"]
    hcl = template / "ghe.pkr.hcl"
    hcl.write_text(hcl.read_text().replace('ami_name      = "ghe-${var.ghe_version}-${local.stamp}"',
                                           f'ami_name = "{name}"\n  force_deregister = true'))
    assert main(["-chdir", str(tmp_path), "image", "build", "-force", "-var", "ghe_version=2.19.0", str(template)]) == 1
    assert "the image of channel production" in capsys.readouterr().err
    assert m.ec2.describe_images(ImageIds=[image])["Images"][0]["State"] == "available"
    assert not leftovers(m.ec2, keep_images=(image,)).get("instances")
    assert main(["-chdir", str(tmp_path), "image", "revoke", image]) == 0
    tags = {t["Key"]: t["Value"] for t in m.ec2.describe_images(ImageIds=[image])["Images"][0]["Tags"]}
    assert "relight:channel:production" not in tags and "relight:revoked" in tags
    assert main(["-chdir", str(tmp_path), "image", "promote", image, "-channel", "production"]) == 1
    assert "revoked" in capsys.readouterr().err
