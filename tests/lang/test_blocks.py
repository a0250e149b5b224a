"""Blocks and arguments of Terraform 1.5-1.11 decoded into the model: import, check, custom
conditions, terraform settings, module calls, variable options; and nothing unknown accepted."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from relight.addrs import ResourceAddr
from relight.lang import TERRAFORM_VERSION, Config, Scope, load_config, validate_references
from relight.lang.config import ENGINE_FEATURES
from relight.lang.types import ListType, MapType, SetType
from relight.lang.versions import Version, parse_constraints, satisfies


def _load(tmp_path: Path, text: str) -> Config:
    (tmp_path / "main.tf").write_text(textwrap.dedent(text))
    config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    assert config is not None and not diags.has_errors, [(d.summary, d.detail, str(d.subject)) for d in diags]
    return config


def test_import_blocks(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        resource "aws_instance" "one" {}
        resource "aws_instance" "many" {
          for_each = toset(["a", "b"])
        }
        import {
          to = aws_instance.one
          id = "i-1"
        }
        import {
          for_each = { a = "i-a", b = "i-b" }
          to       = aws_instance.many[each.key]
          id       = each.value
          provider = aws.west
        }
        import {
          to = aws_instance.many["c"]
          id = "i-c"
        }
        """,
    )
    one, many, literal = config.imports
    assert one.to == ResourceAddr.managed("aws_instance", "one") and one.to_key is None
    assert one.id.evaluate(Scope())[0] == "i-1"
    assert many.for_each is not None and many.provider_key == "aws.west"
    each = Scope(each_key="a", each_value="i-a", has_each=True)
    assert many.to_key is not None and many.to_key.evaluate(each)[0] == "a"
    assert many.id.evaluate(each)[0] == "i-a"
    assert literal.to_key is not None and literal.to_key.evaluate(Scope())[0] == "c"


def test_check_blocks_and_custom_conditions(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        variable "n" {
          default = 3
        }
        resource "aws_instance" "web" {
          lifecycle {
            precondition {
              condition     = var.n > 0
              error_message = "n must be positive."
            }
            postcondition {
              condition     = self.id != ""
              error_message = "no id"
            }
          }
        }
        output "o" {
          value = var.n
          precondition {
            condition     = var.n < 10
            error_message = "too big"
          }
        }
        check "health" {
          data "aws_instance" "probe" {
            instance_id = aws_instance.web.id
          }
          assert {
            condition     = data.aws_instance.probe.state == "running"
            error_message = "not running"
          }
        }
        """,
    )
    life = config.resources[ResourceAddr.managed("aws_instance", "web")].lifecycle
    assert [c.error_message.evaluate(Scope())[0] for c in life.preconditions] == ["n must be positive."]
    assert len(life.postconditions) == 1
    assert config.outputs["o"].preconditions[0].condition.evaluate(Scope(variables={"n": 3}))[0] is True
    check = config.checks["health"]
    assert [str(d.addr) for d in check.data] == ["data.aws_instance.probe"]
    assert len(check.asserts) == 1
    assert ResourceAddr.data("aws_instance", "probe") not in config.resources  # scoped to the check


@pytest.mark.parametrize(
    ("constraint", "ok"),
    [
        (">= 1.5", True),
        ("~> 1.11.0", True),
        ("~> 1.9", True),
        (">= 1.0, < 2.0", True),
        ("1.11.4", True),
        ("= 1.11.4", True),
        ("!= 1.11.4", False),
        ("< 1.0", False),
        ("~> 1.10.0", False),
        (">= 1.12", False),
        (">= 1.11.4-beta1", True),
        ("> 1.11.4-rc1", True),
    ],
)
def test_required_version(tmp_path: Path, constraint: str, ok: bool) -> None:
    (tmp_path / "main.tf").write_text(f'terraform {{\n  required_version = "{constraint}"\n}}\n')
    config, diags = load_config(str(tmp_path))
    assert config is not None
    if ok:
        assert not diags.has_errors, list(diags)
        assert config.required_version == (constraint,)
    else:
        [err] = diags.errors
        assert err.summary == "Unsupported Terraform Core version"
        assert constraint in err.detail and str(TERRAFORM_VERSION) in err.detail
        assert err.subject is not None and (err.subject.start.line, err.subject.start.column) == (2, 3)


def test_version_constraint_syntax() -> None:
    assert parse_constraints(">= 1.2.3, < 2") is not None
    assert parse_constraints("latest") is None and parse_constraints(">= 1.2.3.4") is None
    assert satisfies(parse_constraints("~> 1.2")or [], Version(1, 9, 0))
    assert not satisfies(parse_constraints("~> 1.2.3") or [], Version(1, 3, 0))
    assert satisfies(parse_constraints("< 1.0.0") or [], Version(1, 0, 0, ("beta",)))


def test_required_providers_and_backends(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        terraform {
          required_providers {
            aws = {
              source  = "registry.terraform.io/hashicorp/aws"
              version = "~> 5.0"
            }
            random = "~> 3.1"
          }
          backend "s3" {
            bucket = "b"
            key    = "k"
          }
        }
        """,
    )
    assert {n: (p.source, p.version) for n, p in config.required_providers.items()} == {
        "aws": ("hashicorp/aws", "~> 5.0"),
        "random": ("hashicorp/random", "~> 3.1"),
    }
    assert config.backend is not None and config.backend.type == "s3"
    assert config.backend.config == {"bucket": "b", "key": "k"}


def test_variable_options_and_bare_types(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        variable "l" {
          type = list
        }
        variable "m" {
          type = map
        }
        variable "s" {
          type    = set
          default = ["b", "a", "b"]
        }
        variable "secret" {
          type      = string
          ephemeral = true
          nullable  = false
        }
        variable "obj" {
          type = object({
            name = string
            size = optional(number, 10)
            tags = optional(map(string), {})
          })
          default = { name = "x" }
        }
        """,
    )
    v = config.variables
    assert isinstance(v["l"].type, ListType) and isinstance(v["m"].type, MapType) and isinstance(v["s"].type, SetType)
    assert v["s"].default == ["a", "b"]
    assert v["secret"].ephemeral and not v["secret"].nullable and v["secret"].required
    assert v["obj"].default == {"name": "x", "size": 10, "tags": {}}


def test_module_calls_are_decoded(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "main.tf").write_text('variable "cidr" {}\n')
    config = _load(tmp_path, 'module "net" {\n  source    = "./net"\n  count     = 2\n  providers = { aws = aws.west }\n  cidr      = "10.0.0.0/16"\n}\n')
    call = config.module_calls["net"]
    assert call.source == "./net" and call.providers == {"aws": "aws.west"} and call.count is not None
    assert set(call.inputs.attributes) == {"cidr"}


# (source, summary, detail fragment, line, column): nothing unknown is accepted anywhere.
UNKNOWN = [
    ('variable "v" {\n  typ = string\n}\n', "Unsupported argument", 'Did you mean "type"?', 2, 3),
    ('variable "v" {\n  validaton {\n  }\n}\n', "Unsupported block type", 'Did you mean "validation"?', 2, 3),
    ('output "o" {\n  value = 1\n  sensitve = true\n}\n', "Unsupported argument", 'Did you mean "sensitive"?', 3, 3),
    ('output "o" {\n  value = 1\n  lifecycle {}\n}\n', "Unsupported block type", "", 3, 3),
    ('resource "a_b" "c" {\n  lifecycle {\n    prevent_destory = true\n  }\n}\n', "Unsupported argument", 'Did you mean "prevent_destroy"?', 3, 5),
    ('resource "a_b" "c" {\n  lifecycle {\n    check {}\n  }\n}\n', "Unsupported block type", "", 3, 5),
    ('data "a_b" "c" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n', "Unsupported argument", "", 3, 5),
    ('terraform {\n  required_versions = ">= 1"\n}\n', "Unsupported argument", 'Did you mean "required_version"?', 2, 3),
    ('terraform {\n  experiments = [x]\n}\n', "Experiments are not supported", "", 2, 3),
    ('resourse "a_b" "c" {}\n', "Unsupported block type", 'Did you mean "resource"?', 1, 1),
    ('moved {\n  from = a_b.c\n  to   = a_b.d\n  by = 1\n}\n', "Unsupported argument", "", 4, 3),
    ('import {\n  to = a_b.c\n  id = "x"\n  ids = "y"\n}\n', "Unsupported argument", 'Did you mean "id"?', 4, 3),
    ('import {\n  to = a_b.c\n}\n', "Missing required argument", '"id"', 1, 1),
    ('import {\n  to = a_b.c[each.key]\n  id = "x"\n}\n', "Invalid import address", "for_each", 2, 3),
    ('check "c" {\n  x = 1\n  assert {\n    condition = true\n    error_message = "m"\n  }\n}\n', "Unsupported argument", "", 2, 3),
    ('check "c" {\n}\n', "Missing required block", "assert", 1, 1),
    ('resource "a_b" "c" {\n  lifecycle {\n    precondition {\n      condition = true\n    }\n  }\n}\n', "Missing required argument", "error_message", 3, 5),
    ('resource "a_b" "c" {\n  dynamic "d" {\n    for_each = []\n    itrator = x\n    content {}\n  }\n}\n', "Unsupported argument", 'Did you mean "iterator"?', 4, 5),
    ('variable "v" {\n  nullable = false\n  default  = null\n}\n', "Invalid default value for variable", "nullable=false", 3, 3),
    ('terraform {\n  required_version = "latest"\n}\n', "Invalid required_version constraint", "", 2, 3),
    ('terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", versions = "1" }\n  }\n}\n', "Invalid required_providers object", "versions", 3, 5),
]  # fmt: skip


@pytest.mark.parametrize(("src", "summary", "fragment", "line", "col"), UNKNOWN, ids=[u[1] + str(i) for i, u in enumerate(UNKNOWN)])
def test_nothing_unknown_is_accepted(tmp_path: Path, src: str, summary: str, fragment: str, line: int, col: int) -> None:
    (tmp_path / "main.tf").write_text(src)
    _config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    assert len(diags.errors) == 1, [(d.summary, d.detail) for d in diags.errors]  # reported once
    err = diags.errors[0]
    assert err.summary == summary, (err.summary, err.detail)
    assert fragment in err.detail
    assert err.subject is not None and (err.subject.start.line, err.subject.start.column) == (line, col)


def test_every_independent_error_in_one_load(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text('variable "v" {\n  typ = string\n}\noutput "o" {\n  valu = 1\n}\n')
    (tmp_path / "b.tf").write_text('resource "a_b" "c" {\n  lifecycle {\n    prevent_destory = true\n  }\n}\n')
    (tmp_path / "c.tf").write_text('terraform {\n  required_version = "< 1.0"\n}\n')
    _config, diags = load_config(str(tmp_path))
    summaries = [(d.summary, d.subject.filename.rsplit("/", 1)[-1] if d.subject else "") for d in diags.errors]
    assert summaries == [
        ("Unsupported argument", "a.tf"),
        ("Unsupported argument", "a.tf"),
        ("Missing required argument", "a.tf"),
        ("Unsupported argument", "b.tf"),
        ("Unsupported Terraform Core version", "c.tf"),
    ]


FEATURE_USES = {
    "conditions": 'output "o" {\n  value = 1\n  precondition {\n    condition = true\n    error_message = "m"\n  }\n}\n',
    "import": 'resource "a_b" "c" {}\nimport {\n  to = a_b.c\n  id = "x"\n}\n',
    "check": 'check "k" {\n  assert {\n    condition = true\n    error_message = "m"\n  }\n}\n',
    "module_calls": 'module "m" {\n  source = "./m"\n}\n',
}


@pytest.mark.parametrize("feature", sorted(FEATURE_USES))
def test_a_feature_the_engine_does_not_run_is_an_error(tmp_path: Path, feature: str) -> None:
    (tmp_path / "main.tf").write_text(FEATURE_USES[feature])
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_text("# the module call's child\n")
    config, diags = load_config(str(tmp_path))
    assert config is not None and len(diags.errors) == 1, list(diags)
    assert "not" in diags.errors[0].summary and "yet" in diags.errors[0].summary
    _config, diags = load_config(str(tmp_path), engine_features=frozenset({feature}))
    assert not diags.has_errors, list(diags)


def test_references_in_the_new_blocks_are_checked(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        resource "a_b" "c" {
          lifecycle {
            precondition {
              condition     = var.nope > 1
              error_message = "x"
            }
            postcondition {
              condition     = self.id != ""
              error_message = "x"
            }
          }
        }
        check "k" {
          data "a_b" "d" {}
          assert {
            condition     = data.a_b.d.x == 1 && a_b.zz.id != ""
            error_message = "m"
          }
        }
        import {
          to = a_b.c
          id = each.key
        }
        """,
    )
    found = [(d.summary, d.subject.start.line if d.subject else 0) for d in validate_references(config)]
    assert found == [
        ("Reference to undeclared input variable", 5),
        ('Reference to "each" in context without for_each', 23),
        ("Reference to undeclared resource", 17),
    ]


def test_a_syntax_error_does_not_hide_mistakes_in_other_files(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text("a = \n")
    (tmp_path / "b.tf").write_text('variable "v" {\n  typ = string\n}\n')
    config, diags = load_config(str(tmp_path))
    assert config is None
    assert [d.summary for d in diags.errors] == ["Invalid expression", "Unsupported argument"]
