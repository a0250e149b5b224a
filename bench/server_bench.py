"""The pipeline server's figures: webhook answer time while runs execute, and webhook -> commit status.

The server runs in this process on the embedded defaults (SQLite, two in-process workers) with
the stand-in GitHub API and a local git repository, as in the tests.

1. Webhook -> status: ``--prs`` pull-request webhooks on a small workspace, one at a time, each
   timed from sending the webhook to the stand-in recording the final ``relight/plan`` status.
2. Answer time under load: ``--workspaces`` workspaces (``auto_apply``, each a few
   ``terraform_data`` resources) get signed push webhooks at ``--rate`` per second for
   ``--seconds``, so plans and applies run the whole time; every answer's latency is measured
   from the client (p50, p99, max), and the runs they queued are counted.

Usage: .venv/bin/python bench/server_bench.py [--rate 20] [--seconds 15] [--workspaces 4] [--prs 10]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from relight.server.accounts import Accounts
from relight.server.config import parse_server_config
from relight.server.server import Server
from relight.server.standin import StandInGitHub

SECRET = "bench-secret"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_repo(root: Path, workspaces: int) -> tuple[Path, str]:
    repo = root / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "b@example.com")
    git(repo, "config", "user.name", "Bench")
    for n in range(workspaces):
        d = repo / f"ws{n}"
        d.mkdir()
        (d / "main.tf").write_text('variable "v" {\n  default = "1"\n}\nresource "terraform_data" "r" {\n'
                                   '  count = 5\n  input = "${var.v}-${count.index}"\n}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    return repo, git(repo, "rev-parse", "HEAD")


def start(root: Path, repo: Path, github: StandInGitHub, workspaces: int) -> tuple[Server, uvicorn.Server, str]:
    port = free_port()
    blocks = "".join(f'workspace "ws{n}" {{\n  repo = "acme/infra"\n  dir = "ws{n}"\n  approvers = ["alice"]\n'
                     f"  auto_apply = true\n}}\n" for n in range(workspaces))
    text = (f'server {{\n  listen = "127.0.0.1:{port}"\n  data_dir = "{root / "data"}"\n}}\n'
            f'github {{\n  api_url = "{github.api_url}"\n  webhook_secret = "{SECRET}"\n  token = "{github.token}"\n'
            f"  pr_comments = false\n}}\n{blocks}")
    config, diags = parse_server_config(text, str(root / "relight-server.hcl"), {})
    assert config is not None, list(diags)
    server = Server(config, {}, log=lambda line: None)
    uv = uvicorn.Server(server.uvicorn_config())
    threading.Thread(target=uv.run, daemon=True).start()
    while not uv.started:
        time.sleep(0.02)
    return server, uv, f"http://127.0.0.1:{port}"


def send(client: httpx.Client, event: str, payload: dict[str, Any]) -> tuple[float, httpx.Response]:
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json", "x-github-event": event,
               "x-github-delivery": secrets.token_hex(16),
               "x-hub-signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    t0 = time.perf_counter()
    resp = client.post("/webhooks/github", content=body, headers=headers)
    return time.perf_counter() - t0, resp


def under_load(url: str, repo: Path, head: str, rate: float, seconds: float, workspaces: int,
               server: Server) -> None:
    clone = {"full_name": "acme/infra", "clone_url": repo.as_uri()}
    latencies: list[float] = []
    queued = 0
    with httpx.Client(base_url=url, timeout=10.0) as client:
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < seconds:
            ws = n % workspaces
            took, resp = send(client, "push", {"ref": "refs/heads/main", "after": head, "repository": clone,
                                               "commits": [{"added": [], "modified": [f"ws{ws}/main.tf"],
                                                            "removed": []}]})
            assert resp.status_code == 202, resp.text
            queued += len(resp.json()["runs"])
            latencies.append(took)
            n += 1
            next_at = started + n / rate
            time.sleep(max(0.0, next_at - time.monotonic()))
    runs = [r for r in server.store.list_runs(limit=100_000) if r.kind == "apply"]
    done = [r for r in runs if r.is_final]
    print(f"\n2. Webhook answers while runs execute ({n} signed pushes at {rate:g}/s over {seconds:g}s, "
          f"{workspaces} auto-applying workspaces, 2 workers):")
    print(f"   p50 {pct(latencies, 50) * 1000:.1f} ms   p99 {pct(latencies, 99) * 1000:.1f} ms   "
          f"max {max(latencies) * 1000:.1f} ms   mean {statistics.mean(latencies) * 1000:.1f} ms")
    print(f"   {queued} runs queued; {len(done)} finished while the load ran "
          f"({sum(r.status == 'applied' for r in done)} applied, "
          f"{sum(r.status == 'planned_and_finished' for r in done)} without changes, "
          f"{sum(r.status == 'errored' for r in done)} errored)")


def to_status(url: str, repo: Path, github: StandInGitHub, prs: int) -> None:
    clone = {"full_name": "acme/infra", "clone_url": repo.as_uri()}
    times: list[float] = []
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for n in range(prs):
            git(repo, "checkout", "-q", "-B", f"pr{n}", "main")
            (repo / "ws0" / "main.tf").write_text(
                (repo / "ws0" / "main.tf").read_text().replace('default = "1"', f'default = "pr{n}"'))
            git(repo, "commit", "-q", "-am", f"pr {n}")
            sha = git(repo, "rev-parse", "HEAD")
            github.pr_files[("acme/infra", 100 + n)] = ["ws0/main.tf"]
            t0 = time.perf_counter()
            _took, resp = send(client, "pull_request", {
                "action": "opened", "number": 100 + n, "repository": clone,
                "pull_request": {"head": {"sha": sha, "ref": f"pr{n}"}, "base": {"sha": "", "ref": "main"}}})
            assert resp.status_code == 202, resp.text
            while not any(s.sha == sha and s.context == "relight/plan: ws0" and s.state != "pending"
                          for s in list(github.statuses)):
                time.sleep(0.005)
            times.append(time.perf_counter() - t0)
            git(repo, "checkout", "-q", "main")
    print(f"\n1. Webhook -> final commit status on a 5-resource workspace ({prs} pull requests, one at a time,"
          " idle server):")
    print(f"   p50 {pct(times, 50):.2f} s   max {max(times):.2f} s   (fetch, plan, post; the first one also"
          " fills the repository cache)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--workspaces", type=int, default=4)
    ap.add_argument("--prs", type=int, default=10)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="relight-server-bench-"))
    github = StandInGitHub().start()
    repo, head = make_repo(root, args.workspaces)
    server, uv, url = start(root, repo, github, args.workspaces)
    Accounts(server.db).create_token("alice")
    try:
        to_status(url, repo, github, args.prs)
        under_load(url, repo, head, args.rate, args.seconds, args.workspaces, server)
    finally:
        uv.should_exit = True
        time.sleep(1.0)
        server.close()
        github.stop()
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
