"""The demo's pipeline story: a pull request is planned, the merge waits for a person, then applies.

Called by ``examples/demo.py`` (``make demo``) with the local cloud running; also runs on its own
(``python examples/demo_pipeline.py`` starts its own local cloud). Nothing talks to the internet:
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def run(work: Path) -> None:
    """The story, in ``work`` (a scratch folder). The local cloud must already be up (AWS_* set)."""
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
        f'slack {{\n  webhook_url = "{slack.url}"\n}}\n'
        'workspace "ghe" {\n  repo      = "acme/infra"\n  dir       = "github-enterprise"\n'
        '  branch    = "main"\n  approvers = ["alice"]\n}\n')
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
    side = _GitHubSide(repo, url)
    api = httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=10.0)
    try:
        _story(repo, base, side, api, github, slack, url)
    finally:
        uv.should_exit = True
        thread.join(30)
        server.close()
        github.stop()
        slack.stop()


def _story(repo: Path, base: str, side: _GitHubSide, api: httpx.Client, github: StandInGitHub,
           slack: SlackReceiver, url: str) -> None:
    say("\n    A pull request adds the GitHub Enterprise stack (examples/github-enterprise) to the repository:")
    _git(repo, "checkout", "-q", "-b", "add-ghe")
    target = repo / "github-enterprise"
    target.mkdir()
    for tf in sorted((HERE / "github-enterprise").glob("*.tf")):
        (target / tf.name).write_text(tf.read_text())
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "GitHub Enterprise on AWS")
    head = _git(repo, "rev-parse", "HEAD")
    github.pr_files[("acme/infra", 1)] = [f"github-enterprise/{p.name}" for p in target.glob("*.tf")]
    side.send("pull_request", {"action": "opened", "number": 1, "repository": side.repository(),
                               "pull_request": {"number": 1, "head": {"sha": head, "ref": "add-ghe"},
                                                "base": {"sha": base, "ref": "main"}}})
    status = _until("the PR's commit status", lambda: next(
        (s for s in reversed(github.statuses) if s.context == "relight/plan: ghe" and s.state != "pending"), None))
    say(f"    GitHub <- commit status on {head[:12]}: [{status.state}] {status.context}: {status.description}")
    say(f"              details: {status.target_url}")
    comment = _until("the PR comment", lambda: next(iter(github.comments.values()), None))
    say(f"    GitHub <- PR comment: {comment.body.splitlines()[0]} ... ({len(comment.body)} characters)")

    say("\n    The PR is merged; GitHub sends the push to main:")
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", "-m", "Merge add-ghe", "add-ghe")
    merged = _git(repo, "rev-parse", "HEAD")
    files = [f"github-enterprise/{p.name}" for p in target.glob("*.tf")]
    run_id = side.send("push", {"ref": "refs/heads/main", "before": base, "after": merged, "repository":
                                side.repository(), "commits": [{"added": files, "modified": [], "removed": []}]})[
        "runs"][0]
    _until("the plan", lambda: api.get(f"/api/runs/{run_id}").json()["status"] == "planned")
    waiting = _until("the apply status", lambda: next(
        (s for s in reversed(github.statuses) if s.context == "relight/apply: ghe" and "waiting" in s.description),
        None))
    say(f"    GitHub <- commit status on {merged[:12]}: [{waiting.state}] {waiting.context}: {waiting.description}")
    text = _until("Slack", lambda: next((t for t in slack.texts() if "waiting" in t), None))
    button = slack.messages[-1]["blocks"][1]["elements"][0]
    say(f"    Slack  <- \"{text}\"  [{button['text']['text']}: {button['url']}]")
    say(f"\n    The run's page shows the plan, as the CLI prints it ({url}/runs/{run_id}):")
    plan = api.get(f"/api/runs/{run_id}/plan").json()["text"].splitlines()
    for line in [ln for ln in plan if ln.startswith("  # ") or ln.startswith("Plan:")]:
        say(f"      {line}")
    say(f"\n    alice reads it at {url}/runs/{run_id} and presses Confirm & Apply (here through the API):")
    say(f"      $ curl -X POST -H 'Authorization: Bearer {token_hint(api)}' {url}/api/runs/{run_id}/confirm")
    resp = api.post(f"/api/runs/{run_id}/confirm")
    say(f"      -> {resp.status_code} status {resp.json()['status']}")
    done = _until("the apply", lambda: (lambda d: d if d["status"] in ("applied", "errored") else None)(
        api.get(f"/api/runs/{run_id}").json()))
    for event in api.get(f"/api/runs/{run_id}/log").json():
        text = event.get("text", "")
        if "complete after" in text or "Apply complete" in text:
            say(f"      {text}")
    final = _until("the final status", lambda: next(
        (s for s in reversed(github.statuses) if s.context == "relight/apply: ghe" and s.state != "pending"), None))
    say(f"    GitHub <- commit status: [{final.state}] {final.context}: {final.description}")
    applied = _until("Slack", lambda: next((t for t in slack.texts() if "applied" in t or "failed" in t), None))
    say(f"    Slack  <- \"{applied}\"")
    if done["status"] != "applied":
        say("\ndemo: the apply failed")
        sys.exit(1)
    state = api.get("/api/workspaces/ghe/state").json()
    managed = [r for r in state["resources"] if r["mode"] == "managed"]
    say(f"    The state lives in the server's database: serial {state['serial']}, {len(managed)} managed "
        f"resources (GET /api/workspaces/ghe/state); the audit log records alice's confirmation.")


def token_hint(api: httpx.Client) -> str:
    return api.headers["authorization"].split(" ", 1)[1][:8] + "…"


def main() -> int:
    from relight.localcloud import LocalCloud

    with LocalCloud() as cloud:
        os.environ.update(cloud.env())
        run(Path(tempfile.mkdtemp(prefix="relight-pipeline-")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
