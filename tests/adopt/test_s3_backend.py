"""``relight state push -from-backend``: read a Terraform state from an s3 backend, never write it.

The local cloud serves S3 too; the bucket holds what Terraform's s3 backend would have put there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from relight.localcloud import LocalCloud
from tests.aws.stack import relight

from .test_push_refusals import CONFIG, terraform_state

BUCKET, KEY = "tf-states", "ghe/terraform.tfstate"


def backend(**settings: str) -> str:
    body = "\n".join(f"    {k} = {json.dumps(v) if not isinstance(v, bool) else str(v).lower()}" for k, v in settings.items())
    return f'terraform {{\n  backend "s3" {{\n{body}\n  }}\n}}\n' + CONFIG


def objects(s3: Any) -> list[tuple[str, str, object]]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted((o["Key"], o["ETag"], o["LastModified"]) for o in listed)


@pytest.fixture
def bucket(cloud: LocalCloud) -> Any:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(terraform_state(), indent=2).encode())
    return s3


def settings(**extra: Any) -> dict[str, Any]:
    return {"bucket": BUCKET, "key": KEY, "region": "us-east-1", "encrypt": True, "dynamodb_table": "tf-locks", **extra}


@pytest.mark.parametrize("path_style", [False, True])
def test_a_stack_in_an_s3_backend_is_adopted_by_reading_the_bucket_only(bucket: Any, tmp_path: Path, path_style: bool) -> None:
    (tmp_path / "main.tf").write_text(backend(**settings(**({"use_path_style": True} if path_style else {}))))
    before = objects(bucket)

    refused = relight(tmp_path, "plan")
    assert refused.code == 1 and "This stack is still managed by Terraform" in refused.err
    assert f"s3://{BUCKET}/{KEY}" in refused.err and "relight state push -from-backend" in refused.err

    pushed = relight(tmp_path, "state", "push", "-from-backend")
    assert pushed.code == 0, pushed.text
    assert f"Pushed s3://{BUCKET}/{KEY}" in pushed.out
    stored = json.loads((tmp_path / "relight.tfstate").read_text())
    assert stored["lineage"] == terraform_state()["lineage"] and stored["serial"] == 4

    plan = relight(tmp_path, "plan", "-detailed-exitcode")
    assert plan.code == 0, plan.text
    assert "relight does not store state in the s3 backend" in plan.err
    assert objects(bucket) == before
    assert json.loads(bucket.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()) == terraform_state()


def test_a_role_to_assume_is_assumed_for_the_read(bucket: Any, tmp_path: Path) -> None:
    role = "arn:aws:iam::123456789012:role/terraform-state-reader"
    (tmp_path / "main.tf").write_text(backend(**settings(role_arn=role)))
    pushed = relight(tmp_path, "state", "push", "-from-backend")
    assert pushed.code == 0, pushed.text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"key": "other/terraform.tfstate"}, "There is no object at that key"),
        ({"bucket": "no-such-bucket"}, "There is no such bucket"),
        ({"shared_credentials_files": "creds"}, "relight cannot read an s3 backend with shared_credentials_files yet"),
        ({"sse_customer_key": "not base64!"}, "sse_customer_key is not base64"),
    ],
)
def test_a_backend_that_cannot_be_read_is_refused_and_nothing_is_written(
    bucket: Any, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    (tmp_path / "main.tf").write_text(backend(**settings(**extra)))
    done = relight(tmp_path, "state", "push", "-from-backend")
    assert done.code == 1 and message in done.err, done.err
    assert not (tmp_path / "relight.tfstate").exists()
