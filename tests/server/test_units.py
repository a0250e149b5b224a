"""Pure parts: configuration diagnostics, GitHub's signature test vector, what a webhook triggers."""

from __future__ import annotations

from typing import Any

import pytest

from relight.server.config import WorkspaceSettings, parse_server_config
from relight.server.webhooks import decide, verify_signature

GOOD = '''
server {
  listen     = "127.0.0.1:9090"
  public_url = "https://relight.example.com/"
  data_dir   = "state"
}
github {
  webhook_secret = "s"
  token          = "t"
}
workspace "ghe" {
  repo      = "acme/infra"
  dir       = "github-enterprise/"
  approvers = ["alice", "bob"]
}
'''


def test_a_good_file_loads_with_defaults() -> None:
    config, diags = parse_server_config(GOOD, "/etc/relight/relight-server.hcl", {})
    assert config is not None, list(diags)
    s = config.server
    assert (s.listen_host, s.listen_port, s.public_url) == ("127.0.0.1", 9090, "https://relight.example.com")
    assert s.data_dir == "/etc/relight/state" and s.database_url == "sqlite:////etc/relight/state/relight.db"
    assert config.github.api_url == "https://api.github.com" and config.github.web_url == "https://github.com"
    ws = config.workspaces["ghe"]
    assert (ws.dir, ws.branch, ws.auto_apply, ws.approvers) == ("github-enterprise", "main", False, ("alice", "bob"))
    assert ws.may_confirm("Alice") and not ws.may_confirm("carol")


def test_secrets_come_from_the_environment_when_left_out() -> None:
    text = 'github {\n  api_url = "https://ghe.acme.com/api/v3"\n}\nslack {}\n'
    env = {"RELIGHT_GITHUB_WEBHOOK_SECRET": "w", "RELIGHT_GITHUB_TOKEN": "t",
           "RELIGHT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"}
    config, diags = parse_server_config(text, "r.hcl", env)
    assert config is not None, list(diags)
    assert (config.github.webhook_secret, config.github.token) == ("w", "t")
    assert config.slack.webhook_url.endswith("/X") and config.github.web_url == "https://ghe.acme.com"
    assert "w" not in repr(config.github)  # secrets never show up in reprs (or logs)


CASES: list[tuple[str, str, str, int]] = [
    # (what is wrong, file text, summary expected, line)
    ("no webhook secret", 'github {\n  token = "t"\n}\n', "No webhook secret", 1),
    ("no credentials", 'github {\n  webhook_secret = "s"\n}\n', "No GitHub credentials", 1),
    ("unknown key", 'server {\n  lisen = "x"\n}\ngithub {\n  webhook_secret = "s"\n  token = "t"\n}\n',
     "Unsupported argument", 2),
    ("unknown block", 'servr {\n}\ngithub {\n  webhook_secret = "s"\n  token = "t"\n}\n', "Unsupported block type", 1),
    ("wrong type", 'github {\n  webhook_secret = "s"\n  token = "t"\n  pr_comments = "yes"\n}\n',
     "Incorrect attribute value type", 4),
    ("bad listen", 'server {\n  listen = "8080"\n}\ngithub {\n  webhook_secret = "s"\n  token = "t"\n}\n',
     'Invalid value for "listen"', 2),
    ("bad database", 'server {\n  database = "mysql://x"\n}\ngithub {\n  webhook_secret = "s"\n  token = "t"\n}\n',
     'Invalid value for "database"', 2),
    ("missing repo", 'github {\n  webhook_secret = "s"\n  token = "t"\n}\nworkspace "a" {\n  dir = "x"\n}\n',
     "Missing required argument", 5),
    ("bad repo", 'github {\n  webhook_secret = "s"\n  token = "t"\n}\nworkspace "a" {\n  repo = "nope"\n}\n',
     'Invalid value for "repo"', 6),
    ("dir escapes", 'github {\n  webhook_secret = "s"\n  token = "t"\n}\nworkspace "a" {\n  repo = "o/r"\n'
     '  dir = "../x"\n}\n', 'Invalid value for "dir"', 7),
    ("approvers not strings", 'github {\n  webhook_secret = "s"\n  token = "t"\n}\nworkspace "a" {\n'
     '  repo = "o/r"\n  approvers = [1]\n}\n', "Incorrect attribute value type", 7),
    ("duplicate workspace", 'github {\n  webhook_secret = "s"\n  token = "t"\n}\nworkspace "a" {\n  repo = "o/r"\n}\n'
     'workspace "a" {\n  repo = "o/r"\n}\n', "Duplicate workspace", 8),
    ("token and app", 'github {\n  webhook_secret = "s"\n  token = "t"\n  app_id = "1"\n'
     '  private_key_file = "k.pem"\n}\n', "Conflicting GitHub credentials", 3),
    ("app without key", 'github {\n  webhook_secret = "s"\n  app_id = "1"\n}\n', "Incomplete GitHub App credentials", 3),
    ("syntax", 'github {\n  webhook_secret = \n}\n', "Invalid expression", 2),
    ("reference", 'github {\n  webhook_secret = var.x\n  token = "t"\n}\n', "Reference to undeclared input variable", 2),
    ("top-level argument", 'x = 1\ngithub {\n  webhook_secret = "s"\n  token = "t"\n}\n', "Unsupported argument", 1),
]


@pytest.mark.parametrize(("what", "text", "summary", "line"), CASES, ids=[c[0] for c in CASES])
def test_configuration_mistakes_are_diagnostics_with_a_line(what: str, text: str, summary: str, line: int) -> None:
    config, diags = parse_server_config(text, "relight-server.hcl", {})
    assert config is None
    found = [d for d in diags if d.summary == summary]
    assert found, [d.summary for d in diags]
    assert found[0].subject is not None and found[0].subject.filename == "relight-server.hcl"
    assert found[0].subject.start.line == line


def test_github_signature_test_vector() -> None:
    secret, body = "It's a Secret to Everybody", b"Hello, World!"
    good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify_signature(secret, body, good)
    assert not verify_signature(secret, body + b" ", good)
    assert not verify_signature(secret, body, good.replace("7571", "7572"))
    assert not verify_signature(secret, body, None)
    assert not verify_signature(secret, body, "sha1=" + good[7:])
    assert not verify_signature("", body, good)  # no secret never verifies


WS = [
    WorkspaceSettings("ghe", "acme/infra", "github-enterprise", "main"),
    WorkspaceSettings("jira", "acme/infra", "jira", "main"),
    WorkspaceSettings("stage", "acme/infra", "github-enterprise", "staging"),
    WorkspaceSettings("other", "acme/other", "", "main"),
]
REPO = {"full_name": "acme/infra", "clone_url": "https://github.com/acme/infra.git"}


def _pr(action: str, base: str = "main", merged: bool = False) -> dict[str, Any]:
    return {"action": action, "number": 5, "repository": REPO,
            "pull_request": {"merged": merged, "head": {"sha": "b" * 40, "ref": "f"}, "base": {"sha": "a" * 40,
                                                                                              "ref": base}}}


def _push(files: list[str] | None, ref: str = "refs/heads/main", after: str = "c" * 40,
          commits: int = 1) -> dict[str, Any]:
    listed = [{"added": [], "modified": files, "removed": []}] * commits if files is not None else \
        [{"id": "x"}] * commits
    return {"ref": ref, "after": after, "deleted": after == "0" * 40, "commits": listed, "repository": REPO}


TRIGGERS: list[tuple[str, str, dict[str, Any], list[tuple[str, str]], list[str]]] = [
    # (case, event, payload, [(workspace, kind)] queued, workspaces whose pending PR plans are canceled)
    ("ping", "ping", {"hook_id": 1}, [], []),
    ("issues are not used", "issues", {"repository": REPO}, [], []),
    ("unknown repository", "push", {**_push(["x"]), "repository": {"full_name": "acme/nope"}}, [], []),
    ("pr opened", "pull_request", _pr("opened"), [("ghe", "speculative"), ("jira", "speculative")], ["ghe", "jira"]),
    ("pr reopened", "pull_request", _pr("reopened"), [("ghe", "speculative"), ("jira", "speculative")],
     ["ghe", "jira"]),
    ("pr synchronize", "pull_request", _pr("synchronize"), [("ghe", "speculative"), ("jira", "speculative")],
     ["ghe", "jira"]),
    ("pr ready for review", "pull_request", _pr("ready_for_review"),
     [("ghe", "speculative"), ("jira", "speculative")], ["ghe", "jira"]),
    ("pr to staging", "pull_request", _pr("opened", base="staging"), [("stage", "speculative")], ["stage"]),
    ("pr to an unfollowed branch", "pull_request", _pr("opened", base="dev"), [], []),
    ("pr labeled", "pull_request", _pr("labeled"), [], []),
    ("pr closed unmerged", "pull_request", _pr("closed"), [], ["ghe", "jira"]),
    ("pr merged", "pull_request", _pr("closed", merged=True), [], ["ghe", "jira"]),
    ("push touching ghe", "push", _push(["github-enterprise/main.tf"]), [("ghe", "apply")], []),
    ("push touching both", "push", _push(["jira/a.tf", "github-enterprise/b.tf"]),
     [("ghe", "apply"), ("jira", "apply")], []),
    ("push touching neither", "push", _push(["docs/readme.md"]), [], []),
    ("push to staging", "push", _push(["github-enterprise/x.tf"], ref="refs/heads/staging"), [("stage", "apply")], []),
    ("push without file lists", "push", _push(None), [("ghe", "apply"), ("jira", "apply")], []),
    ("push of 20 commits", "push", _push(["docs/a"], commits=20), [("ghe", "apply"), ("jira", "apply")], []),
    ("push with no commits listed", "push", {**_push([]), "commits": []}, [("ghe", "apply"), ("jira", "apply")], []),
    ("branch deleted", "push", _push(["github-enterprise/x"], after="0" * 40), [], []),
    ("tag pushed", "push", _push(["github-enterprise/x"], ref="refs/tags/v1"), [], []),
    ("other branch", "push", _push(["github-enterprise/x"], ref="refs/heads/dev"), [], []),
]


@pytest.mark.parametrize(("case", "event", "payload", "queued", "canceled"), TRIGGERS, ids=[t[0] for t in TRIGGERS])
def test_what_a_webhook_triggers(case: str, event: str, payload: dict[str, Any], queued: list[tuple[str, str]],
                                 canceled: list[str]) -> None:
    decision = decide(event, payload, WS, "delivery-1")
    assert [(r.workspace, r.kind) for r in decision.runs] == queued
    assert [ws for ws, _pr in decision.cancel] == canceled
    assert decision.notes  # every decision says why
    for run in decision.runs:
        assert run.delivery_id == "delivery-1" and run.clone_url == REPO["clone_url"]
        assert run.commit_sha == ("b" * 40 if run.kind == "speculative" else payload.get("after"))
