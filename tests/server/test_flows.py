"""The workspace queue and the people around it: FIFO, stale plans, discard, no changes, rollback,
PRs that do not touch the workspace, auto-apply, a GitHub App, and sign-in through the pages."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from relight.server.sqlstate import SqlStateBackend
from tests.server.conftest import Live
from tests.server.fakes import wait_for


def _tf(value: str) -> dict[str, str]:
    return {"infra/main.tf": f'resource "terraform_data" "node" {{\n  input = "{value}"\n}}\n'}


def test_two_pushes_run_one_at_a_time_in_order(live: Live) -> None:
    alice = live.token("alice")
    c1 = live.repo.commit(_tf("one"), "one")
    c2 = live.repo.commit(_tf("two"), "two")
    first = live.hooks.push("0" * 40, c1, files=["infra/main.tf"]).json()["runs"][0]
    second = live.hooks.push(c1, c2, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(first, ("planned",), alice)
    # The second waits while the first holds the workspace (planned, waiting for a person).
    assert live.api(alice).get(f"/api/runs/{second}").json()["status"] == "pending"
    assert live.api(alice).post(f"/api/runs/{first}/confirm").status_code == 202
    a = live.wait_run(first, ("applied",), alice)
    b = live.wait_run(second, ("planned",), alice)
    assert b["started_at"] >= a["finished_at"]
    # The second was planned against the first's result: one change, not a create.
    plan = live.api(alice).get(f"/api/runs/{second}/plan").json()
    assert plan["plan"]["summary"] == {"add": 0, "change": 1, "destroy": 0}
    assert live.api(alice).post(f"/api/runs/{second}/confirm").status_code == 202
    live.wait_run(second, ("applied",), alice)
    state = live.api(alice).get("/api/workspaces/ghe/state").json()
    assert state["resources"][0]["instances"][0]["attributes"]["input"] == "two"


def test_a_stale_plan_is_refused_and_a_fresh_one_queued(live: Live) -> None:
    alice = live.token("alice")
    head = live.repo.commit(_tf("x"), "x")
    run_id = live.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice)
    # Someone else moves the state on (a push of the state, say) after the plan was made.
    ws_id = live.server.store.workspace_id("ghe")
    assert ws_id is not None
    backend = SqlStateBackend(live.server.db, ws_id, "ghe")
    backend.write(backend.read())
    resp = live.api(alice).post(f"/api/runs/{run_id}/confirm")
    assert resp.status_code == 409 and "stale" in resp.json()["error"]
    fresh = resp.json()["fresh_run"]
    assert live.api(alice).get(f"/api/runs/{run_id}").json()["status"] == "errored"
    live.wait_run(fresh, ("planned",), alice)
    assert live.api(alice).post(f"/api/runs/{fresh}/confirm").status_code == 202
    live.wait_run(fresh, ("applied",), alice)


def test_discard_frees_the_workspace_and_no_changes_finish(live: Live) -> None:
    assert live.slack is not None
    alice, bob = live.token("alice"), live.token("bob")
    head = live.repo.commit(_tf("y"), "y")
    run_id = live.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice)
    assert live.api(bob).post(f"/api/runs/{run_id}/discard").status_code == 403
    assert live.api(alice).post(f"/api/runs/{run_id}/discard").status_code == 200
    assert live.api(alice).get(f"/api/runs/{run_id}").json()["status"] == "discarded"
    # Apply it for real, then push a commit that changes nothing in the configuration.
    again = live.hooks.push(head, head, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(again, ("planned",), alice)
    live.api(alice).post(f"/api/runs/{again}/confirm")
    live.wait_run(again, ("applied",), alice)
    same = live.repo.commit({"infra/notes.md": "no change\n"}, "docs")
    idle = live.hooks.push(head, same, files=["infra/notes.md"]).json()["runs"][0]
    done = live.wait_run(idle, ("planned_and_finished",), alice)
    assert done["plan"] == {"add": 0, "change": 0, "destroy": 0}
    live.slack.wait_text("ghe: no changes")
    live.github.wait_status("relight/apply: ghe", "success", sha=same)
    # A push that touches no file of the workspace plans nothing.
    other = live.repo.commit({"docs/x.md": "x\n"}, "elsewhere")
    resp = live.hooks.push(same, other, files=["docs/x.md"])
    assert resp.status_code == 200 and resp.json()["runs"] == []


def test_pull_request_outside_the_workspace_dir_is_not_planned(live: Live) -> None:
    alice = live.token("alice")
    head = live.repo.commit({"docs/readme.md": "hello\n"}, "docs")
    live.github.pr_files[("acme/infra", 7)] = ["docs/readme.md"]
    run_id = live.hooks.pull_request(7, head).json()["runs"][0]
    done = live.wait_run(run_id, ("canceled",), alice)
    assert "changes no file in infra" in done["error"]
    assert live.github.statuses_for("relight/plan: ghe") == []


def test_rollback_shows_then_restores_an_old_version(live: Live) -> None:
    alice = live.token("alice")
    c1 = live.repo.commit(_tf("one"), "one")
    r1 = live.hooks.push("0" * 40, c1, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(r1, ("planned",), alice)
    live.api(alice).post(f"/api/runs/{r1}/confirm")
    live.wait_run(r1, ("applied",), alice)
    c2 = live.repo.commit(_tf("two"), "two")
    r2 = live.hooks.push(c1, c2, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(r2, ("planned",), alice)
    live.api(alice).post(f"/api/runs/{r2}/confirm")
    live.wait_run(r2, ("applied",), alice)
    versions = live.api(alice).get("/api/workspaces/ghe/states").json()
    assert [v["serial"] for v in versions] == [2, 1]
    resp = live.api(alice).post("/api/workspaces/ghe/rollback", json={"serial": 1})
    assert resp.status_code == 202, resp.text
    rb = resp.json()["id"]
    live.wait_run(rb, ("planned",), alice)
    plan = live.api(alice).get(f"/api/runs/{rb}/plan").json()
    assert "terraform_data.node would get the attributes recorded then" in plan["text"]
    live.api(alice).post(f"/api/runs/{rb}/confirm")
    live.wait_run(rb, ("applied",), alice)
    state = live.api(alice).get("/api/workspaces/ghe/state").json()
    assert state["serial"] == 3 and state["resources"][0]["instances"][0]["attributes"]["input"] == "one"
    assert any(e["action"] == "rollback" for e in live.api(alice).get("/api/audit").json())


def test_auto_apply_and_a_github_app(make_live: Callable[..., Live], tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    ws = ('workspace "ghe" {\n  repo = "acme/infra"\n  dir = "infra"\n  approvers = ["alice"]\n'
          '  auto_apply = true\n}\n')
    running = make_live(workspaces=ws, auth=f'  app_id = "4242"\n  private_key_file = "{key}"\n')
    alice = running.token("alice")
    head = running.repo.commit(_tf("auto"), "auto")
    run_id = running.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    done = running.wait_run(run_id, ("applied", "errored"), alice)
    log = running.api(alice).get(f"/api/runs/{run_id}/log").json()
    assert done["status"] == "applied" and done["confirmed_by"] == "auto-apply", log
    status = running.github.wait_status("relight/apply: ghe", "success", sha=head)
    assert status.token.startswith("ghs_")  # an installation token from the App's JWT


def test_pages_sign_in_with_github_and_csrf(live: Live) -> None:
    alice = live.token("alice")
    head = live.repo.commit(_tf("page"), "page")
    run_id = live.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice)
    with httpx.Client(base_url=live.url, follow_redirects=True, timeout=10.0) as browser:
        first = browser.get(f"/runs/{run_id}")
        assert first.url.path == "/login"
        page = browser.get(f"/auth/github?next=/runs/{run_id}")  # the stand-in GitHub signs alice in
        assert page.url.path == f"/runs/{run_id}" and "Confirm &amp; Apply" in page.text
        assert "terraform_data.node" in page.text and "will be created" in page.text
        cookie = next(c for c in browser.cookies.jar if c.name == "relight_session")
        assert cookie.has_nonstandard_attr("HttpOnly")
        # A form without the session's CSRF token is refused.
        refused = browser.post(f"/runs/{run_id}/confirm", data={"csrf": "forged"})
        assert refused.status_code == 403
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        ok = browser.post(f"/runs/{run_id}/confirm", data={"csrf": csrf.group(1)})
        assert ok.status_code == 200 and ok.url.path == f"/runs/{run_id}"
    live.wait_run(run_id, ("applied",), alice)
    entries = live.api(alice).get("/api/audit").json()
    assert any(e["action"] == "sign-in" and e["detail"]["via"] == "github" for e in entries)
    assert live.api(None).get("/api/workspaces/ghe/state").status_code == 401


def test_a_pull_request_cannot_read_files_outside_its_checkout(live: Live, tmp_path: Path) -> None:
    alice = live.token("alice")
    secret = tmp_path / "server-secret.txt"
    secret.write_text("do not leak\n")
    head = live.repo.commit({"infra/main.tf": f'resource "terraform_data" "x" {{\n  input = file("{secret}")\n}}\n'},
                            "try to read a server file")
    live.github.pr_files[("acme/infra", 9)] = ["infra/main.tf"]
    run_id = live.hooks.pull_request(9, head).json()["runs"][0]
    done = live.wait_run(run_id, ("errored", "planned_and_finished"), alice)
    assert done["status"] == "errored"
    log = " ".join(e.get("text", "") for e in live.api(alice).get(f"/api/runs/{run_id}/log").json())
    assert "file" in log and "do not leak" not in log
    status = live.github.wait_status("relight/plan: ghe", "failure", sha=head)
    assert status.description.startswith("Plan failed:")
    comment = wait_for(lambda: next((c for c in live.github.comments.values() if c.number == 9), None),
                       what="the PR comment")
    assert "Plan failed" in comment.body and "do not leak" not in comment.body
