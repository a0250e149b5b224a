"""End to end, no network: a local repository as GitHub's, the stand-in GitHub API, a Slack receiver."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from tests.server.conftest import Live
from tests.server.fakes import wait_for

TF_V2 = 'resource "terraform_data" "node" {\n  input = "v2"\n}\nresource "terraform_data" "extra" {\n  input = 1\n}\n'


def test_pr_plan_then_merge_confirm_apply(live: Live) -> None:
    repo, gh, slack = live.repo, live.github, live.slack
    assert slack is not None
    alice, bob = live.token("alice"), live.token("bob")
    base = repo.head()
    repo.branch("feature")
    head = repo.commit({"infra/main.tf": TF_V2}, "grow")
    gh.pr_files[("acme/infra", 1)] = ["infra/main.tf"]

    resp = live.hooks.pull_request(1, head, base_sha=base)
    assert resp.status_code == 202, resp.text
    status = gh.wait_status("relight/plan: ghe", "success", sha=head)
    assert status.description == "Plan: 2 to add, 0 to change, 0 to destroy."
    spec = live.runs(alice)[0]
    assert spec["kind"] == "speculative" and spec["status"] == "planned_and_finished"
    assert status.target_url == f"{live.url}/runs/{spec['id']}"
    assert set(spec) >= {"id", "workspace", "commit_sha", "kind", "status", "created_at", "started_at", "finished_at"}
    comment = wait_for(lambda: list(gh.comments.values()), what="a PR comment")[0]
    assert "Plan: 2 to add" in comment.body and 'terraform_data.extra' in comment.body
    # A speculative plan never writes state.
    state = live.api(alice).get("/api/workspaces/ghe/state").json()
    assert state["serial"] == 0 and state["resources"] == []

    # The next push to the PR edits the same comment.
    head2 = repo.commit({"infra/extra.tf": "# nothing\n"}, "more")
    assert live.hooks.pull_request(1, head2, action="synchronize", base_sha=base).status_code == 202
    gh.wait_status("relight/plan: ghe", "success", sha=head2)
    wait_for(lambda: next(iter(gh.comments.values())).edits == 1, what="the comment edited in place")
    assert len(gh.comments) == 1

    # Merge: a plan in the workspace's queue, a pending status, Slack, and it waits.
    repo.checkout("main")
    merged = repo.merge("feature")
    assert live.hooks.push(base, merged, files=["infra/main.tf", "infra/extra.tf"]).status_code == 202
    waiting = gh.wait_status("relight/apply: ghe", "pending", sha=merged)
    wait_for(lambda: "waiting for confirmation" in gh.statuses_for("relight/apply: ghe")[-1].description,
             what="the waiting status")
    text = slack.wait_text("waiting for confirmation")
    assert text == "ghe: 2 to add, 0 to change, 0 to destroy, waiting for confirmation"
    run = live.runs(alice)[0]
    assert run["kind"] == "apply" and run["status"] == "planned" and run["commit_sha"] == merged
    button = slack.messages[-1]["blocks"][1]["elements"][0]
    assert button["url"] == f"{live.url}/runs/{run['id']}" and waiting.target_url == button["url"]

    # Confirming needs a token, and an approver.
    assert live.api(None).post(f"/api/runs/{run['id']}/confirm").status_code == 401
    assert live.api("rlt_not-a-token").post(f"/api/runs/{run['id']}/confirm").status_code == 401
    assert live.api(bob).post(f"/api/runs/{run['id']}/confirm").status_code == 403
    resp = live.api(alice).post(f"/api/runs/{run['id']}/confirm")
    assert resp.status_code == 202, resp.text
    done = live.wait_run(run["id"], ("applied", "errored"), alice)
    assert done["status"] == "applied", live.api(alice).get(f"/api/runs/{run['id']}/log").json()
    assert done["confirmed_by"] == "alice" and done["finished_at"]
    final = gh.wait_status("relight/apply: ghe", "success", sha=merged)
    assert final.description == "Applied: 2 added, 0 changed, 0 destroyed."
    assert slack.wait_text("ghe: applied in").endswith("2 added, 0 changed, 0 destroyed")
    state = live.api(alice).get("/api/workspaces/ghe/state").json()
    assert sorted(r["name"] for r in state["resources"]) == ["extra", "node"] and state["serial"] == 1
    # Confirming twice is refused; the audit log names who confirmed, with the plan's digest.
    assert live.api(alice).post(f"/api/runs/{run['id']}/confirm").status_code == 409
    audit = live.api(alice).get("/api/audit").json()
    confirm = next(e for e in audit if e["action"] == "confirm")
    assert confirm["actor"] == "alice" and confirm["run_id"] == run["id"] and len(confirm["plan_digest"]) == 64
    assert any(e["action"] == "webhook" and e["detail"]["runs"] == [run["id"]] for e in audit)
    # The log was kept.
    log = live.api(alice).get(f"/api/runs/{run['id']}/log").json()
    assert any("Creation complete" in e.get("text", "") for e in log)


def test_signatures_and_redelivery(live: Live) -> None:
    alice = live.token("alice")
    head = live.repo.head()
    assert live.hooks.send("push", {"ref": "refs/heads/main"}, signature=None).status_code == 401
    assert live.hooks.send("push", {"ref": "refs/heads/main"}, signature="sha256=" + "0" * 64).status_code == 401
    assert live.hooks.send("push", {"ref": "refs/heads/main"}, signature="md5=abc").status_code == 401
    assert live.runs(alice) == []
    first = live.hooks.push("0" * 40, head, files=["infra/main.tf"], delivery="d-1")
    assert first.status_code == 202 and len(first.json()["runs"]) == 1
    again = live.hooks.push("0" * 40, head, files=["infra/main.tf"], delivery="d-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(live.runs(alice)) == 1
    assert live.hooks.send("ping", {"zen": "hi", "hook_id": 1}).status_code == 200


def test_the_pipeline_on_postgresql(make_live: Callable[..., Live], postgres_url: str) -> None:
    admin = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE pipeline_e2e"))
    admin.dispose()
    live = make_live(database=postgres_url.rsplit("/", 1)[0] + "/pipeline_e2e")
    assert not live.server.db.is_sqlite
    alice = live.token("alice")
    head = live.repo.commit({"infra/main.tf": TF_V2}, "grow")
    run_id = live.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice)
    assert live.api(alice).post(f"/api/runs/{run_id}/confirm").status_code == 202
    assert live.wait_run(run_id, ("applied", "errored"), alice)["status"] == "applied"
    state = live.api(alice).get("/api/workspaces/ghe/state").json()
    assert state["serial"] == 1 and len(state["resources"]) == 2
