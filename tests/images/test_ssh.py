"""communicator = "ssh": the temporary key pair reaches the instance (as cloud-init brings it) and
the provisioners run over SSH (paramiko), then the key pair goes with the rest."""

from __future__ import annotations

from pathlib import Path

from relight.images import BuildRequest, run_builds
from relight.localcloud import LocalCloud
from relight.runs import ListSink
from tests.images.helpers import env_of, leftovers
from tests.images.sshbase import ssh_base_image
from tests.localcloud.machines import Machines

TEMPLATE = """
source "amazon-ebs" "s" {
  ami_name      = "ssh-built"
  instance_type = "t3.micro"
  source_ami    = "%s"
  communicator  = "ssh"
  ssh_username  = "root"
  ssh_timeout   = "90s"
}

build {
  sources = ["source.amazon-ebs.s"]

  provisioner "file" {
    content     = "over ssh\\n"
    destination = "/etc/ssh-proof"
  }

  provisioner "shell" {
    inline = ["echo hello from $(hostname)", "cat /etc/ssh-proof", "echo made-by-ssh > /etc/ssh-proof-2"]
  }
}
"""


def test_a_build_over_ssh(dataplane: LocalCloud, tmp_path: Path) -> None:
    m = Machines(dataplane)
    base = ssh_base_image(m)
    (tmp_path / "t.pkr.hcl").write_text(TEMPLATE % base)
    run = run_builds(
        BuildRequest(str(tmp_path), registry=str(tmp_path / "r"), base=str(tmp_path)), env_of(dataplane), ListSink()
    )
    (result,) = run.results
    assert result.status == "built", (result.error, Path(result.log_path).read_text())
    log = Path(result.log_path).read_text()
    assert "Connected to SSH at" in log and "hello from ip-" in log and "over ssh" in log
    assert result.calls.get("CreateKeyPair") == 1 and result.calls.get("DeleteKeyPair") == 1
    assert "SendCommand" not in result.calls
    assert leftovers(m.ec2, keep_images=(base, result.image_id)) == {}
    node = m.launch(result.image_id, ip="10.0.1.50")
    m.wait_booted(node)
    assert m.sh(node, "cat /etc/ssh-proof /etc/ssh-proof-2") == "over ssh\nmade-by-ssh\n"
