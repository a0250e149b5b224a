"""The outside world of the pipeline in tests: the stand-in GitHub API and Slack receiver (from
the package, shared with the demo), a local git repository, and a sender of signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from relight.server.standin import SlackReceiver, StandInGitHub

FakeGitHub = StandInGitHub
__all__ = ["FakeGitHub", "GitRepo", "Hooks", "SlackReceiver", "sign", "wait_for"]


class GitRepo:
    """A local repository playing the GitHub repository; cloned by file:// URL."""

    def __init__(self, path: Path, full_name: str = "acme/infra") -> None:
        self.path = path
        self.full_name = full_name
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "Dev")

    @property
    def clone_url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str) -> None:
        self.git("checkout", "-q", "-B", name)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def merge(self, name: str) -> str:
        self.git("merge", "-q", "--no-ff", "-m", f"Merge {name}", name)
        return self.head()

    def changed(self, before: str, after: str) -> list[str]:
        return self.git("diff", "--name-only", before, after).splitlines()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Hooks:
    """Sends signed GitHub webhooks to a server, as GitHub would."""

    def __init__(self, base_url: str, secret: str, repo: GitRepo) -> None:
        self.base_url = base_url
        self.secret = secret
        self.repo = repo
        self.client = httpx.Client(base_url=base_url, timeout=10.0)
        self.sent: list[str] = []

    def send(self, event: str, payload: dict[str, Any], delivery: str | None = None,
             signature: str | None = "auto") -> httpx.Response:
        body = json.dumps(payload).encode()
        delivery = delivery or secrets.token_hex(16)
        headers = {"content-type": "application/json", "x-github-event": event, "x-github-delivery": delivery}
        if signature == "auto":
            headers["x-hub-signature-256"] = sign(self.secret, body)
        elif signature is not None:
            headers["x-hub-signature-256"] = signature
        self.sent.append(delivery)
        return self.client.post("/webhooks/github", content=body, headers=headers)

    def repository(self) -> dict[str, Any]:
        return {"full_name": self.repo.full_name, "clone_url": self.repo.clone_url}

    def pull_request(self, number: int, head_sha: str, action: str = "opened", base_sha: str = "",
                     head_ref: str = "feature", merged: bool = False) -> httpx.Response:
        return self.send("pull_request", {
            "action": action, "number": number, "repository": self.repository(),
            "pull_request": {"number": number, "merged": merged, "head": {"sha": head_sha, "ref": head_ref},
                             "base": {"sha": base_sha, "ref": "main"}},
        })

    def push(self, before: str, after: str, files: list[str] | None = None, branch: str = "main",
             delivery: str | None = None) -> httpx.Response:
        commits = [{"id": after, "added": [], "modified": files, "removed": []}] if files is not None else []
        return self.send("push", {"ref": f"refs/heads/{branch}", "before": before, "after": after,
                                  "deleted": False, "commits": commits, "repository": self.repository()},
                         delivery=delivery)


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
