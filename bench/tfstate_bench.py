#!/usr/bin/env python3
"""Terraform state conversion benchmark: adopting (``state push``) and handing back (``state
pull -format=terraform``) states of N objects, for terraform_data and for aws_instance objects as
Terraform's AWS provider v5 writes them (about 60 attributes each).

Prints figures only (no targets); ``python bench/tfstate_bench.py [--sizes 100,1000,5000]``.
The conversion is pure (no cloud); times are the median of three runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from relight.engine.adopt import ProviderTranslator
from relight.providers.aws._tfshapes import INSTANCE
from relight.providers.registry import ProviderRegistry
from relight.state.tfstate import from_terraform, to_terraform


def terraform_data(i: int) -> dict[str, Any]:
    value = {"value": ["a", f"n{i}"], "type": ["list", "string"]}
    return {"id": f"id-{i}", "input": value, "output": value, "triggers_replace": None}


def aws_instance(i: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {k: v for k, v in INSTANCE.only.items()}
    attrs.update(
        id=f"i-{i:017x}",
        arn=f"arn:aws:ec2:us-east-1:123456789012:instance/i-{i:017x}",
        ami="ami-0a17e2170c0ffee02",
        instance_type="r5.xlarge",
        subnet_id="subnet-1",
        availability_zone="us-east-1a",
        vpc_security_group_ids=["sg-1"],
        private_ip=f"10.0.{i // 250}.{i % 250 + 4}",
        associate_public_ip_address=False,
        key_name="",
        user_data=None,
        tags={"Name": f"node-{i}"},
        tags_all={"Name": f"node-{i}"},
        instance_state="running",
        public_ip="",
        private_dns=f"ip-10-0-0-{i}.ec2.internal",
        primary_network_interface_id=f"eni-{i}",
        root_block_device=[{
            "delete_on_termination": True, "device_name": "/dev/xvda", "encrypted": False, "iops": 3000,
            "kms_key_id": "", "tags": {}, "tags_all": {}, "throughput": 125, "volume_id": f"vol-{i}",
            "volume_size": 8, "volume_type": "gp3",
        }],
        cpu_core_count=2,
        cpu_threads_per_core=2,
    )
    return attrs


KINDS: dict[str, tuple[str, str, int, Callable[[int], dict[str, Any]]]] = {
    "terraform_data": ("terraform_data", 'provider["terraform.io/builtin/terraform"]', 0, terraform_data),
    "aws_instance": ("aws_instance", 'provider["registry.terraform.io/hashicorp/aws"]', 1, aws_instance),
}


def state(kind: str, n: int) -> bytes:
    type_, provider, version, attrs = KINDS[kind]
    instances = [
        {"index_key": i, "schema_version": version, "attributes": attrs(i), "sensitive_attributes": []}
        for i in range(n)
    ]
    doc = {
        "version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "bench", "outputs": {},
        "resources": [{"mode": "managed", "type": type_, "name": "r", "provider": provider, "instances": instances}],
        "check_results": None,
    }
    return json.dumps(doc, indent=2).encode()


def median_seconds(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    translator = ProviderTranslator(ProviderRegistry())
    head = f"{'kind':<15} {'objects':>8} {'file':>9} {'adopt':>10} {'per object':>11}"
    print(f"{head} {'hand back':>10} {'per object':>11}")
    for kind in KINDS:
        for n in sizes:
            data = state(kind, n)
            adopted, _ = from_terraform(data, "bench.tfstate", translator)
            assert adopted is not None and len(adopted) == n
            t_in = median_seconds(functools.partial(from_terraform, data, "bench.tfstate", translator))
            t_out = median_seconds(functools.partial(to_terraform, adopted, translator))
            back, _ = to_terraform(adopted, translator)
            assert back is not None and json.loads(back)["resources"] == json.loads(data)["resources"]
            print(
                f"{kind:<15} {n:>8} {len(data) / 1e6:>7.1f}MB {t_in * 1000:>8.0f}ms {t_in / n * 1e6:>9.0f}us"
                f" {t_out * 1000:>8.0f}ms {t_out / n * 1e6:>9.0f}us"
            )


if __name__ == "__main__":
    main()
