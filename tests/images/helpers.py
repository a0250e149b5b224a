"""What image tests share: a template to build, the cloud's leftovers, a registry."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ghe-image"


def copy_example(tmp: Path, extra_build: str = "") -> Path:
    """The example GHE template in ``tmp/template`` (``extra_build`` is added to its build block)."""
    target = tmp / "template"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("packer-manifest.json"))
    if extra_build:
        path = target / "ghe.pkr.hcl"
        text = path.read_text()
        anchor = '  post-processor "manifest" {'
        path.write_text(text.replace(anchor, extra_build + "\n" + anchor))
    return target


def leftovers(ec2: Any, keep_images: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Everything a build could leave: live instances, security groups but the default ones,
    key pairs, our own images not in ``keep_images`` and unattached volumes."""
    instances = [
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    groups = [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"]
    keys = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    images = [
        i["ImageId"]
        for i in ec2.describe_images(Owners=["self"])["Images"]
        if any(t["Key"] == "relight:build-id" for t in i.get("Tags", [])) and i["ImageId"] not in keep_images
    ]
    volumes = [v["VolumeId"] for v in ec2.describe_volumes()["Volumes"] if v["State"] == "available"]
    found = {"instances": instances, "security_groups": groups, "key_pairs": keys, "images": images, "volumes": volumes}
    return {k: v for k, v in found.items() if v}


def manifest(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def env_of(cloud: Any) -> dict[str, str]:
    return {**cloud.env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
