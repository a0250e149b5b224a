"""The run layer's contracts: runs share a process safely, sinks cannot break runs, cancellation
stops between actions, moves keep everything, addresses are diagnostics, and every run returns a
result."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr
from relight.diagnostics import Diagnostics
from relight.lang import Config
from relight.providers.base import Attribute, CreateRequest, CreateResponse, ReadRequest, ReadResponse, Schema
from relight.providers.framework import BaseProvider, ResourceType
from relight.providers.registry import ProviderRegistry
from relight.runs import (
    ApplyStarted,
    Approval,
    Event,
    FilePolicy,
    ListSink,
    Operation,
    RunContext,
    Runner,
    RunRequest,
    RunStatus,
    parse_addresses,
)
from relight.state import LocalBackend, ObjectState, State

from ..engine.fakes import FakeCloud, registry_with

THINGS = """
variable "prefix" {
  type = string
}
resource "fake_thing" "a" {
  name = "${var.prefix}-a"
}
resource "fake_thing" "b" {
  name = "${var.prefix}-b"
  ref  = fake_thing.a.id
}
resource "fake_thing" "c" {
  name = "${var.prefix}-c"
  ref  = fake_thing.b.id
}
"""


def apply(directory: Path, registry: ProviderRegistry, sink: Any = None, **request: Any) -> Any:
    context = RunContext(str(directory), registry=registry, cancel=request.pop("cancel", threading.Event()))
    return Runner().execute(RunRequest(Operation.APPLY, approval=Approval.AUTO, **request), context, sink)


def test_two_runs_at_once_keep_their_directories_variables_and_environments(tmp_path: Path) -> None:
    """Each run sees only its own directory, variables and environment (credentials)."""
    seen: dict[str, list[str]] = {"one": [], "two": []}
    lock = threading.Lock()

    class Recorder(ResourceType):
        name = "env_thing"
        schema = Schema(attributes={"id": Attribute("string", computed=True), "name": Attribute("string", required=True)})

        def create(self, req: CreateRequest) -> CreateResponse:
            key = self.provider.context.environment["AWS_ACCESS_KEY_ID"]  # type: ignore[attr-defined]
            with lock:
                seen[req.planned_state["name"].split("-")[0]].append(key)
            return CreateResponse(dict(req.planned_state, id=f"{req.planned_state['name']}-{key}"))

        def read(self, req: ReadRequest) -> ReadResponse:
            return ReadResponse(dict(req.current_state))

    class EnvProvider(BaseProvider):
        name = "env"
        resource_types = (Recorder,)

    registry = ProviderRegistry({"env": EnvProvider})
    results: dict[str, Any] = {}

    def run(name: str, key: str) -> None:
        directory = tmp_path / name
        directory.mkdir()
        blocks = "".join(f'resource "env_thing" "t{i}" {{\n  name = "${{var.who}}-{i}"\n}}\n' for i in range(20))
        (directory / "main.tf").write_text('variable "who" {\n  type = string\n}\n' + blocks)
        context = RunContext(str(directory), environment={"AWS_ACCESS_KEY_ID": key}, registry=registry)
        request = RunRequest(Operation.APPLY, approval=Approval.AUTO, variables=(("var", f"who={name}"),))
        results[name] = Runner().execute(request, context)

    threads = [threading.Thread(target=run, args=("one", "key-one")), threading.Thread(target=run, args=("two", "key-two"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["one"].status is RunStatus.APPLIED and results["two"].status is RunStatus.APPLIED
    assert seen == {"one": ["key-one"] * 20, "two": ["key-two"] * 20}
    for name in ("one", "two"):
        state = LocalBackend(str(tmp_path / name / "relight.tfstate")).read()
        assert {i.current.attributes["name"].split("-")[0] for i in state if i.current} == {name}
    assert not (Path.cwd() / "relight.tfstate").exists()  # nothing went to the process's directory


def test_two_aws_runs_at_once_each_use_their_own_endpoint(cloud: Any, tmp_path: Path) -> None:
    """The same configuration, two environments: one run reaches the local cloud, the other's
    endpoint is dead. Neither sees the other's settings."""
    config = 'resource "aws_vpc" "v" {\n  cidr_block = "10.9.0.0/16"\n  tags = { Name = "run" }\n}\n'
    good, bad = tmp_path / "good", tmp_path / "bad"
    for d in (good, bad):
        d.mkdir()
        (d / "main.tf").write_text('provider "aws" {\n  max_retries = 0\n}\n' + config)
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    envs = {good: env, bad: {**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}}
    results: dict[Path, Any] = {}

    def run(directory: Path) -> None:
        context = RunContext(str(directory), environment=envs[directory])
        results[directory] = Runner().execute(RunRequest(Operation.APPLY, approval=Approval.AUTO), context)

    threads = [threading.Thread(target=run, args=(d,)) for d in (good, bad)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[good].status is RunStatus.APPLIED, [d.summary for d in results[good].diagnostics]
    assert results[bad].status is RunStatus.ERRORED
    assert any("cannot reach the AWS endpoint" in d.summary for d in results[bad].diagnostics)
    assert results[good].timings.cloud > 0 and results[good].timings.calls > 0


def test_a_sink_that_raises_never_breaks_the_run_and_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(THINGS)
    calls: list[Event] = []

    class Broken:
        def emit(self, event: Event) -> None:
            calls.append(event)
            if isinstance(event, ApplyStarted):
                raise RuntimeError("the log store is down")

    cloud = FakeCloud()
    result = apply(tmp_path, registry_with(cloud), Broken(), variables=(("var", "prefix=p"),))
    assert result.status is RunStatus.APPLIED
    assert len(cloud.objects) == 3
    warnings = [d for d in result.diagnostics if d.summary == "A run watcher failed"]
    assert len(warnings) == 1 and "the log store is down" in warnings[0].detail
    assert sum(isinstance(e, ApplyStarted) for e in calls) == 1  # not called again after failing


def test_cancel_mid_apply_stops_between_actions_and_the_next_run_converges(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(THINGS)
    cloud = FakeCloud(delay=0.05)
    cancel = threading.Event()

    class CancelOnFirstCreate(ListSink):
        def emit(self, event: Event) -> None:
            super().emit(event)
            if isinstance(event, ApplyStarted):
                cancel.set()  # a person pressed Ctrl-C (or Cancel) while the first create runs

    sink = CancelOnFirstCreate()
    result = apply(tmp_path, registry_with(cloud), sink, variables=(("var", "prefix=p"),), cancel=cancel)
    assert result.status is RunStatus.CANCELED
    assert result.skipped == ("fake_thing.b", "fake_thing.c")
    assert len(cloud.objects) == 1  # the call in flight finished ...
    state = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    assert [str(i.addr) for i in state] == ["fake_thing.a"]  # ... and was recorded
    again = apply(tmp_path, registry_with(cloud), variables=(("var", "prefix=p"),))
    assert again.status is RunStatus.APPLIED and again.counts.add == 2
    assert len(cloud.objects) == 3


def _state_with_deposed(path: Path) -> None:
    addr = InstanceAddr.parse("fake_thing.a")
    state = State.new()
    state.set_current(addr, "fake", ObjectState({"id": "thing-new", "name": "a"}))
    state.set_deposed(addr, "00000001", "fake", ObjectState({"id": "thing-old", "name": "a"}))
    LocalBackend(str(path)).write(state)


def test_state_mv_keeps_deposed_objects(tmp_path: Path) -> None:
    _state_with_deposed(tmp_path / "relight.tfstate")
    (tmp_path / "main.tf").write_text('resource "fake_thing" "b" {\n  name = "a"\n}\n')
    src, dst = parse_addresses(["fake_thing.a", "fake_thing.b"], "resource")[0]
    context = RunContext(str(tmp_path), registry=registry_with(FakeCloud()))
    result = Runner().execute(RunRequest(Operation.STATE_MV, addresses=(src,), destination=dst), context)
    assert result.ok and result.moves == (("fake_thing.a", "fake_thing.b"),)
    moved = LocalBackend(str(tmp_path / "relight.tfstate")).read().get(dst)
    assert moved is not None and moved.current is not None
    assert moved.current.attributes["id"] == "thing-new" and set(moved.deposed) == {"00000001"}


def test_a_moved_block_keeps_deposed_objects_and_a_moved_only_apply_records_the_move(tmp_path: Path) -> None:
    _state_with_deposed(tmp_path / "relight.tfstate")
    cloud = FakeCloud(objects={"thing-new": {"id": "thing-new", "name": "a"}, "thing-old": {"id": "thing-old", "name": "a"}})
    (tmp_path / "main.tf").write_text(
        'resource "fake_thing" "b" {\n  name = "a"\n}\nmoved {\n  from = fake_thing.a\n  to   = fake_thing.b\n}\n'
    )
    plan = Runner().execute(RunRequest(Operation.PLAN), RunContext(str(tmp_path), registry=registry_with(cloud)))
    assert plan.plan is not None and plan.plan.moved == [("fake_thing.a", "fake_thing.b")]
    deposed = [c for c in plan.plan.changes if c.deposed]
    assert [(str(c.addr), c.deposed) for c in deposed] == [("fake_thing.b", "00000001")]  # it moved along
    result = apply(tmp_path, registry_with(cloud))
    assert result.status is RunStatus.APPLIED
    state = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    assert [str(i.addr) for i in state] == ["fake_thing.b"]
    assert "thing-old" not in cloud.objects and "thing-new" in cloud.objects


def test_a_move_only_plan_is_recorded_by_apply(tmp_path: Path) -> None:
    cloud = FakeCloud()
    (tmp_path / "main.tf").write_text('resource "fake_thing" "a" {\n  name = "a"\n}\n')
    assert apply(tmp_path, registry_with(cloud)).status is RunStatus.APPLIED
    (tmp_path / "main.tf").write_text(
        'resource "fake_thing" "b" {\n  name = "a"\n}\nmoved {\n  from = fake_thing.a\n  to   = fake_thing.b\n}\n'
    )
    result = apply(tmp_path, registry_with(cloud))
    assert result.status is RunStatus.APPLIED and result.plan is not None and result.plan.has_changes
    state = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    assert [str(i.addr) for i in state] == ["fake_thing.b"]
    after = Runner().execute(RunRequest(Operation.PLAN), RunContext(str(tmp_path), registry=registry_with(cloud)))
    assert after.plan is not None and not after.plan.has_changes


@pytest.mark.parametrize("text", ["aws_instance", "aws_instance.web[", "9bad.name", 'a.b["x]'])
def test_a_bad_address_is_a_diagnostic_not_an_exception(text: str) -> None:
    addrs, diags = parse_addresses([text], "-target")
    assert addrs == () and diags.has_errors
    assert diags.errors[0].summary == "Invalid -target address"


def test_every_run_returns_a_result_even_on_a_bug(tmp_path: Path) -> None:
    class Exploding(ResourceType):
        name = "boom_thing"
        schema = Schema(attributes={"id": Attribute("string", computed=True)})

    class BoomProvider(BaseProvider):
        name = "boom"
        resource_types = (Exploding,)

        def schema(self) -> Any:
            raise ZeroDivisionError("a provider bug")

    (tmp_path / "main.tf").write_text('resource "boom_thing" "x" {}\n')
    result = apply(tmp_path, ProviderRegistry({"boom": BoomProvider}))
    assert result.status is RunStatus.ERRORED
    assert any("unexpected error" in d.summary and "ZeroDivisionError" in d.detail for d in result.diagnostics)


def test_a_provider_diagnostic_points_at_the_argument_line(cloud: Any, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ebs_volume" "data" {\n  availability_zone = "us-east-1a"\n  size = 10\n  type = "platinum"\n}\n'
    )
    context = RunContext(str(tmp_path), environment=dict(os.environ))
    result = Runner().execute(RunRequest(Operation.PLAN), context)
    errors = result.diagnostics.errors
    assert result.status is RunStatus.ERRORED and errors
    assert errors[0].summary == "Invalid volume type 'platinum'"
    assert errors[0].subject is not None and (errors[0].subject.filename, errors[0].subject.start.line) == ("main.tf", 4)
    assert errors[0].address == "aws_ebs_volume.data"


def test_requests_survive_json(tmp_path: Path) -> None:
    addrs, _ = parse_addresses(['aws_instance.web["a"]', "aws_vpc.v"], "-target")
    request = RunRequest(
        Operation.APPLY, targets=addrs, plan_file=b"\x00plan", variables=(("var", "a=1"), ("var-file", "x.tfvars"))
    )
    assert RunRequest.from_json(request.to_json()) == request


@pytest.mark.parametrize(
    "call", ['file("/etc/hostname")', 'file("../outside.txt")', 'templatefile("~/.bashrc", {})', 'fileexists("/etc/passwd")']
)
def test_a_confined_run_refuses_files_outside_its_directory(tmp_path: Path, call: str) -> None:
    """What the server does for pull-request branches: file functions stay inside the checkout."""
    work = tmp_path / "checkout"
    work.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    (work / "main.tf").write_text(f'output "x" {{\n  value = {call}\n}}\n')
    context = RunContext(str(work), files=FilePolicy.confined(str(work)))
    result = Runner().execute(RunRequest(Operation.PLAN), context)
    assert result.status is RunStatus.ERRORED
    error = result.diagnostics.errors[0]
    assert error.subject is not None and (error.subject.filename, error.subject.start.line) == ("main.tf", 2)
    assert "secret" not in error.detail
    unconfined = Runner().execute(RunRequest(Operation.PLAN), RunContext(str(work)))
    assert unconfined.status is not RunStatus.ERRORED or "fileexists" in call or "~" in call



def _without_b(config: Config) -> tuple[Config, Diagnostics]:
    kept = {addr: res for addr, res in config.resources.items() if addr.name != "b"}
    return replace(config, resources=kept), Diagnostics()


@pytest.mark.parametrize("operation", [Operation.PLAN, Operation.APPLY])
def test_the_context_overlay_rewrites_what_every_planning_run_plans(tmp_path: Path, operation: Operation) -> None:
    """A rehearsal's overlay is its isolation: a run that planned the configuration as written
    would touch production's objects (alarms of the same name, DNS)."""
    (tmp_path / "main.tf").write_text(
        'resource "fake_thing" "a" {\n  name = "a"\n}\nresource "fake_thing" "b" {\n  name = "b"\n}\n'
    )
    cloud = FakeCloud()
    context = RunContext(str(tmp_path), registry=registry_with(cloud), overlay=_without_b)
    result = Runner().execute(RunRequest(operation, approval=Approval.AUTO), context)
    assert result.ok, [d.summary for d in result.diagnostics]
    assert result.counts.add == 1
    assert [o["name"] for o in cloud.objects.values()] == (["a"] if operation is Operation.APPLY else [])
