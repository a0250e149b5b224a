"""Loading configurations: the 2015 seed, the model, and a table of bad configurations."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr, ResourceAddr
from relight.lang import (
    NO_DEFAULT,
    Config,
    Scope,
    load_config,
    validate_references,
)
from relight.lang.types import ListType, MapType, ObjectType
from relight.values import UNKNOWN

FIXTURES = Path(__file__).parent / "fixtures"


def _load(tmp_path: Path, text: str, name: str = "main.tf") -> Config:
    (tmp_path / name).write_text(textwrap.dedent(text))
    config, diags = load_config(str(tmp_path))
    assert config is not None, [(d.summary, d.detail, str(d.subject)) for d in diags]
    assert not diags.has_errors, [(d.summary, d.detail, str(d.subject)) for d in diags]
    return config


# --- the 2015 seed ---------------------------------------------------------------------------


def test_seed_2015_syntax_loads_and_evaluates() -> None:
    config, diags = load_config(str(FIXTURES / "seed2015"))
    assert config is not None and not diags.has_errors, list(diags)
    assert not validate_references(config).has_errors
    addrs = [str(a) for a in config.resources]
    assert addrs == [
        "aws_instance.ghe_node",
        "aws_ebs_volume.ghe_vol",
        "aws_volume_attachment.ghe_vol_att",
    ]
    node = config.resources[ResourceAddr.managed("aws_instance", "ghe_node")]
    assert node.provider_key == "aws"
    assert node.body.references() == ()
    values, vdiags = node.body.evaluate()
    assert not vdiags
    assert values["tags"] == [{"Name": "github-enterprise"}]  # quoted name rewritten
    assert values["associate_public_ip_address"] == 1
    assert values["vpc_security_group_ids"] == ["<security_groups>"]

    att = config.resources[ResourceAddr.managed("aws_volume_attachment", "ghe_vol_att")]
    refs = att.body.references()
    assert [str(r.resource) for r in refs] == ["aws_ebs_volume.ghe_vol", "aws_instance.ghe_node"]
    assert (refs[0].range.start.line, refs[0].range.start.column) == (24, 18)

    known = {"id": "vol-1"}
    scope = Scope(resource=lambda a: known if a.type == "aws_ebs_volume" else {"id": "i-1"})
    values, _ = att.body.evaluate(scope)
    assert values == {"device_name": "/dev/xvdf", "volume_id": "vol-1", "instance_id": "i-1"}
    values, _ = att.body.evaluate(Scope(resource=lambda a: UNKNOWN))
    assert values["volume_id"] is UNKNOWN


def test_quoted_attribute_names_keep_positions(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_instance" "a" {\n  tags {\n    "Name" = var.nope\n  }\n}\n')
    config, diags = load_config(str(tmp_path))
    assert config is not None and not diags.has_errors
    err = validate_references(config).errors[0]
    assert err.subject is not None
    assert (err.subject.start.line, err.subject.start.column) == (3, 14)


# --- the model -------------------------------------------------------------------------------

FULL = """
terraform {
  required_version = ">= 1.0"
  backend "local" {
    path = "state/terraform.tfstate"
  }
}

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "west"
  region = "us-west-2"
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "where"
}

variable "sizes" {
  type = map(number)
  default = { a = "1", b = 2 }
}

variable "settings" {
  type = object({ name = string, port = optional(number, 8080), tags = optional(list(string)) })
  sensitive = true
  nullable  = false
  validation {
    condition     = length(var.settings.name) > 0
    error_message = "name must not be empty"
  }
}

variable "legacy" {
  type = "list"
}

locals {
  name = "ghe-${var.region}"
}

resource "aws_instance" "web" {
  count    = 2
  provider = aws.west
  ami      = "ami-1"
  tags = {
    Name = "${local.name}-${count.index}"
  }
  ebs_block_device {
    device_name = "/dev/sdf"
  }
  depends_on = [aws_ebs_volume.data]
  lifecycle {
    prevent_destroy       = true
    create_before_destroy = false
    ignore_changes        = [tags["Name"], ami]
    replace_triggered_by  = [aws_ebs_volume.data.id]
  }
  provisioner "local-exec" {
    command = "echo ${self.id}"
  }
}

resource "aws_ebs_volume" "data" {
  for_each = toset(["a"])
  size     = 10
  tags     = { key = each.key }
  lifecycle {
    ignore_changes = all
  }
}

resource "terraform_data" "marker" {
  input = aws_instance.web[*].id
}

data "aws_ami" "base" {
  most_recent = true
}

output "ids" {
  value       = aws_instance.web[*].id
  sensitive   = true
  description = "instance ids"
  depends_on  = [terraform_data.marker]
}

moved {
  from = aws_instance.old
  to   = aws_instance.web[0]
}

removed {
  from = aws_instance.gone
  lifecycle {
    destroy = false
  }
}

relight {
  protect = true
}
"""


def test_full_model(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL)
    assert not validate_references(config).has_errors
    assert config.backend is not None
    assert (config.backend.type, dict(config.backend.config)) == (
        "local",
        {"path": "state/terraform.tfstate"},
    )
    assert set(config.providers) == {"aws", "aws.west"}
    assert config.providers["aws.west"].alias == "west"
    assert "alias" not in config.providers["aws.west"].body.attributes

    region = config.variables["region"]
    assert (region.default, region.description, region.required) == ("us-east-1", "where", False)
    assert config.variables["sizes"].default == {"a": 1, "b": 2}
    assert isinstance(config.variables["sizes"].type, MapType)
    settings = config.variables["settings"]
    assert isinstance(settings.type, ObjectType)
    assert settings.default is NO_DEFAULT and settings.required
    assert settings.sensitive and not settings.nullable
    assert len(settings.validations) == 1
    assert isinstance(config.variables["legacy"].type, ListType)

    web = config.resources[ResourceAddr.managed("aws_instance", "web")]
    assert web.provider_key == "aws.west"
    assert web.count is not None and web.for_each is None
    assert [str(r) for r in web.depends_on] == ["aws_ebs_volume.data"]
    assert web.lifecycle.prevent_destroy and not web.lifecycle.create_before_destroy
    assert web.lifecycle.ignore_changes == ('tags["Name"]', "ami")
    assert len(web.lifecycle.replace_triggered_by) == 1
    assert set(web.body.attributes) == {"ami", "tags"}
    assert [b.type for b in web.body.blocks] == ["ebs_block_device"]
    assert [b.labels for b in web.provisioners] == [("local-exec",)]
    values, _ = web.body.evaluate(Scope(locals={"name": "ghe"}, count_index=1))
    assert values == {
        "ami": "ami-1",
        "tags": {"Name": "ghe-1"},
        "ebs_block_device": [{"device_name": "/dev/sdf"}],
    }

    data = config.resources[ResourceAddr.managed("aws_ebs_volume", "data")]
    assert data.lifecycle.ignore_changes == "all"
    assert config.resources[ResourceAddr.data("aws_ami", "base")].type == "aws_ami"
    assert config.resources[ResourceAddr.managed("terraform_data", "marker")].provider_key == ("terraform")

    out = config.outputs["ids"]
    assert out.sensitive and out.description == "instance ids"
    assert [str(r) for r in out.depends_on] == ["terraform_data.marker"]
    assert config.moved[0].from_ == ResourceAddr.managed("aws_instance", "old")
    assert config.moved[0].to == InstanceAddr(ResourceAddr.managed("aws_instance", "web"), 0)
    assert config.removed[0].from_ == ResourceAddr.managed("aws_instance", "gone")
    assert config.removed[0].destroy is False
    assert config.relight is not None and "protect" in config.relight.attributes
    assert str(tmp_path / "main.tf") in config.sources


def test_files_load_in_name_order_and_merge(tmp_path: Path) -> None:
    (tmp_path / "b.tf").write_text('variable "b" {}\n')
    (tmp_path / "a.tf").write_text('variable "a" {}\n')
    (tmp_path / "notes.txt").write_text("not hcl {")
    config = _load(tmp_path, "locals {\n  x = 1\n}\n", name="c.tf")
    assert list(config.variables) == ["a", "b"]
    assert list(config.locals) == ["x"]


def test_dynamic_blocks_expand(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        resource "aws_security_group" "sg" {
          dynamic "ingress" {
            for_each = [22, 443]
            iterator = port
            content {
              from_port = port.value
              index     = port.key
            }
          }
        }
        """,
    )
    sg = next(iter(config.resources.values()))
    assert sg.body.references() == ()
    values, diags = sg.body.evaluate()
    assert not diags
    assert values == {"ingress": [{"from_port": 22, "index": 0}, {"from_port": 443, "index": 1}]}


def test_heredoc_in_file_reports_inner_position(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        resource "terraform_data" "t" {
          input = <<-EOT
            hello ${var.missing}
          EOT
        }
        """,
    )
    err = validate_references(config).errors[0]
    assert err.subject is not None
    assert (err.subject.start.line, err.subject.start.column) == (4, 13)


def test_body_evaluation_reports_every_error(tmp_path: Path) -> None:
    config = _load(tmp_path, 'resource "x_y" "z" {\n  a = 1 / 0\n  b = 2\n  c = null.q\n}\n')
    values, diags = next(iter(config.resources.values())).body.evaluate()
    assert values["a"] is UNKNOWN and values["b"] == 2 and values["c"] is UNKNOWN
    assert [d.subject.start.line for d in diags if d.subject] == [2, 4]


# --- bad configurations: (source, summary substring, line, column) ----------------------------

BAD: list[tuple[str, str, int, int]] = [
    ('resource "a_b" "c" {\n  x = \n}\n', "Invalid expression", 2, 7),
    ('resource "a_b" "c" {\n  x = "unterminated\n}\n', "Invalid multi-line string", 2, 20),
    ('variable "v" {\n  default = 1\n}\nvariable "v" {}\n', "Duplicate variable declaration", 4, 1),
    (
        'resource "a_b" "c" {}\n\nresource "a_b" "c" {}\n',
        'Duplicate resource "a_b" configuration',
        3,
        1,
    ),
    ("locals {\n  a = 1\n}\nlocals {\n  a = 2\n}\n", "Duplicate local value definition", 5, 3),
    ('output "o" {\n  value = 1\n}\noutput "o" {\n  value = 2\n}\n', "Duplicate output", 4, 1),
    ('provider "aws" {}\nprovider "aws" {}\n', "Duplicate provider configuration", 2, 1),
    ('resource "a_b" "c" {\n  x = 1\n  x = 2\n}\n', "Attribute redefined", 3, 3),
    ('module "m" {\n  source = "./m"\n}\n', "Module calls are not supported yet", 1, 1),
    ('modul "m" {}\n', "Unsupported block type", 1, 1),
    ("foo = 1\n", "Unsupported argument", 1, 1),
    ('output "o" {\n  description = "x"\n}\n', "Missing required argument", 1, 1),
    ('variable "v" {\n  default = var.other\n}\n', "Variables not allowed", 2, 3),
    ('variable "v" {\n  type    = number\n  default = "abc"\n}\n', "Invalid default value", 3, 3),
    ('variable "v" {\n  type = strng\n}\n', "Invalid type specification", 2, 10),
    ('variable "v" {\n  typo = 1\n}\n', "Unsupported argument", 2, 3),
    (
        'resource "a_b" "c" {\n  lifecycle {\n    prevent_destroy = var.p\n  }\n}\n',
        "Variables not allowed",
        3,
        5,
    ),
    (
        'resource "a_b" "c" {\n  count    = 1\n  for_each = {}\n}\n',
        'Invalid combination of "count" and "for_each"',
        3,
        3,
    ),
    ('resource "a_b" "c" {\n  depends_on = [var.x]\n}\n', "Invalid depends_on reference", 2, 17),
    ("moved {\n  from = var.x\n  to   = a_b.c\n}\n", "Invalid address", 2, 3),
    ('resource "a_b" {}\n', "Invalid resource block", 1, 1),
    ('resource "a_b" "c" {\n  x = var\n}\n', "Invalid reference", 2, 7),
]


@pytest.mark.parametrize(("src", "summary", "line", "col"), BAD, ids=[b[1] for b in BAD])
def test_bad_configuration(tmp_path: Path, src: str, summary: str, line: int, col: int) -> None:
    (tmp_path / "main.tf").write_text(src)
    config, diags = load_config(str(tmp_path))
    if config is not None:  # as the engine loads: references are checked after decoding
        diags.extend(validate_references(config))
    errors = diags.errors
    assert errors, "expected an error"
    first = errors[0]
    assert summary in first.summary, (first.summary, first.detail)
    assert first.subject is not None
    assert first.subject.filename == str(tmp_path / "main.tf")
    assert (first.subject.start.line, first.subject.start.column) == (line, col)


# --- reference validation: (source, summary, detail substring, line, column) -------------------

REFS: list[tuple[str, str, str, int, int]] = [
    (
        'resource "aws_instance" "a" {\n  ami = aws_instance.nope.id\n}\n',
        "Reference to undeclared resource",
        'A managed resource "aws_instance" "nope" has not been declared in the root module.',
        2,
        9,
    ),
    (
        'output "o" {\n  value = data.aws_ami.nope.id\n}\n',
        "Reference to undeclared resource",
        'A data resource "aws_ami" "nope" has not been declared in the root module.',
        2,
        11,
    ),
    (
        'output "o" {\n  value = "${var.nope}"\n}\n',
        "Reference to undeclared input variable",
        'An input variable with the name "nope" has not been declared.',
        2,
        14,
    ),
    (
        'output "o" {\n  value = local.nope\n}\n',
        "Reference to undeclared local value",
        'A local value with the name "nope" has not been declared.',
        2,
        11,
    ),
    (
        'resource "a_b" "c" {\n  x = count.index\n}\n',
        'Reference to "count" in non-counted context',
        "only when the",
        2,
        7,
    ),
    (
        'resource "a_b" "c" {\n  count = 2\n  x = each.key\n}\n',
        'Reference to "each" in context without for_each',
        "for_each",
        3,
        7,
    ),
    (
        'output "o" {\n  value = count.index\n}\n',
        'Reference to "count" in non-counted context',
        "count",
        2,
        11,
    ),
    (
        'resource "a_b" "c" {\n  x = self.id\n}\n',
        'Invalid "self" reference',
        "provisioner",
        2,
        7,
    ),
    (
        'resource "a_b" "c" {\n  x = nosuchfn(1)\n}\n',
        "Call to unknown function",
        'There is no function named "nosuchfn".',
        2,
        7,
    ),
    (
        'resource "a_b" "c" {\n  x = a_b.c.id\n}\n',
        "Self-referential block",
        "a_b.c may not refer to itself",
        2,
        7,
    ),
    (
        'resource "a_b" "c" {\n  depends_on = [a_b.nope]\n}\n',
        "Reference to undeclared resource",
        '"a_b" "nope"',
        2,
        17,
    ),
]


@pytest.mark.parametrize(("src", "summary", "detail", "line", "col"), REFS, ids=[r[1] for r in REFS])
def test_reference_validation(tmp_path: Path, src: str, summary: str, detail: str, line: int, col: int) -> None:
    config = _load(tmp_path, src)
    errors = validate_references(config).errors
    assert errors, "expected an error"
    first = errors[0]
    assert first.summary == summary
    assert detail in first.detail
    assert first.subject is not None
    assert (first.subject.start.line, first.subject.start.column) == (line, col)


def test_counted_and_for_each_contexts_are_valid(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        resource "a_b" "c" {
          count = 2
          x     = count.index
        }
        resource "a_b" "d" {
          for_each = { k = 1 }
          x        = "${each.key}=${each.value}"
          y        = a_b.c[0].id
        }
        """,
    )
    assert not validate_references(config)


def test_missing_directory_is_a_diagnostic(tmp_path: Path) -> None:
    config, diags = load_config(str(tmp_path / "nope"))
    assert config is None and diags.has_errors


def _names(values: dict[str, Any]) -> list[str]:
    return sorted(values)
