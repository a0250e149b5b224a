"""JSON syntax (``*.tf.json``, ``*.tfvars.json``) and override files.

The same configuration written in HCL and in JSON must decode to the same model; override
files merge as Terraform's do. (tests/differential/cases/json_and_overrides checks the values
against Terraform itself.)
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from relight.addrs import ResourceAddr
from relight.lang import Config, Scope, collect_variable_values, load_config

HCL = """
variable "names" {
  type    = list(string)
  default = ["a", "b"]
  validation {
    condition     = length(var.names) > 0
    error_message = "Give at least one name."
  }
}

provider "aws" {
  region = "us-east-1"
}

provider "aws" {
  alias  = "west"
  region = "us-west-2"
}

resource "aws_instance" "web" {
  count         = 2
  provider      = aws.west
  ami           = "ami-${count.index}"
  tags          = { Name = "web-${count.index}" }
  depends_on    = [aws_instance.db]
  lifecycle {
    ignore_changes        = [tags]
    create_before_destroy = true
  }
  provisioner "local-exec" {
    command = "echo ${self.id}"
  }
  dynamic "ebs_block_device" {
    for_each = var.names
    content {
      device_name = ebs_block_device.value
    }
  }
}

resource "aws_instance" "db" {
  ami = "ami-db"
}

moved {
  from = aws_instance.old
  to   = aws_instance.db
}

output "ips" {
  value       = aws_instance.web[*].ami
  description = "the amis"
}

terraform {
  backend "local" {
    path = "state.tfstate"
  }
}
"""

JSON = {
    "variable": {
        "names": {
            "type": "list(string)",
            "default": ["a", "b"],
            "validation": {"condition": "${length(var.names) > 0}", "error_message": "Give at least one name."},
        }
    },
    "provider": {"aws": [{"region": "us-east-1"}, {"alias": "west", "region": "us-west-2"}]},
    "resource": {
        "aws_instance": {
            "web": {
                "count": 2,
                "provider": "aws.west",
                "ami": "ami-${count.index}",
                "tags": {"Name": "web-${count.index}"},
                "depends_on": ["aws_instance.db"],
                "lifecycle": {"ignore_changes": ["tags"], "create_before_destroy": True},
                "provisioner": {"local-exec": {"command": "echo ${self.id}"}},
                "dynamic": {
                    "ebs_block_device": {
                        "for_each": "${var.names}",
                        "content": {"device_name": "${ebs_block_device.value}"},
                    }
                },
            },
            "db": {"ami": "ami-db"},
        }
    },
    "moved": [{"from": "aws_instance.old", "to": "aws_instance.db"}],
    "output": {"ips": {"value": "${aws_instance.web[*].ami}", "description": "the amis"}},
    "terraform": {"backend": {"local": {"path": "state.tfstate"}}},
}


def _load(directory: Path) -> Config:
    config, diags = load_config(str(directory))
    assert config is not None and not diags.has_errors, [(d.summary, d.detail, str(d.subject)) for d in diags]
    return config


def _summary(config: Config) -> dict[str, Any]:
    """What matters of a config, evaluated in one scope, independent of file positions."""
    web = ResourceAddr.managed("aws_instance", "web")
    values = {"names": ["x", "y"]}
    resources = {web: [{"ami": "ami-0", "id": "i-0"}, {"ami": "ami-1", "id": "i-1"}], ResourceAddr.managed("aws_instance", "db"): {}}
    scope = Scope(variables=values, resource=lambda a: resources[a], count_index=1)
    res = config.resources[web]
    body, diags = res.body.evaluate(scope)
    assert not diags.has_errors, list(diags)
    var = config.variables["names"]
    return {
        "var": (str(var.type), var.default, len(var.validations)),
        "providers": sorted(config.providers),
        "web": body,
        "web_meta": (res.provider_key, [str(r) for r in res.depends_on], res.lifecycle.ignore_changes,
                     res.lifecycle.create_before_destroy, [b.labels for b in res.provisioners]),
        "moved": [(str(m.from_), str(m.to)) for m in config.moved],
        "output": (config.outputs["ips"].expr.evaluate(scope)[0], config.outputs["ips"].description),
        "backend": (config.backend.type, dict(config.backend.config)) if config.backend else None,
    }  # fmt: skip


def test_json_and_hcl_decode_to_the_same_model(tmp_path: Path) -> None:
    (tmp_path / "hcl").mkdir()
    (tmp_path / "hcl" / "main.tf").write_text(HCL)
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "main.tf.json").write_text(json.dumps(JSON, indent=2))
    assert _summary(_load(tmp_path / "json")) == _summary(_load(tmp_path / "hcl"))


def test_json_and_hcl_files_mix_and_see_each_other(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text('variable "x" {\n  default = 2\n}\n')
    (tmp_path / "b.tf.json").write_text('{"output": {"y": {"value": "${var.x * 3}"}}}')
    config = _load(tmp_path)
    assert config.outputs["y"].expr.evaluate(Scope(variables={"x": 2}))[0] == 6


def test_comments_and_positions(tmp_path: Path) -> None:
    (tmp_path / "main.tf.json").write_text(
        textwrap.dedent(
            """\
            {
              "//": "ignored",
              "output": {
                "o": {
                  "//": "also ignored",
                  "value": "${var.missing}"
                }
              }
            }
            """
        )
    )
    config = _load(tmp_path)
    _value, diags = config.outputs["o"].expr.evaluate(Scope())
    assert diags.errors[0].summary == "Reference to undeclared input variable"
    assert diags.errors[0].subject is not None
    assert (diags.errors[0].subject.start.line, diags.errors[0].subject.start.column) == (6, 19)


@pytest.mark.parametrize(
    ("text", "summary", "line", "column"),
    [
        ('{"output": {"o": {"value": 1,}}}', "Invalid JSON syntax", 1, 30),
        ('{"output": ', "Invalid JSON syntax", 1, 12),
        ("[1]", "Invalid JSON configuration", 1, 1),
        ('{"output": {"o": {"value": 1, "value": 2}}}', "Duplicate argument", 1, 31),
        ('{"bogus": {}}', "Unsupported block type", 1, 2),
        ('{"output": {"o": 3}}', "Invalid output block", 1, 18),
        ('{"output": {"o": {"value": "${1 +}"}}}', "Invalid expression", 1, 34),
    ],
)
def test_json_mistakes_are_diagnostics(tmp_path: Path, text: str, summary: str, line: int, column: int) -> None:
    (tmp_path / "main.tf.json").write_text(text)
    _config, diags = load_config(str(tmp_path))
    first = diags.errors[0]
    assert first.summary == summary, (first.summary, first.detail)
    assert first.subject is not None
    assert (first.subject.start.line, first.subject.start.column) == (line, column)


def test_tfvars_json(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('variable "n" {\n  type = number\n}\nvariable "m" {\n  type = map(string)\n}\n')
    (tmp_path / "terraform.tfvars.json").write_text('{\n  "n": 5,\n  "m": {"a": "$${x}"},\n  "extra": 1\n}\n')
    config = _load(tmp_path)
    values, diags = collect_variable_values(config, [], {})
    assert values == {"n": 5, "m": {"a": "${x}"}}
    [warning] = diags
    assert warning.summary == "Value for undeclared variable"
    assert warning.subject is not None and warning.subject.start.line == 4


# --- override files ------------------------------------------------------------------------------


def _dir(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def test_override_merges_arguments_and_replaces_nested_blocks(tmp_path: Path) -> None:
    config = _load(
        _dir(
            tmp_path,
            {
                "main.tf": """
                    resource "aws_instance" "web" {
                      ami           = "ami-1"
                      instance_type = "t3.micro"
                      ebs_block_device {
                        device_name = "/dev/sdb"
                      }
                      ebs_block_device {
                        device_name = "/dev/sdc"
                      }
                      lifecycle {
                        prevent_destroy = true
                        ignore_changes  = [tags]
                      }
                    }
                    provider "aws" {
                      region = "a"
                    }
                    provider "aws" {
                      alias  = "b"
                      region = "b"
                    }
                    """,
                "override.tf": """
                    resource "aws_instance" "web" {
                      ami = "ami-2"
                      ebs_block_device {
                        device_name = "/dev/sdz"
                      }
                      lifecycle {
                        ignore_changes = []
                      }
                    }
                    provider "aws" {
                      alias  = "b"
                      region = "bb"
                    }
                    """,
                "a_override.tf.json": '{"resource": {"aws_instance": {"web": {"instance_type": "t3.large"}}}}',
            },
        )
    )
    res = config.resources[ResourceAddr.managed("aws_instance", "web")]
    body, _ = res.body.evaluate(Scope())
    assert body == {"ami": "ami-2", "instance_type": "t3.large", "ebs_block_device": [{"device_name": "/dev/sdz"}]}
    assert res.lifecycle.prevent_destroy is True and res.lifecycle.ignore_changes == ()
    region, _ = config.providers["aws.b"].body.evaluate(Scope())
    assert region == {"region": "bb"}


def test_override_locals_variables_and_backend(tmp_path: Path) -> None:
    config = _load(
        _dir(
            tmp_path,
            {
                "main.tf": """
                    locals {
                      a = 1
                      b = 2
                    }
                    variable "v" {
                      type    = string
                      default = "1"
                    }
                    terraform {
                      backend "local" {
                        path = "one.tfstate"
                      }
                    }
                    """,
                "x_override.tf": """
                    locals {
                      b = 20
                    }
                    variable "v" {
                      type = number
                    }
                    terraform {
                      backend "local" {
                        path = "two.tfstate"
                      }
                    }
                    """,
            },
        )
    )
    assert config.locals["a"].expr.evaluate(Scope())[0] == 1
    assert config.locals["b"].expr.evaluate(Scope())[0] == 20
    assert config.variables["v"].default == 1  # converted to the overriding type
    assert config.backend is not None and config.backend.config == {"path": "two.tfstate"}


@pytest.mark.parametrize(
    ("override", "summary"),
    [
        ('resource "aws_instance" "nope" {\n  ami = "x"\n}\n', "Missing base resource block to override"),
        ("locals {\n  zz = 1\n}\n", "Missing base local value definition to override"),
        ("moved {\n  from = a_b.c\n  to = a_b.d\n}\n", "Cannot override moved blocks"),
    ],
)
def test_override_mistakes(tmp_path: Path, override: str, summary: str) -> None:
    _dir(tmp_path, {"main.tf": "locals {\n  a = 1\n}\n", "override.tf": override})
    _config, diags = load_config(str(tmp_path))
    assert [d.summary for d in diags.errors] == [summary]
    assert diags.errors[0].subject is not None and diags.errors[0].subject.filename.endswith("override.tf")


def test_ignored_files(tmp_path: Path) -> None:
    _dir(tmp_path, {"main.tf": "locals {\n  a = 1\n}\n", ".hidden.tf": "broken {", "main.tf~": "broken {", "#x.tf#": "broken {"})
    assert set(_load(tmp_path).locals) == {"a"}
