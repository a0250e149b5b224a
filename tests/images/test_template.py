"""Reading Packer templates: what is accepted, and each mistake as a diagnostic at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from relight.images import load_template
from relight.images.provisioners import FileProvisioner, ShellProvisioner

BASE = """
source "amazon-ebs" "ghe" {
  ami_name      = "ghe-${var.v}"
  instance_type = "t3.micro"
  source_ami    = "ami-347c015e"
  %s
}
build {
  sources = ["source.amazon-ebs.ghe"]
  %s
}
variable "v" {
  type    = string
  default = "1"
}
"""


def write(tmp: Path, source_extra: str = "", build_extra: str = "", text: str | None = None) -> Path:
    (tmp / "t.pkr.hcl").write_text(text if text is not None else BASE % (source_extra, build_extra))
    return tmp


# (what the template does wrong, source arguments, build contents, expected summary, expected line)
ERRORS = [
    ("unknown argument", "amy_name = 1", "", "Unsupported argument", 6),
    ("Packer argument relight lacks", 'ami_regions = ["eu-west-1"]', "", "Not supported by relight", 6),
    ("bad type", "force_deregister = [1]", "", "Invalid value", 6),
    ("bad communicator", 'communicator = "winrm"', "", "Unsupported communicator", 6),
    ("ssh without user", 'communicator = "ssh"', "", "Missing ssh_username", 6),
    ("unknown provisioner", "", 'provisioner "ansible" { playbook_file = "x" }', "Unsupported provisioner", 10),
    ("shell with nothing", "", 'provisioner "shell" { }', "Invalid shell provisioner", 10),
    ("shell argument typo", "", 'provisioner "shell" {\n inlin = ["x"]\n}', "Unsupported argument", 11),
    ("missing script", "", 'provisioner "shell" { script = "nope.sh" }', "Cannot read a provisioner's file", 10),
    ("file source missing", "", 'provisioner "file" {\n source = "nope"\n destination = "/x"\n}', "File not found", 10),
    ("other post-processor", "", 'post-processor "vagrant" { }', "Unsupported post-processor", 10),
    ("unknown block", "", 'hook "x" { }', "Unsupported block type", 10),
    ("unknown variable", "ssh_username = var.nope", "", "Reference to undeclared input variable", 6),
]


@pytest.mark.parametrize(("case", "extra", "build", "summary", "line"), ERRORS, ids=[e[0] for e in ERRORS])
def test_mistakes_are_diagnostics_at_their_line(
    tmp_path: Path, case: str, extra: str, build: str, summary: str, line: int
) -> None:
    template, diags = load_template(str(write(tmp_path, extra, build)))
    assert template is None, case
    found = [d for d in diags if d.severity.value == "error"]
    assert found, case
    assert any(d.summary == summary for d in found), [d.summary for d in found]
    hit = next(d for d in found if d.summary == summary)
    assert hit.subject is not None and hit.subject.start.line == line, (hit.summary, hit.subject)


def test_credentials_in_a_template_are_a_warning_at_their_line(tmp_path: Path) -> None:
    template, diags = load_template(str(write(tmp_path, 'profile = "ops"')))
    assert template is not None  # the build goes on, with the environment's credentials
    [warning] = [d for d in diags if d.severity.value == "warning"]
    assert warning.summary == "Argument not used" and '"profile"' in warning.detail
    assert warning.subject is not None and warning.subject.start.line == 6


NOT_USED = [
    ('ena_support = true', "", 6, '"ena_support"'),
    ('ssh_interface = "private_ip"', "", 6, "ssh_interface"),
    ("", 'provisioner "shell" {\n inline = ["x"]\n remote_folder = "/var/tmp"\n}', 12, '"remote_folder"'),
    ("", 'post-processor "manifest" {\n strip_time = true\n}', 11, '"strip_time"'),
]


@pytest.mark.parametrize(("extra", "build", "line", "named"), NOT_USED, ids=[n[3] for n in NOT_USED])
def test_arguments_relight_does_not_apply_are_warnings_at_their_line(
    tmp_path: Path, extra: str, build: str, line: int, named: str
) -> None:
    template, diags = load_template(str(write(tmp_path, extra, build)))
    assert template is not None
    [warning] = [d for d in diags if d.severity.value == "warning"]
    assert warning.summary == "Argument not used" and named in warning.detail
    assert warning.subject is not None and warning.subject.start.line == line


def test_other_builders_and_data_sources_are_refused(tmp_path: Path) -> None:
    text = (
        'source "docker" "x" { image = "debian" }\ndata "amazon-ami" "x" { }\nbuild { sources = ["source.docker.x"] }\n'
    )
    template, diags = load_template(str(write(tmp_path, text=text)))
    assert template is None
    summaries = {d.summary for d in diags}
    assert {"Unsupported builder", "Data sources are not supported"} <= summaries


def test_variables_precedence_locals_and_functions(tmp_path: Path) -> None:
    (tmp_path / "a.auto.pkrvars.hcl").write_text('v = "auto"\n')
    (tmp_path / "cli.pkrvars.hcl").write_text('v = "file"\n')
    text = BASE % (
        'tags = { Day = formatdate("YYYY-MM-DD", "2026-11-05T10:00:00Z"), S = local.s, N = source.name }',
        "",
    )
    text += 'locals { s = regex_replace("2026-11-05T10:00:00Z", "[- TZ:]", "") }\n'
    write(tmp_path, text=text)

    def ami_name(given: list[tuple[str, str]], env: dict[str, str]) -> str:
        template, diags = load_template(str(tmp_path), given, env)
        assert template is not None, diags
        return template.builds[0].source.ami_name

    assert ami_name([], {}) == "ghe-auto"
    assert ami_name([], {"PKR_VAR_v": "env"}) == "ghe-auto"  # auto files beat the environment
    (tmp_path / "a.auto.pkrvars.hcl").unlink()
    assert ami_name([], {"PKR_VAR_v": "env"}) == "ghe-env"
    assert ami_name([("var-file", str(tmp_path / "cli.pkrvars.hcl"))], {"PKR_VAR_v": "env"}) == "ghe-file"
    assert ami_name([("var-file", str(tmp_path / "cli.pkrvars.hcl")), ("var", "v=cli")], {}) == "ghe-cli"
    template, _ = load_template(str(tmp_path))
    assert template is not None
    assert dict(template.builds[0].source.tags) == {"Day": "2026-11-05", "S": "20261105100000", "N": "ghe"}


def test_the_example_template(tmp_path: Path) -> None:
    template, diags = load_template("examples/ghe-image", [("var", "ghe_version=2.18.1")])
    assert template is not None, diags
    (spec,) = template.builds
    assert spec.name == "ghe.amazon-ebs.ghe"
    assert spec.source.ami_name.startswith("ghe-2.18.1-")
    assert spec.source.communicator == "ssm"
    assert spec.source.source_ami_filter is not None and spec.source.source_ami_filter.most_recent
    kinds = [type(p) for p in spec.provisioners]
    assert kinds == [FileProvisioner, ShellProvisioner, ShellProvisioner]
    assert template.select(["amazon-ebs.ghe"]) == template.builds
    assert template.select(["other.*"]) == ()


def test_digest_ignores_timestamps_but_not_content(tmp_path: Path) -> None:
    text = BASE % ("", 'provisioner "shell" { inline = ["echo ${timestamp()}"] }')
    # the inline line holds timestamp(): its value changes every run, the template's text does not;
    # the digest covers the evaluated provisioners, so such a template rebuilds. Plain ones do not.
    write(tmp_path, text=BASE % ("", 'provisioner "file" {\n content = "a"\n destination = "/x"\n}'))
    first, _ = load_template(str(tmp_path))
    second, _ = load_template(str(tmp_path))
    assert first is not None and second is not None
    assert first.builds[0].digest == second.builds[0].digest
    write(tmp_path, text=BASE % ("", 'provisioner "file" {\n content = "b"\n destination = "/x"\n}'))
    third, _ = load_template(str(tmp_path))
    assert third is not None and third.builds[0].digest != first.builds[0].digest
    fourth, _ = load_template(str(tmp_path), [("var", "v=2")])
    assert fourth is not None and fourth.builds[0].digest != third.builds[0].digest
    assert text  # documented above


def test_only_and_except_take_packer_s_comma_lists() -> None:
    from relight.cli.image_cmds import _names

    assert _names(["amazon-ebs.a,amazon-ebs.b", "c", " d , "]) == ("amazon-ebs.a", "amazon-ebs.b", "c", "d")
