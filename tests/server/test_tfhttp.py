"""Terraform's http backend protocol in the server: Terraform itself and the relight CLI keep a
workspace's state there, under the server's lock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import Live

ROOT = Path(__file__).resolve().parents[2]
# A missing terraform binary fails the Terraform half rather than passing silently, unless
# RELIGHT_NO_TERRAFORM=1 says the machine cannot have it.
needs_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None and os.environ.get("RELIGHT_NO_TERRAFORM") == "1",
    reason="RELIGHT_NO_TERRAFORM=1: no terraform binary on this machine",
)


def _backend(live: Live, token: str, workspace: str = "ghe") -> str:
    address = f"{live.url}/tfstate/{workspace}"
    return (f'terraform {{\n  backend "http" {{\n    address        = "{address}"\n'
            f'    lock_address   = "{address}"\n    unlock_address = "{address}"\n'
            f'    username       = "alice"\n    password       = "{token}"\n  }}\n}}\n')


def _terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update({"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"})
    return subprocess.run(["terraform", f"-chdir={workdir}", *args, "-no-color"], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def _relight(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RELIGHT_PARSE_CACHE="off")
    return subprocess.run([sys.executable, "-m", "relight", f"-chdir={workdir}", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def _lock_doc(lock_id: str, who: str = "someone@elsewhere") -> bytes:
    return json.dumps({"ID": lock_id, "Operation": "OperationTypeApply", "Info": "", "Who": who,
                       "Version": "1.11.4", "Created": "2026-12-01T10:00:00Z", "Path": ""}).encode()


def test_the_protocol(live: Live) -> None:
    alice, bob = live.token("alice"), live.token("bob")
    url = "/tfstate/ghe"
    assert live.http.get(url).status_code == 401  # no token
    assert live.http.get(url, auth=("x", "rlt_wrong")).status_code == 401
    assert live.http.get(url, auth=("alice", alice)).status_code == 204  # no state yet
    assert live.http.get("/tfstate/nope", auth=("alice", alice)).status_code == 404
    # Writing and locking need an approver of the workspace.
    assert live.http.request("LOCK", url, content=_lock_doc("l1"), auth=("bob", bob)).status_code == 403
    assert live.http.request("LOCK", url, content=_lock_doc("l1"), auth=("alice", alice)).status_code == 200
    held = live.http.request("LOCK", url, content=_lock_doc("l2"), auth=("alice", alice))
    assert held.status_code == 423 and held.json()["ID"] == "l1" and held.json()["Who"] == "someone@elsewhere"
    # A POST under another lock ID is refused with the holder; an UNLOCK of another ID too.
    state = {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "6f1c1c1a-0000-4000-8000-1",
             "outputs": {"x": {"value": "1", "type": "string"}}, "resources": []}
    refused = live.http.post(f"{url}?ID=l2", content=json.dumps(state), auth=("alice", alice))
    assert refused.status_code == 423 and refused.json()["ID"] == "l1"
    assert live.http.request("UNLOCK", url, content=_lock_doc("l2"), auth=("alice", alice)).status_code == 423
    assert live.http.post(f"{url}?ID=l1", content=json.dumps(state), auth=("alice", alice)).status_code == 200
    # The server's own runs see the same lock.
    holder = live.api(alice).get("/workspaces/ghe").text
    assert "locked by someone@elsewhere" in holder
    assert live.http.request("UNLOCK", url, content=_lock_doc("l1"), auth=("alice", alice)).status_code == 200
    got = live.http.get(url, auth=("alice", alice))
    assert got.status_code == 200 and got.json()["outputs"]["x"]["value"] == "1" and got.json()["serial"] == 1
    # A stale writer (older serial) and another lineage are refused.
    stale = live.http.post(url, content=json.dumps({**state, "serial": 0}), auth=("alice", alice))
    assert stale.status_code == 409
    other = live.http.post(url, content=json.dumps({**state, "serial": 5, "lineage": "7e2d2d2b-0000-4000-8000-2"}),
                           auth=("alice", alice))
    assert other.status_code == 409 and "lineage" in other.text
    bad = live.http.post(url, content=b"not a state", auth=("alice", alice))
    assert bad.status_code == 400
    # Bearer works too (the relight CLI's users may prefer it).
    assert httpx.get(f"{live.url}{url}", headers={"authorization": f"Bearer {bob}"}).status_code == 200


@needs_terraform
def test_terraform_and_the_relight_cli_share_the_state(live: Live, tmp_path: Path) -> None:
    alice = live.token("alice")
    tf = tmp_path / "tf"
    tf.mkdir()
    (tf / "main.tf").write_text(_backend(live, alice) + 'resource "terraform_data" "node" {\n  input = "v1"\n}\n'
                                'output "v" {\n  value = terraform_data.node.output\n}\n')
    init = _terraform(tf, "init")
    assert init.returncode == 0, init.stderr + init.stdout
    applied = _terraform(tf, "apply", "-auto-approve")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    state = live.api(alice).get("/api/workspaces/ghe/state").json()
    assert [r["name"] for r in state["resources"]] == ["node"]
    assert state["outputs"]["v"]["value"] == "v1"

    # The relight CLI reads the same state: no changes; then it applies one Terraform sees.
    rl = tmp_path / "rl"
    rl.mkdir()
    (rl / "main.tf").write_text((tf / "main.tf").read_text())
    plan = _relight(rl, "plan", "-detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    (rl / "main.tf").write_text((tf / "main.tf").read_text().replace('"v1"', '"v2"'))
    done = _relight(rl, "apply", "-auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert live.api(alice).get("/api/workspaces/ghe/state").json()["outputs"]["v"]["value"] == "v2"
    (tf / "main.tf").write_text((rl / "main.tf").read_text())
    again = _terraform(tf, "plan", "-detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr  # Terraform agrees: nothing to do

    # A lock held elsewhere stops both, naming the holder.
    url = "/tfstate/ghe"
    assert live.http.request("LOCK", url, content=_lock_doc("held-by-ops", "ops@jump"),
                             auth=("alice", alice)).status_code == 200
    blocked = _terraform(tf, "plan", "-lock-timeout=1s")
    assert blocked.returncode != 0 and "ID=held-by-ops" in blocked.stderr, blocked.stderr  # the holder
    refused = _relight(rl, "apply", "-auto-approve")
    assert refused.returncode != 0 and "ops@jump" in refused.stdout + refused.stderr
    assert live.http.request("UNLOCK", url, content=_lock_doc("held-by-ops"), auth=("alice", alice)).status_code == 200
    assert _terraform(tf, "plan", "-detailed-exitcode").returncode == 0


def test_http_backend_mistakes_are_errors(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('terraform {\n  backend "http" {\n    address = "ftp://x"\n  }\n}\n')
    out = _relight(tmp_path, "plan")
    assert out.returncode == 1 and "address must be an http:// or https:// URL" in out.stdout + out.stderr
    (tmp_path / "main.tf").write_text('terraform {\n  backend "http" {\n    address = "http://127.0.0.1:9/x"\n'
                                      '    client_certificate_pem = "x"\n  }\n}\n')
    out = _relight(tmp_path, "plan")
    assert out.returncode == 1 and "not supported" in out.stdout + out.stderr
