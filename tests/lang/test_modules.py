"""Loading a module tree: sources, Terraform's module manifest, the tree's shape and sources, and
the pure decisions (what is a local source, which installed version meets a constraint)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from relight.diagnostics import Severity
from relight.lang import load_config
from relight.lang.config import ENGINE_FEATURES
from relight.lang.modules import is_local_source, version_allows

LOCAL = [
    ("./modules/net", True),
    ("../shared/dns", True),
    (".\\windows\\style", True),
    (".", True),
    ("hashicorp/consul/aws", False),
    ("app.terraform.io/acme/vpc/aws", False),
    ("git::https://example.com/vpc.git?ref=v1.2.0", False),
    ("github.com/acme/terraform-modules//vpc", False),
    ("s3::https://s3.amazonaws.com/bucket/vpc.zip", False),
    ("/abs/path/module", False),  # Terraform does not take absolute paths as local sources
    ("modules/net", False),  # nor paths without ./ (it would read them as a registry address)
]


@pytest.mark.parametrize(("source", "local"), LOCAL)
def test_which_sources_are_local_paths(source: str, local: bool) -> None:
    assert is_local_source(source) is local


VERSIONS = [
    ("1.2.7", "~> 1.2", True),
    ("2.0.0", "~> 1.2", False),
    ("1.2.7", "~> 1.2.0", True),
    ("1.3.0", "~> 1.2.0", False),
    ("5.1.0", ">= 5.0, < 6.0", True),
    ("6.0.0", ">= 5.0, < 6.0", False),
    ("1.0.0", "1.0.0", True),
    ("1.0.0", "!= 1.0.0", False),
    ("1.0.0-beta1", ">= 1.0.0", False),
    ("1.0.0", "not a constraint", False),
    (None, ">= 1.0", False),
]


@pytest.mark.parametrize(("installed", "constraint", "ok"), VERSIONS)
def test_which_installed_versions_meet_a_constraint(installed: str | None, constraint: str, ok: bool) -> None:
    assert version_allows(constraint, installed) is ok


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_tree_has_children_paths_and_every_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": 'module "net" {\n  source = "./modules/net"\n}\n',
            "modules/net/main.tf": 'module "sub" {\n  source = "../sub"\n}\n',
            "modules/sub/main.tf": 'output "o" { value = 1 }\n',
        },
    )
    config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    assert config is not None and not diags, list(diags)
    net = config.children["net"]
    sub = net.children["sub"]
    assert (config.path, net.path, sub.path) == ((), ("net",), ("net", "sub"))
    assert Path(sub.directory) == tmp_path / "modules" / "sub"
    assert sorted(Path(n).relative_to(tmp_path).as_posix() for n in config.sources) == [
        "main.tf",
        "modules/net/main.tf",
        "modules/sub/main.tf",
    ]


def test_one_module_called_twice_is_loaded_for_each_call(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": 'module "a" {\n  source = "./m"\n}\nmodule "b" {\n  source = "./m"\n}\n',
            "m/main.tf": 'variable "x" {\n  default = 1\n}\n',
        },
    )
    config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    assert config is not None and not diags.has_errors
    assert set(config.children) == {"a", "b"} and config.children["b"].path == ("b",)


def test_a_child_backend_is_a_warning_at_its_own_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": 'module "m" {\n  source = "./m"\n}\n',
            "m/main.tf": 'terraform {\n  backend "s3" {}\n}\n',
        },
    )
    _config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    [warning] = [d for d in diags if d.severity is Severity.WARNING]
    assert warning.summary == "Backend configuration ignored" and "module.m" in warning.detail
    assert warning.subject is not None and warning.subject.filename.endswith("m/main.tf")


def test_a_damaged_manifest_is_a_warning_and_its_modules_are_not_installed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": 'module "vpc" {\n  source = "acme/vpc/aws"\n}\n',
            ".terraform/modules/modules.json": '{"Modules": [{"Key": "vpc"}]}',
        },
    )
    _config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    assert [d.summary for d in diags if d.severity is Severity.WARNING] == ["Module manifest not read"]
    assert [d.summary for d in diags.errors] == ["Module not installed"]


def test_without_the_module_calls_feature_children_are_not_loaded(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": 'module "m" {\n  source = "./m"\n}\n', "m/main.tf": "\n"})
    config, diags = load_config(str(tmp_path))
    assert config is not None and config.children == {}
    assert [d.summary for d in diags.errors] == ["Module calls are not supported yet"]


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_the_manifest_terraform_init_writes_is_read(tmp_path: Path) -> None:
    """terraform init records every module (local ones too) in .terraform/modules/modules.json;
    a call whose copy that manifest names loads from there (here standing in for a registry
    module that init downloaded, with a local submodule inside it, keyed "vpc.sub")."""
    write(
        tmp_path,
        {
            "main.tf": 'module "vpc" {\n  source = "./vendor/vpc"\n}\noutput "o" { value = module.vpc.o }\n',
            "vendor/vpc/main.tf": 'module "sub" {\n  source = "./sub"\n}\noutput "o" { value = module.sub.o }\n',
            "vendor/vpc/sub/main.tf": 'output "o" { value = "from the copy" }\n',
        },
    )
    init = subprocess.run(
        ["terraform", "init", "-input=false", "-no-color"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    assert init.returncode == 0, init.stderr
    manifest_path = tmp_path / ".terraform" / "modules" / "modules.json"
    manifest = json.loads(manifest_path.read_text())
    assert {m["Key"]: m["Dir"] for m in manifest["Modules"]} == {"": ".", "vpc": "vendor/vpc", "vpc.sub": "vendor/vpc/sub"}
    # Now the same module as if init had downloaded it from a registry.
    for entry in manifest["Modules"]:
        if entry["Key"] == "vpc":
            entry.update(Source="registry.terraform.io/acme/vpc/aws", Version="3.1.0")
    manifest_path.write_text(json.dumps(manifest))
    (tmp_path / "main.tf").write_text(
        'module "vpc" {\n  source  = "acme/vpc/aws"\n  version = "~> 3.0"\n}\noutput "o" { value = module.vpc.o }\n'
    )
    config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    assert config is not None and not diags, list(diags)
    assert Path(config.children["vpc"].children["sub"].directory) == tmp_path / "vendor" / "vpc" / "sub"
    (tmp_path / "main.tf").write_text('module "vpc" {\n  source = "acme/other/aws"\n}\n')
    _config, diags = load_config(str(tmp_path), engine_features=ENGINE_FEATURES)
    assert [d.summary for d in diags.errors] == ["Module source has changed"]
