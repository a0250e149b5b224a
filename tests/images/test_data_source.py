"""`data "relight_image"` reads a channel's image from the cloud's tags, as plain aws_ami filters can."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relight.cli.main import main
from relight.images import Cloud, ImageRecord, Registry, promote, revoke
from relight.localcloud import LocalCloud
from tests.images.helpers import env_of
from tests.localcloud.machines import GHE_217, Machines

CONFIG = """
provider "aws" {
  region = "us-east-1"
}

data "relight_image" "ghe" {
  name    = "ghe"
  channel = "production"
}

data "aws_ami" "by_tag" {
  owners      = ["self"]
  most_recent = true
  filter {
    name   = "tag:relight:channel:production"
    values = ["true"]
  }
  filter {
    name   = "tag:relight:image-name"
    values = ["ghe"]
  }
}

output "id" {
  value = data.relight_image.ghe.id
}

output "by_tag" {
  value = data.aws_ami.by_tag.id
}
"""


def image(m: Machines, registry: Registry, n: int) -> str:
    """An image named ghe, recorded as a build would record it (made directly: faster)."""
    node = m.launch(GHE_217, ip=f"10.0.1.{20 + n}")
    found = m.ec2.create_image(InstanceId=node, Name=f"ghe-test-{n}")["ImageId"]
    m.ec2.create_tags(
        Resources=[found],
        Tags=[{"Key": "relight:image-name", "Value": "ghe"}, {"Key": "relight:build-state", "Value": "complete"}],
    )
    registry.record(
        ImageRecord(
            found,
            "ghe",
            "us-east-1",
            f"b{n}",
            "ghe.amazon-ebs.ghe",
            f"us-east-1:{found}",
            "d",
            GHE_217,
            f"2026-11-0{n}T00:00:00Z",
        )
    )
    return str(found)


def outputs(directory: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    capsys.readouterr()
    assert main(["-chdir", str(directory), "output", "-json"]) == 0
    return {k: v["value"] for k, v in json.loads(capsys.readouterr().out).items()}


def test_the_channel_image_through_both_data_sources(
    cloud: LocalCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = Machines(cloud)
    registry = Registry(str(tmp_path / "registry"))
    first, second = image(m, registry, 1), image(m, registry, 2)
    (tmp_path / "main.tf").write_text(CONFIG)
    assert main(["-chdir", str(tmp_path), "apply", "-auto-approve"]) == 1
    err = capsys.readouterr().err
    assert 'No image of "ghe" is in the channel "production"' in err and "relight image promote" in err

    c = Cloud(env_of(cloud))
    promote(c, registry, first, "production")
    assert main(["-chdir", str(tmp_path), "apply", "-auto-approve"]) == 0
    assert outputs(tmp_path, capsys) == {"id": first, "by_tag": first}

    _, previous = promote(c, registry, second, "production")
    assert previous == first
    assert main(["-chdir", str(tmp_path), "apply", "-auto-approve"]) == 0
    assert outputs(tmp_path, capsys) == {"id": second, "by_tag": second}
    assert [h.image_id for h in registry.history("ghe", "production")] == [first, second]

    revoke(c, registry, second)
    assert main(["-chdir", str(tmp_path), "plan"]) == 1
    assert "relight image promote" in capsys.readouterr().err
