"""Tables for the image decisions: which webhook deliveries build or promote, when a workspace's
image changed (so its rehearsal runs), and the image registry in the server's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relight.images.registry import ImageRecord, Registry, RegistryError
from relight.server.config import WorkspaceSettings
from relight.server.db import Database
from relight.server.imagepolicy import BuiltImage, ImageChange, image_changes, rehearsal_decision, waiting_on
from relight.server.imagestore import SqlRegistry
from relight.server.webhooks import decide

WS = WorkspaceSettings("ghe", "acme/infra", "github-enterprise", images=("ghe-image",), channel="production")
PLAIN = WorkspaceSettings("jira", "acme/infra", "jira")
REPO = {"full_name": "acme/infra", "clone_url": "file:///r"}


def _pr(action: str = "opened") -> dict[str, Any]:
    return {"action": action, "number": 3, "repository": REPO,
            "pull_request": {"number": 3, "head": {"sha": "c" * 40, "ref": "f"}, "base": {"sha": "b" * 40, "ref": "main"}}}


def _push(files: list[str] | None) -> dict[str, Any]:
    commits = [] if files is None else [{"added": files, "modified": [], "removed": []}]
    return {"ref": "refs/heads/main", "after": "d" * 40, "repository": REPO, "commits": commits}


# (case, event, payload, [(workspace, kind, operation, image_dir)])
DELIVERIES = [
    ("a PR builds each image directory once", "pull_request", _pr(),
     [("ghe", "speculative", "plan", None), ("jira", "speculative", "plan", None), ("ghe", "image", "build", "ghe-image")]),
    ("a closed PR queues nothing", "pull_request", _pr("closed"), []),
    ("a push touching the template promotes, no plan yet", "push", _push(["ghe-image/ghe.pkr.hcl"]),
     [("ghe", "image", "promote", "ghe-image")]),
    ("template and configuration: still one promotion, the plan follows it", "push",
     _push(["ghe-image/ghe.pkr.hcl", "github-enterprise/variables.tf"]), [("ghe", "image", "promote", "ghe-image")]),
    ("configuration only: a plan", "push", _push(["github-enterprise/main.tf"]), [("ghe", "apply", "plan", None)]),
    ("a look-alike directory is not the template", "push", _push(["ghe-image2/x"]), []),
    ("unknown files: promote every image, plan the others", "push", _push(None),
     [("ghe", "image", "promote", "ghe-image"), ("jira", "apply", "plan", None)]),
]


@pytest.mark.parametrize(("case", "event", "payload", "expected"), DELIVERIES, ids=[d[0] for d in DELIVERIES])
def test_deliveries(case: str, event: str, payload: dict[str, Any], expected: list[tuple[Any, ...]]) -> None:
    runs = decide(event, payload, [WS, PLAIN], "d-1").runs
    assert [(r.workspace, r.kind, r.operation, r.image_dir) for r in runs] == expected


def _change(actions: list[str], before: str, after: str | None, kind: str = "aws_instance") -> dict[str, Any]:
    return {"address": f"{kind}.n", "type": kind, "change": {
        "actions": actions, "before": {"ami": before}, "after": {} if after is None else {"ami": after},
        "after_unknown": ["ami"] if after is None else []}}


PLANS = [
    ("replace for a new ami", [_change(["delete", "create"], "ami-1", "ami-2")], [ImageChange("aws_instance.n", "ami-1", "ami-2")]),
    ("update in place", [_change(["update"], "ami-1", "ami-2")], [ImageChange("aws_instance.n", "ami-1", "ami-2")]),
    ("ami known after apply", [_change(["delete", "create"], "ami-1", None)], [ImageChange("aws_instance.n", "ami-1", None)]),
    ("same ami (another argument changed)", [_change(["update"], "ami-1", "ami-1")], []),
    ("a new node is not a change of image", [_change(["create"], "", "ami-2")], []),
    ("not a node", [_change(["update"], "ami-1", "ami-2", "aws_launch_template")], []),
]


@pytest.mark.parametrize(("case", "changes", "expected"), PLANS, ids=[p[0] for p in PLANS])
def test_image_changes(case: str, changes: list[dict[str, Any]], expected: list[ImageChange]) -> None:
    assert image_changes({"resource_changes": changes}) == expected


MOVE = ImageChange("aws_instance.n", "ami-1", "ami-2")
DECISIONS = [
    ("the plan moves the node: as configured", [MOVE], [BuiltImage("ghe-image", "ghe", "ami-9", "built")], (True, None)),
    ("a new image the channel does not point at", [], [BuiltImage("ghe-image", "ghe", "ami-9", "built", "ami-1")],
     (True, "ami-9")),
    ("up to date but not in the channel yet", [], [BuiltImage("ghe-image", "ghe", "ami-9", "up-to-date", None)],
     (True, "ami-9")),
    ("already the channel's image", [], [BuiltImage("ghe-image", "ghe", "ami-9", "up-to-date", "ami-9")], (False, None)),
    ("a failed build", [], [BuiltImage("ghe-image", "ghe", "", "failed")], (False, None)),
    ("another workspace's image", [], [BuiltImage("other", "x", "ami-9", "built")], (False, None)),
    ("nothing", [], [], (False, None)),
]


@pytest.mark.parametrize(("case", "changes", "builds", "expected"), DECISIONS, ids=[d[0] for d in DECISIONS])
def test_rehearsal_decisions(case: str, changes: list[ImageChange], builds: list[BuiltImage],
                             expected: tuple[bool, str | None]) -> None:
    decision = rehearsal_decision(changes, builds, ("ghe-image",))
    assert (decision.rehearse, decision.image) == expected and decision.reason


def test_rehearsal_waits_for_the_plan_and_the_builds_of_its_images() -> None:
    rows = [{"id": 1, "workspace": "ghe", "kind": "speculative", "image_dir": None, "final": True},
            {"id": 2, "workspace": "jira", "kind": "speculative", "image_dir": None, "final": False},
            {"id": 3, "workspace": "jira", "kind": "image", "image_dir": "ghe-image", "final": False},
            {"id": 4, "workspace": "ghe", "kind": "image", "image_dir": "other", "final": False}]
    assert waiting_on(rows, "ghe", ("ghe-image",)) == [3]
    assert waiting_on(rows, "jira", ()) == [2]


# -- the registry: the JSON file and the server's database behind one interface -----------------


@pytest.fixture(params=["file", "sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "file":
        return Registry(str(tmp_path / "reg"))
    db: Database = request.getfixturevalue("db" if request.param == "sqlite" else "pg_db")
    return SqlRegistry(db, str(tmp_path / "reg"))


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(f"sqlite:///{tmp_path / 'relight.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def pg_db(fresh_database: str) -> Any:
    database = Database(fresh_database.replace("postgresql://", "postgresql+psycopg://"))
    database.migrate()
    yield database
    database.dispose()


def _rec(image_id: str, digest: str = "d1", at: str = "2026-12-01T00:00:00Z") -> ImageRecord:
    return ImageRecord(image_id, "ghe", "us-east-1", "b-" + image_id, "ghe.amazon-ebs.ghe", f"us-east-1:{image_id}",
                       digest, "ami-src", at, variables={"v": "1"})


def test_registry_interface(registry: Any) -> None:
    registry.record(_rec("ami-1"))
    registry.record(_rec("ami-2", "d2", "2026-12-02T00:00:00Z"))
    assert [r.image_id for r in registry.images("ghe")] == ["ami-1", "ami-2"]
    assert registry.get("us-east-1:ami-2").image_id == "ami-2" and registry.find_digest("d2").image_id == "ami-2"
    with pytest.raises(RegistryError):
        registry.get("ami-404")
    record, previous = registry.set_channel("ami-1", "production", "t1", "alice")
    assert record.channels == ("production",) and previous is None
    record, previous = registry.set_channel("ami-2", "production", "t2")
    assert previous == "ami-1" and registry.channel("ghe", "production").image_id == "ami-2"
    assert registry.get("ami-1").channels == ()
    assert [(m.image_id, m.previous) for m in registry.history("ghe", "production")] == [("ami-1", None),
                                                                                       ("ami-2", "ami-1")]
    revoked = registry.set_status("ami-2", "revoked")
    assert revoked.status == "revoked" and revoked.channels == () and registry.channel("ghe", "production") is None
    with pytest.raises(RegistryError):
        registry.set_channel("ami-2", "production", "t3")
    assert registry.find_digest("d2") is None and registry.get("ami-1").variables == {"v": "1"}
