"""The rehearsal's rewrite of a configuration, without a cloud: what changes, what goes, what is refused."""

from __future__ import annotations

from pathlib import Path

from relight.images.overlay import rehearsal_overlay
from relight.lang import Scope, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github-enterprise"


def rewritten(directory: Path, image: str | None = "ami-new", snapshots: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    config, diags = load_config(str(directory))
    assert config is not None and not diags.has_errors, diags
    return rehearsal_overlay("relight-rehearsal-r-1-", image, snapshots or {"aws_ebs_volume.ghe_data": "snap-1"})(
        config
    )


def literal(config, addr: str, name: str):  # type: ignore[no-untyped-def]
    res = next(r for a, r in config.resources.items() if str(a) == addr)
    value, _ = res.body.attributes[name].expr.evaluate(Scope(variables={"x": "y"}))
    return value


def test_the_example_rewritten() -> None:
    config, diags = rewritten(EXAMPLE)
    assert not diags.has_errors, diags
    names = {str(a) for a in config.resources}
    assert "aws_route53_record.ghe" not in names and "aws_route53_zone.internal" not in names
    assert "dns_name" not in config.outputs and "instance_id" in config.outputs
    assert config.relight is None  # no heal policy, no notifications
    assert literal(config, "aws_instance.ghe_node", "ami") == "ami-new"
    assert literal(config, "aws_ebs_volume.ghe_data", "snapshot_id") == "snap-1"
    assert literal(config, "aws_ebs_volume.ghe_data", "final_snapshot") is False
    assert literal(config, "aws_cloudwatch_metric_alarm.ghe_cpu_high", "alarm_actions") == []
    assert literal(config, "aws_cloudwatch_metric_alarm.ghe_cpu_high", "ok_actions") == []
    assert (
        literal(config, "aws_cloudwatch_metric_alarm.ghe_cpu_high", "alarm_name")
        == "relight-rehearsal-r-1-ghe-cpu-high"
    )


def test_no_image_keeps_the_configured_one() -> None:
    config, _ = rewritten(EXAMPLE, image=None)
    res = next(r for a, r in config.resources.items() if str(a) == "aws_instance.ghe_node")
    assert [str(ref) for ref in res.body.attributes["ami"].expr.references()] == ["data.aws_ami.ghe"]


def test_a_node_in_a_subnet_from_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "subnet" {}\nresource "aws_ebs_volume" "ghe_data" {\n  availability_zone = "us-east-1a"\n  size = 1\n}\n'
        'resource "aws_instance" "n" {\n  ami = "ami-1"\n  instance_type = "t3.micro"\n  subnet_id = var.subnet\n}\n'
    )
    _, diags = rewritten(tmp_path)
    errors = [d for d in diags if d.severity.value == "error"]
    assert [d.summary for d in errors] == ["The stack cannot be rehearsed in isolation"]
    assert errors[0].subject is not None and errors[0].subject.start.line == 9


def test_a_resource_that_needs_dns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_route53_zone" "z" {\n  name = "x.internal"\n}\n'
        'resource "aws_ebs_volume" "ghe_data" {\n  availability_zone = "us-east-1a"\n  size = 1\n  tags = { Zone = aws_route53_zone.z.zone_id }\n}\n'
    )
    _, diags = rewritten(tmp_path)
    assert [d.summary for d in diags if d.severity.value == "error"] == ["The stack cannot be rehearsed"]
