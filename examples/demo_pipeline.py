"""The demo's pipeline story: a pull request is planned, the merge waits for a person, then applies;
then the upgrade the same way: a PR builds the new image and rehearses it on a copy of the data,
the merge promotes it, and the node is replaced once a person confirms.

Called by ``examples/demo.py`` (``make demo``) with the local cloud running; also runs on its own
(``python examples/demo_pipeline.py`` starts its own local cloud). The upgrade needs the local
cloud's data plane (instances that run the image's service); without it, it is skipped. Nothing talks to the internet:
the repository is a local git repository (GitHub clones it by ``file://`` here), GitHub's API is
relight's stand-in (it records the commit statuses and the PR comment), and Slack is a local
receiver that prints what it is sent. The server is ``relight serve``'s, on the embedded defaults
(SQLite in its data directory, in-process workers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import uvicorn

from relight.server.config import load_server_config
from relight.server.server import Server
from relight.server.standin import SlackReceiver, StandInGitHub

HERE = Path(__file__).resolve().parent
SECRET = secrets.token_hex(16)


def say(text: str = "") -> None:
    print(text, flush=True)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(what: str, check: Callable[[], Any], timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    say(f"\ndemo: timed out waiting for {what}")
    sys.exit(1)


class _GitHubSide:
    """What GitHub does in this story: hold the repository and send signed webhooks."""

    def __init__(self, repo: Path, url: str) -> None:
        self.repo = repo
        self.http = httpx.Client(base_url=url, timeout=10.0)

    def send(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        resp = self.http.post("/webhooks/github", content=body, headers={
            "content-type": "application/json", "x-github-event": event,
            "x-github-delivery": secrets.token_hex(16), "x-hub-signature-256": signature})
        say(f"    GitHub -> POST /webhooks/github ({event}{' ' + payload['action'] if 'action' in payload else ''})"
            f" -> {resp.status_code} {resp.json()}")
        return dict(resp.json())

    def repository(self) -> dict[str, str]:
        return {"full_name": "acme/infra", "clone_url": self.repo.as_uri()}


WORKSPACE = ('workspace "ghe" {\n  repo      = "acme/infra"\n  dir       = "github-enterprise"\n'
             '  branch    = "main"\n  approvers = ["alice"]\n'
             '  images    = ["ghe-image"]   # the Packer templates of the images it runs\n'
             '  channel   = "production"    # the channel a merge promotes them to\n}\n')


@dataclass
class _Story:
    """Everything the story's steps act on: the repository, both stand-ins, the server's API."""

    repo: Path
    side: _GitHubSide
    api: httpx.Client
    github: StandInGitHub
    slack: SlackReceiver
    url: str
    started: float = field(default_factory=time.monotonic)

    def lap(self) -> float:
        """Seconds since the previous lap (or the start)."""
        now = time.monotonic()
        took, self.started = now - self.started, now
        return took

    def status(self, context: str, sha: str, settled: Callable[[Any], bool] | None = None,
               timeout: float = 180.0) -> Any:
        """The newest commit status ``context`` on ``sha`` once ``settled`` (default: not pending)."""
        ok = settled or (lambda s: s.state != "pending")
        return _until(f"the commit status {context}", lambda: next(
            (s for s in reversed(self.github.statuses) if s.context == context and s.sha == sha and ok(s)), None),
            timeout)

    def show_status(self, status: Any) -> None:
        say(f"    GitHub <- commit status on {status.sha[:12]}: [{status.state}] {status.context}: "
            f"{status.description}")
        if status.target_url:
            say(f"              details: {status.target_url}")

    def slack_since(self, count: int, fragment: str) -> str:
        """The first Slack message after the first ``count`` that contains ``fragment``."""
        text = _until(f"Slack ({fragment})", lambda: next(
            (t for t in self.slack.texts()[count:] if fragment in t), None))
        return str(text)

    def run(self, run_id: int) -> dict[str, Any]:
        return dict(self.api.get(f"/api/runs/{run_id}").json())

    def wait_run(self, run_id: int, statuses: tuple[str, ...], timeout: float = 180.0) -> dict[str, Any]:
        return dict(_until(f"run {run_id} to be {' or '.join(statuses)}", lambda: (
            lambda r: r if r["status"] in statuses else None)(self.run(run_id)), timeout))

    def commit(self, message: str) -> str:
        _git(self.repo, "add", "-A")
        _git(self.repo, "commit", "-q", "-m", message)
        return _git(self.repo, "rev-parse", "HEAD")


def run(work: Path, endpoint: str | None = None) -> None:
    """The story, in ``work`` (a scratch folder). The local cloud must already be up (AWS_* set);
    ``endpoint``: its address when it has a data plane (the upgrade is told then, else skipped)."""
    github, slack = StandInGitHub().start(), SlackReceiver().start()
    repo = work / "acme-infra"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dev@acme.example")
    _git(repo, "config", "user.name", "Dev")
    (repo / "README.md").write_text("acme infrastructure\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "start")
    base = _git(repo, "rev-parse", "HEAD")

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    config_path = work / "relight-server.hcl"
    config_path.write_text(
        f'server {{\n  listen     = "127.0.0.1:{port}"\n  public_url = "{url}"\n'
        f'  data_dir   = "{work / "server"}"\n}}\n'
        f'github {{\n  api_url        = "{github.api_url}"   # GitHub Enterprise: https://HOST/api/v3\n'
        f'  token          = "{github.token}"\n}}\n'
        f'slack {{\n  webhook_url = "{slack.url}"\n}}\n' + WORKSPACE)
    env = dict(os.environ, RELIGHT_GITHUB_WEBHOOK_SECRET=SECRET)
    say("\n[6] The pull-request pipeline: relight serve, configured by relight-server.hcl:\n")
    for line in config_path.read_text().splitlines():
        say(f"      {line}")
    say("    (the webhook secret comes from RELIGHT_GITHUB_WEBHOOK_SECRET; GitHub and Slack are local stand-ins)")
    config, diags, _ = load_server_config(str(config_path), env)
    assert config is not None, list(diags)
    server = Server(config, env, poll=0.2, log=lambda line: None)
    uv = uvicorn.Server(server.uvicorn_config())
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    _until("the server", lambda: uv.started, 30)
    say(f"    relight serve is up at {url}; GitHub's webhook points at {url}/webhooks/github")
    token = subprocess.run([sys.executable, "-m", "relight", "server", "token", "create", "alice",
                            f"-config={config_path}"], env=env, check=True, capture_output=True,
                           text=True).stdout.strip()
    say(f"    $ relight server token create alice -config={config_path.name}\n      {token[:8]}… (stored hashed)")
    api = httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=10.0)
    story = _Story(repo, _GitHubSide(repo, url), api, github, slack, url)
    try:
        merged = _first_apply(story, base)
        if endpoint is None:
            say("\n[7] The upgrade through the pipeline is skipped: image builds and rehearsals need the data plane.")
        else:
            _upgrade(story, merged, _Service(endpoint))
    finally:
        uv.should_exit = True
        thread.join(30)
        server.close()
        github.stop()
        slack.stop()


def _first_apply(s: _Story, base: str) -> str:
    """A PR adds the stack; its merge is planned, confirmed and applied. Returns the merge commit."""
    say("\n    A pull request adds the GitHub Enterprise stack (examples/github-enterprise) to the repository:")
    _git(s.repo, "checkout", "-q", "-b", "add-ghe")
    target = s.repo / "github-enterprise"
    target.mkdir()
    for tf in sorted((HERE / "github-enterprise").glob("*.tf")):
        (target / tf.name).write_text(tf.read_text())
    head = s.commit("GitHub Enterprise on AWS")
    files = [f"github-enterprise/{p.name}" for p in sorted(target.glob("*.tf"))]
    s.github.pr_files[("acme/infra", 1)] = files
    s.side.send("pull_request", {"action": "opened", "number": 1, "repository": s.side.repository(),
                                 "pull_request": {"number": 1, "head": {"sha": head, "ref": "add-ghe"},
                                                  "base": {"sha": base, "ref": "main"}}})
    s.show_status(s.status("relight/plan: ghe", head))
    comment = _until("the PR comment", lambda: next(iter(s.github.comments.values()), None))
    say(f"    GitHub <- PR comment: {comment.body.splitlines()[0]} ... ({len(comment.body)} characters)")

    say("\n    The PR is merged; GitHub sends the push to main:")
    _git(s.repo, "checkout", "-q", "main")
    _git(s.repo, "merge", "-q", "--no-ff", "-m", "Merge add-ghe", "add-ghe")
    merged = _git(s.repo, "rev-parse", "HEAD")
    run_id = s.side.send("push", {"ref": "refs/heads/main", "before": base, "after": merged, "repository":
                                  s.side.repository(), "commits": [{"added": files, "modified": [], "removed": []}]})[
        "runs"][0]
    _confirm_and_apply(s, run_id, merged, 0)
    state = s.api.get("/api/workspaces/ghe/state").json()
    managed = [r for r in state["resources"] if r["mode"] == "managed"]
    say(f"    The state lives in the server's database: serial {state['serial']}, {len(managed)} managed "
        f"resources (GET /api/workspaces/ghe/state); the audit log records alice's confirmation.")
    return merged


def _confirm_and_apply(s: _Story, run_id: int, sha: str, slack_seen: int) -> None:
    """The merge's plan waits (status, Slack, the run's page); alice confirms; it applies."""
    s.wait_run(run_id, ("planned",))
    s.show_status(s.status("relight/apply: ghe", sha, lambda st: "waiting" in st.description))
    text = s.slack_since(slack_seen, "waiting")
    button = next(m for m in s.slack.messages[slack_seen:] if m.get("text") == text)["blocks"][1]["elements"][0]
    say(f"    Slack  <- \"{text}\"  [{button['text']['text']}: {button['url']}]")
    say(f"\n    The run's page shows the plan, as the CLI prints it ({s.url}/runs/{run_id}):")
    plan = s.api.get(f"/api/runs/{run_id}/plan").json()["text"].splitlines()
    for line in [ln for ln in plan if ln.startswith("  # ") or ln.startswith("Plan:")]:
        say(f"      {line}")
    say(f"\n    alice reads it at {s.url}/runs/{run_id} and presses Confirm & Apply (here through the API):")
    say(f"      $ curl -X POST -H 'Authorization: Bearer {token_hint(s.api)}' {s.url}/api/runs/{run_id}/confirm")
    resp = s.api.post(f"/api/runs/{run_id}/confirm")
    say(f"      -> {resp.status_code} status {resp.json()['status']}")
    done = s.wait_run(run_id, ("applied", "errored"), 240)
    for event in s.api.get(f"/api/runs/{run_id}/log").json():
        text = event.get("text", "")
        if "complete after" in text or "Apply complete" in text:
            say(f"      {text}")
    s.show_status(s.status("relight/apply: ghe", sha))
    say(f"    Slack  <- \"{s.slack_since(slack_seen, 'applied' if done['status'] == 'applied' else 'failed')}\"")
    if done["status"] != "applied":
        say("\ndemo: the apply failed")
        sys.exit(1)


class _Service:
    """The node's service as its users reach it: SSM Run Command inside, HTTP to ``/status``
    at the host address the local cloud reports (``GET /_relight/instances/<id>``)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.ssm: Any = boto3.client("ssm")

    def run(self, instance: str, command: str) -> None:
        out = self.ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                                    Parameters={"commands": [command]})
        self.ssm.get_waiter("command_executed").wait(CommandId=out["Command"]["CommandId"], InstanceId=instance,
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def status(self, instance: str) -> dict[str, Any]:
        def answer() -> dict[str, Any] | None:
            with urllib.request.urlopen(f"{self.endpoint}/_relight/instances/{instance}") as resp:
                address = json.load(resp)["ports"].get("80")
            try:
                with urllib.request.urlopen(f"http://{address}/status", timeout=5) as resp:
                    return dict(json.load(resp))
            except OSError:
                return None
        return dict(_until(f"the service of {instance}", answer, 60))


def _node(s: _Story) -> dict[str, Any]:
    state = s.api.get("/api/workspaces/ghe/state").json()
    return dict(next(r for r in state["resources"] if r["type"] == "aws_instance")["instances"][0]["attributes"])


def _upgrade(s: _Story, main: str, service: _Service) -> None:
    """GitHub Enterprise 2.17 -> 2.18 through the pipeline (the flow tests/server/test_image_pipeline.py
    checks): the PR builds the image and rehearses it, the merge promotes it, alice confirms."""
    started = time.monotonic()
    node = _node(s)
    before = service.status(node["id"])  # up, with its data volume mounted
    token = secrets.token_hex(6)
    service.run(node["id"], f"echo {token} > /data/ghe/token")
    say(f"\n[7] The upgrade through the pipeline. Production runs GitHub Enterprise {before['version']} on "
        f"{node['id']} ({node['ami']});")
    say(f"    data token {token} is written into its data through SSM.")
    s.lap()

    say("\n    A pull request adds the Packer template of GitHub Enterprise 2.18.0 (examples/ghe-image):")
    _git(s.repo, "checkout", "-q", "-b", "ghe-218", main)
    template = s.repo / "ghe-image"
    for src in sorted((HERE / "ghe-image").rglob("*")):
        if src.is_file() and src.name != "packer-manifest.json":
            (template / src.relative_to(HERE / "ghe-image")).parent.mkdir(parents=True, exist_ok=True)
            (template / src.relative_to(HERE / "ghe-image")).write_bytes(src.read_bytes())
    c1 = s.commit("ghe 2.18 image")
    files = [str(p.relative_to(s.repo)) for p in sorted(template.rglob("*")) if p.is_file()]
    s.github.pr_files[("acme/infra", 2)] = files
    pr = {"number": 2, "head": {"sha": c1, "ref": "ghe-218"}, "base": {"sha": main, "ref": "main"}}
    s.side.send("pull_request", {"action": "opened", "number": 2, "repository": s.side.repository(),
                                 "pull_request": pr})
    built = s.status("relight/image: ghe", c1, timeout=300)
    s.show_status(built)
    if built.state != "success":
        say("\ndemo: the image build failed")
        sys.exit(1)
    image = built.description.split()[-1]
    say(f"    (the build: launch the 2.17.0 image, provision over SSM, stop, create the image, clean up) "
        f"[{s.lap():.1f}s]")

    # The build made an image the production channel does not point at, so the server queues a
    # rehearsal of it; the PR's next commit supersedes that one (it is canceled) and is rehearsed.
    first = _until("the rehearsal of the image", lambda: next(
        (r for r in s.api.get("/api/runs", params={"workspace": "ghe"}).json()
         if r["kind"] == "rehearsal" and r["commit_sha"] == c1), None))
    say("\n    The PR's second commit moves the workspace onto it (ghe_version = \"2.18.0\"):")
    variables = s.repo / "github-enterprise" / "variables.tf"
    old = variables.read_text()
    variables.write_text(old.replace('default     = "2.17.0"', 'default     = "2.18.0"'))
    c2 = s.commit("ghe: run 2.18")
    s.github.pr_files[("acme/infra", 2)] = [*files, "github-enterprise/variables.tf"]
    s.side.send("pull_request", {"action": "synchronize", "number": 2, "repository": s.side.repository(),
                                 "pull_request": {**pr, "head": {"sha": c2, "ref": "ghe-218"}}})
    s.wait_run(int(first["id"]), ("canceled", "planned_and_finished", "errored"))
    say(f"    (the rehearsal queued for the first commit's image, run {first['id']}, is superseded: "
        f"{s.run(int(first['id']))['status']})")
    for context in ("relight/image: ghe", "relight/plan: ghe"):
        s.show_status(s.status(context, c2))
    rehearsed = s.status("relight/rehearsal: ghe", c2, timeout=600)
    s.show_status(rehearsed)
    _show_report(s, int(rehearsed.target_url.rsplit("/", 1)[1]))
    say(f"    [{s.lap():.1f}s for the second commit: up-to-date build, plan, rehearsal]")
    if rehearsed.state != "success":
        say("\ndemo: the rehearsal failed")
        sys.exit(1)

    say("\n    The PR is merged; GitHub sends the push to main: the image is promoted, then the plan waits:")
    slack_seen = len(s.slack.texts())
    _git(s.repo, "checkout", "-q", "main")
    _git(s.repo, "merge", "-q", "--no-ff", "-m", "Merge ghe-218", "ghe-218")
    merged = _git(s.repo, "rev-parse", "HEAD")
    s.side.send("pull_request", {"action": "closed", "number": 2, "repository": s.side.repository(),
                                 "pull_request": {**pr, "merged": True, "head": {"sha": c2, "ref": "ghe-218"}}})
    promote = s.side.send("push", {"ref": "refs/heads/main", "before": main, "after": merged, "repository":
                                   s.side.repository(), "commits": [{"added": files, "modified": [
                                       "github-enterprise/variables.tf"], "removed": []}]})["runs"][0]
    promoted = s.wait_run(promote, ("planned_and_finished", "errored"))
    if promoted["status"] != "planned_and_finished":
        say(f"\ndemo: the promotion failed: {promoted.get('error')}")
        sys.exit(1)
    say(f"    Slack  <- \"{s.slack_since(slack_seen, 'promoted')}\"")
    plan_run = int(_until("the plan after the promotion", lambda: s.run(promote)["followed_by"], 30))
    say(f"    run {promote} promoted {image} to production; it queued the plan, run {plan_run} [{s.lap():.1f}s]")
    _confirm_and_apply(s, plan_run, merged, slack_seen)
    say(f"    [{s.lap():.1f}s: the plan, the confirmation, the node replaced]")
    _check_upgraded(s, service, node, image, token)
    say(f"    -> the upgrade through the pipeline took {time.monotonic() - started:.1f}s.")


def _show_report(s: _Story, run_id: int) -> None:
    report = s.api.get(f"/api/runs/{run_id}/report").json()
    say(f"    The rehearsal's report ({s.url}/runs/{run_id}, GET /api/runs/{run_id}/report):")
    say(f"      why: {report.get('why', '')}")
    booted = report.get("booted") or []
    shown = f" (booted {', '.join(booted)})" if booted and booted != [report["image"]] else ""
    say(f"      image {report['image']}{shown}; data: " + ", ".join(
        f"{addr} from {snap}" for addr, snap in report.get("snapshots", {}).items()))
    for check in report.get("checks", []):
        say(f"      {'ok  ' if check['passed'] else 'FAIL'} {check['name']}: {check['detail']}")
    say(f"      left behind: {report.get('left_behind') or 'nothing'}")


def _check_upgraded(s: _Story, service: _Service, old: dict[str, Any], image: str, token: str) -> None:
    new = _node(s)
    status = service.status(new["id"])
    checks = [
        (new["id"] != old["id"] and new["ami"] == image, f"node {new['id']} replaced {old['id']}; it boots {image}"),
        (new["private_ip"] == old["private_ip"], f"the same private IP {new['private_ip']}"),
        (status.get("version") == "2.18.0" and status.get("data_token") == token,
         f"GitHub Enterprise {status.get('version')} serves data token {status.get('data_token')}"),
    ]
    for ok, text in checks:
        say(f"    {'ok ' if ok else 'FAIL'} {text}")
        if not ok:
            sys.exit(1)


def token_hint(api: httpx.Client) -> str:
    return api.headers["authorization"].split(" ", 1)[1][:8] + "…"


def main() -> int:
    from relight.localcloud import LocalCloud

    with LocalCloud() as cloud:
        os.environ.update(cloud.env())
        run(Path(tempfile.mkdtemp(prefix="relight-pipeline-")), cloud.endpoint if cloud.data_plane else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
