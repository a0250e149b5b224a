"""The file access policy: what configuration functions and the loader may read.

A confined policy (the server running a pull request's branch) refuses ``..``, absolute paths,
``~`` and symlinks that leave the configuration directory, with a diagnostic at the call that
names the function; an unconfined one (the CLI) reads what Terraform would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relight.lang import FilePolicy, Scope, collect_variable_values, load_config, parse_expression

SECRET = "top secret\n"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """``root/`` is the configuration directory; ``outside/secret.txt`` must stay unreadable."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_text("hi\n")
    (root / "sub" / "inner.txt").write_text("inner\n")
    (root / "tpl.tftpl").write_text('${file("${dir}/hello.txt")}')
    (root / "leak.tftpl").write_text('${file("../outside/secret.txt")}')
    (root / "again.tftpl").write_text('${templatefile("tpl.tftpl", { dir = "." })}')
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (root / "link_out.txt").symlink_to(outside / "secret.txt")
    (root / "link_in.txt").symlink_to(root / "hello.txt")
    (root / "dir_out").symlink_to(outside)
    return root


def _eval(source: str, root: Path, policy: FilePolicy) -> tuple[object, list[tuple[str, str, str]]]:
    expr, diags = parse_expression(source, "main.tf")
    assert expr is not None and not diags.has_errors, list(diags)
    scope = Scope(path_module=str(root), path_root=str(root), file_policy=policy)
    value, ediags = expr.evaluate(scope)
    return value, [(d.summary, d.detail, str(d.subject)) for d in ediags]


# (expression, readable when confined). Paths are relative to the configuration directory.
CASES = [
    ('file("hello.txt")', True),
    ('file("sub/inner.txt")', True),
    ('file("sub/../hello.txt")', True),
    ('file("${path.root}/hello.txt")', True),  # absolute, inside the root
    ('file("link_in.txt")', True),  # a symlink that stays inside
    ('file("../outside/secret.txt")', False),
    ('file("link_out.txt")', False),
    ('file("dir_out/secret.txt")', False),
    ('file("/etc/hostname")', False),
    ('file("~/.aws/credentials")', False),
    ('filebase64("../outside/secret.txt")', False),
    ('filemd5("../outside/secret.txt")', False),
    ('filesha1("link_out.txt")', False),
    ('filesha256("../outside/secret.txt")', False),
    ('filesha512("../outside/secret.txt")', False),
    ('filebase64sha256("../outside/secret.txt")', False),
    ('filebase64sha512("../outside/secret.txt")', False),
    ('fileexists("../outside/secret.txt")', False),
    ('fileexists("hello.txt")', True),
    ('fileset(path.root, "h*.txt")', True),
    ('fileset(path.root, "*.txt")', False),  # link_out.txt matches and leaves the root
    ('fileset("..", "outside/*")', False),
    ('fileset(path.root, "../outside/*")', False),
    ('fileset(path.root, "dir_out/*")', False),  # through a symlinked directory
    ('templatefile("tpl.tftpl", { dir = "." })', True),
    ('templatefile("leak.tftpl", {})', False),  # the template's own calls are confined too
    ('templatefile("../outside/secret.txt", {})', False),
    ('pathexpand("~/x")', False),
]


@pytest.mark.parametrize(("source", "allowed"), CASES)
def test_confined_policy(layout: Path, source: str, allowed: bool) -> None:
    value, diags = _eval(source, layout, FilePolicy.confined(str(layout)))
    if allowed:
        assert not diags, diags
        assert SECRET.strip() not in str(value)
        return
    assert len(diags) == 1, diags
    summary, detail, where = diags[0]
    assert summary == "Error in function call"
    name = source.split("(", 1)[0]
    assert detail.startswith(f'Call to function "{name}" failed:'), detail
    assert "policy" in detail or "not allowed" in detail, detail
    assert where.startswith("main.tf:1:"), where
    assert SECRET.strip() not in detail


# Everything but what depends on the machine (the home directory, /etc, files beside the root).
UNCONFINED = [s for s, _ in CASES if "~" not in s and "/etc" not in s and not s.startswith(("fileset(\"..\"", "fileexists"))]


@pytest.mark.parametrize("source", UNCONFINED)
def test_unconfined_policy_reads_as_terraform_does(layout: Path, source: str) -> None:
    _value, diags = _eval(source, layout, FilePolicy.unconfined())
    assert not diags, diags


def test_fileset_lists_regular_files_relative_to_the_path(layout: Path) -> None:
    (layout / "sub" / "deep").mkdir()
    (layout / "sub" / "deep" / "x.tf").write_text("")
    (layout / "sub" / "y.tf").write_text("")
    policy = FilePolicy.confined(str(layout))
    cases = {
        'fileset(path.root, "*.txt")': ["hello.txt", "link_in.txt", "link_out.txt"],
        'fileset(path.root, "**/*.tf")': ["sub/deep/x.tf", "sub/y.tf"],
        'fileset("${path.root}/sub", "*")': ["inner.txt", "y.tf"],
        'fileset(path.root, "sub/{inner,nope}.txt")': ["sub/inner.txt"],
        'fileset(path.root, "h?llo.[st]xt")': ["hello.txt"],
        'fileset(path.root, "nothing/*")': [],
    }
    for source, expected in cases.items():
        if "link_out" in str(expected):
            value, diags = _eval(source, layout, policy)
            assert diags and "link_out.txt" in diags[0][1], (source, diags)
            value, diags = _eval(source, layout, FilePolicy.unconfined())
        else:
            value, diags = _eval(source, layout, policy)
        assert not diags, (source, diags)
        assert value == expected, source


def test_templatefile_may_not_call_itself(layout: Path) -> None:
    _value, diags = _eval('templatefile("again.tftpl", {})', layout, FilePolicy.unconfined())
    assert "cannot recursively call templatefile" in diags[0][1]


def test_loader_refuses_a_configuration_file_that_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "elsewhere.tf").write_text('output "x" { value = 1 }\n')
    (root / "main.tf").symlink_to(tmp_path / "elsewhere.tf")
    config, diags = load_config(str(root), file_policy=FilePolicy.confined(str(root)))
    assert config is None
    assert [d.summary for d in diags] == ["Configuration file refused"]
    assert "outside the configuration directory" in diags.errors[0].detail
    config, diags = load_config(str(root))
    assert config is not None and "x" in config.outputs


def test_auto_tfvars_and_validation_rules_follow_the_policy(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.tfvars").write_text('name = "from outside"\n')
    (root / "terraform.tfvars").symlink_to(tmp_path / "secret.tfvars")
    (root / "main.tf").write_text(
        'variable "name" {\n'
        '  default = "x"\n'
        "  validation {\n"
        '    condition     = fileexists("../secret.tfvars") || true\n'
        '    error_message = "never"\n'
        "  }\n"
        "}\n"
    )
    policy = FilePolicy.confined(str(root))
    config, diags = load_config(str(root), file_policy=policy)
    assert config is not None and not diags.has_errors
    values, vdiags = collect_variable_values(config, [], {}, file_policy=policy)
    summaries = sorted(d.summary for d in vdiags.errors)
    assert summaries == ["Error in function call", "Variables file refused"], list(vdiags)
    values, vdiags = collect_variable_values(config, [], {})
    assert values == {"name": "from outside"} and not vdiags.has_errors


def test_confined_roots_are_real_paths(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("a")
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    policy = FilePolicy.confined(str(alias))
    assert policy.roots == (os.path.realpath(real),)
    assert policy.read_bytes("a.txt", str(alias)) == b"a"
    assert not FilePolicy.unconfined().is_confined and policy.is_confined


def test_unconfined_home_is_given_not_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/nonexistent-home")
    assert FilePolicy.unconfined(home="/home/ops").expand("~/x") == "/home/ops/x"
    assert FilePolicy.unconfined().expand("~/x") != "/nonexistent-home/x"
    assert FilePolicy.unconfined().expand("~other/x") == "~other/x"
