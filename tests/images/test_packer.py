"""--with-packer: the real packer binary (Debian's 1.6.6 where installed) builds against the local
cloud, and relight records and tags its image as it does its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from relight.images import BuildRequest, Registry, run_builds
from relight.localcloud import LocalCloud
from relight.runs import ListSink
from tests.images.helpers import env_of, leftovers, manifest
from tests.localcloud.machines import Machines

TEMPLATE = """
variable "endpoint" {
  type = string
}

source "amazon-ebs" "base" {
  region                     = "us-east-1"
  custom_endpoint_ec2        = var.endpoint
  skip_region_validation     = true
  skip_credential_validation = true
  skip_metadata_api_check    = true
  ami_name                   = "packer-base-${regex_replace(timestamp(), "[- TZ:]", "")}"
  instance_type              = "t3.micro"
  source_ami                 = "ami-0a17e2170c0ffee02"
  communicator               = "none"
}

build {
  sources = ["source.amazon-ebs.base"]

  post-processor "manifest" {
    output = "packer-manifest.json"
  }
}
"""

pytestmark = pytest.mark.skipif(
    shutil.which("packer") is None, reason="packer is not installed (apt-get install packer)"
)


def test_with_packer_records_and_tags_packers_image(cloud: LocalCloud, tmp_path: Path) -> None:
    (tmp_path / "t.pkr.hcl").write_text(TEMPLATE)
    request = BuildRequest(
        str(tmp_path), registry=str(tmp_path / "registry"), base=str(tmp_path),
        variables=(("var", f"endpoint={cloud.endpoint}"),), with_packer=True,
    )  # fmt: skip
    sink = ListSink()
    run = run_builds(request, env_of(cloud), sink)
    assert run.ok, (run.diagnostics, [r.error for r in run.results])
    (result,) = run.results
    assert result.status == "built" and result.image_id.startswith("ami-")
    m = Machines(cloud)
    tags = {t["Key"]: t["Value"] for t in m.ec2.describe_images(ImageIds=[result.image_id])["Images"][0]["Tags"]}
    assert tags["relight:image-name"] == "base" and tags["relight:build-state"] == "complete"
    assert Registry(str(tmp_path / "registry")).get(result.image_id).log == "packer"
    assert manifest(tmp_path / "packer-manifest.json")["builds"][-1]["artifact_id"] == f"us-east-1:{result.image_id}"
    assert leftovers(m.ec2, keep_images=(result.image_id,)) == {}
    assert any(
        getattr(e, "line", "").startswith("==> amazon-ebs.base: Creating temporary keypair") for e in sink.events
    )
