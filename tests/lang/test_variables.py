"""Variable values: precedence, parsing modes, conversion, validation and required values."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from relight.lang import Config, collect_variable_values, load_config

DECLS = """
variable "region" {
  default = "us-east-1"
}
variable "n" {
  type    = number
  default = 1
}
variable "names" {
  type    = list(string)
  default = []
}
variable "tags" {
  type    = map(string)
  default = {}
}
variable "flag" {
  type    = bool
  default = false
}
variable "anything" {
  type    = any
  default = null
}
variable "port" {
  type    = number
  default = 80
  validation {
    condition     = var.port > 0 && var.port < 65536
    error_message = "The port must be between 1 and 65535."
  }
}
"""


def _config(tmp_path: Path, extra: str = "", files: dict[str, str] | None = None) -> Config:
    (tmp_path / "main.tf").write_text(DECLS + textwrap.dedent(extra))
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    config, diags = load_config(str(tmp_path))
    assert config is not None and not diags.has_errors, list(diags)
    return config


def test_defaults(tmp_path: Path) -> None:
    values, diags = collect_variable_values(_config(tmp_path), [], {})
    assert not diags
    assert values == {
        "region": "us-east-1",
        "n": 1,
        "names": [],
        "tags": {},
        "flag": False,
        "anything": None,
        "port": 80,
    }


def test_precedence_env_files_cli(tmp_path: Path) -> None:
    files = {
        "terraform.tfvars": 'region = "from-tfvars"\nn = 2\nflag = true\n',
        "terraform.tfvars.json": '{"n": 3, "names": ["json"]}',
        "a.auto.tfvars": "n = 4\n",
        "b.auto.tfvars.json": '{"n": 5}',
        "extra.tfvars": 'names = ["file"]\n',
    }
    config = _config(tmp_path, files=files)
    env = {"TF_VAR_region": "from-env", "TF_VAR_tags": '{ k = "v" }', "TF_VAR_port": "8080"}
    cli = [("var", "n=6"), ("var-file", str(tmp_path / "extra.tfvars")), ("var", "flag=false")]
    values, diags = collect_variable_values(config, cli, env)
    assert not diags.has_errors, list(diags)
    assert values["region"] == "from-tfvars"  # tfvars beats the environment
    assert values["tags"] == {"k": "v"}  # environment value parsed as HCL for map(string)
    assert values["port"] == 8080
    assert values["n"] == 6  # -var is last
    assert values["names"] == ["file"]  # -var-file after the json file
    assert values["flag"] is False  # later -var wins over terraform.tfvars


CLI_PARSING: list[tuple[str, str, Any]] = [
    ("region", "eu-west-1", "eu-west-1"),
    ("region", "[1, 2]", "[1, 2]"),  # untyped: taken literally
    ("n", "3", 3),
    ("n", "2 + 3", 5),
    ("names", '["a", "b"]', ["a", "b"]),
    ("names", "[1, true]", ["1", "true"]),
    ("tags", '{ Name = "x" }', {"Name": "x"}),
    ("flag", "true", True),
    ("flag", '"false"', False),
    ("anything", "{ a = [1] }", {"a": [1]}),
]


@pytest.mark.parametrize(("name", "raw", "expected"), CLI_PARSING)
def test_cli_values_parse_by_type(tmp_path: Path, name: str, raw: str, expected: Any) -> None:
    values, diags = collect_variable_values(_config(tmp_path), [("var", f"{name}={raw}")], {})
    assert not diags.has_errors, list(diags)
    assert values[name] == expected


BAD_VALUES: list[tuple[list[tuple[str, str]], str, str]] = [
    ([("var", 'n="abc"')], "Invalid value for input variable", "a number is required"),
    ([("var", "n=abc")], "Variables not allowed", "Variables may not be used here."),
    ([("var", "names=5")], "Invalid value for input variable", "list of string required"),
    ([("var", "nope=1")], "Value for undeclared variable", 'named "nope"'),
    ([("var", "novalue")], "Invalid -var option", "equals sign"),
    ([("var", "port=70000")], "Invalid value for variable", "between 1 and 65535"),
    ([("var", "n=var.x")], "Variables not allowed", "Variables may not be used here."),
    ([("var-file", "/nonexistent.tfvars")], "Failed to read variables file", "nonexistent"),
]


@pytest.mark.parametrize(("cli", "summary", "detail"), BAD_VALUES)
def test_bad_values(tmp_path: Path, cli: list[tuple[str, str]], summary: str, detail: str) -> None:
    _values, diags = collect_variable_values(_config(tmp_path), cli, {})
    errors = diags.errors
    assert errors
    assert errors[0].summary == summary
    assert detail in errors[0].detail


def test_required_variable_missing_names_declaration(tmp_path: Path) -> None:
    config = _config(tmp_path, '\nvariable "token" {\n  sensitive = true\n}\n')
    values, diags = collect_variable_values(config, [], {})
    assert "token" not in values
    err = diags.errors[0]
    assert err.summary == "No value for required variable"
    assert "-var" in err.detail and "-var-file" in err.detail and "TF_VAR_token" in err.detail
    decl_line = (tmp_path / "main.tf").read_text().splitlines().index('variable "token" {') + 1
    assert err.subject is not None and err.subject.start.line == decl_line
    assert config.variables["token"].sensitive
    values, diags = collect_variable_values(config, [], {"TF_VAR_token": "s3cret"})
    assert not diags and values["token"] == "s3cret"


def test_tfvars_errors_point_at_the_file(tmp_path: Path) -> None:
    files = {"terraform.tfvars": 'region = "x"\nunknown = 1\nn = "abc"\n'}
    _values, diags = collect_variable_values(_config(tmp_path, files=files), [], {})
    warning = next(d for d in diags if d.summary == "Value for undeclared variable")
    assert warning.severity.value == "warning"
    assert warning.subject is not None and warning.subject.start.line == 2
    error = diags.errors[0]
    assert error.summary == "Invalid value for input variable"
    assert error.subject is not None
    assert error.subject.filename.endswith("terraform.tfvars")
    assert (error.subject.start.line, error.subject.start.column) == (3, 5)


def test_object_optional_defaults_and_nullable(tmp_path: Path) -> None:
    extra = """
    variable "svc" {
      type = object({ name = string, port = optional(number, 8080) })
      nullable = false
      default = { name = "a" }
    }
    """
    config = _config(tmp_path, extra)
    values, diags = collect_variable_values(config, [("var", 'svc={ name = "b", x = 1 }')], {})
    assert not diags
    assert values["svc"] == {"name": "b", "port": 8080}
    _values, diags = collect_variable_values(config, [("var", "svc=null")], {})
    assert diags.errors[0].summary == "Required variable not set"
    _values, diags = collect_variable_values(config, [("var", "svc={}")], {})
    assert 'attribute "name" is required' in diags.errors[0].detail
