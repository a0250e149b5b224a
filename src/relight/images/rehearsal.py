"""``relight rehearse``: boot the candidate image on a throwaway copy of the data, check it, tear down.

Steps (each a :class:`RehearsalStep` event, each line in the rehearsal's log):

1. ``production``  read the workspace's state (never locked, never written): its data volumes
                   and its nodes (their images and launch times).
2. ``data``        per data volume: the snapshot given, else its latest completed snapshot, else
                   a fresh one (``--fresh-snapshot`` always takes one; a fresh snapshot is a
                   backup of production's data and is kept: it is the pre-upgrade snapshot a
                   later ``--downgrade`` uses). ``--downgrade``: the newest snapshot taken before
                   the current node was launched, and the image the node had before (from the
                   state's history), unless ``--image`` says.
3. ``apply``       the configuration as an ephemeral stack (:mod:`.overlay`: the candidate image, the
                   volumes from those snapshots, its own network and security group, no DNS, alarms
                   without actions, no notifications), with a state of its own in the rehearsal's
                   directory, through the run layer.
4. ``checks``      the ``relight { rehearsal { ... } }`` checks (:mod:`.checks`).
5. ``destroy``     everything the stack made, through the run layer, whatever happened before
                   (failed apply, failed checks, Ctrl-C); the stack's state must end empty.

Contract: :func:`rehearse` always returns a :class:`RehearsalReport` (``passed`` only if the apply,
every check and the destroy succeeded), written as ``report.json`` with ``log.txt`` in its
directory. Production's objects and data are only read (and snapshotted when asked). If the
destroy fails, the report names what is left and the stack's state stays in the rehearsal's
directory: ``relight rehearse --cleanup ID`` destroys it later.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from relight.diagnostics import Diagnostics
from relight.engine.evaluate import Evaluator
from relight.images.checks import CheckResult, CheckRunner, RehearsalSpec, decode_rehearsal, run_checks
from relight.images.cloud import CallError, Canceled, Cloud, tag_list
from relight.images.events import RehearsalCheck, RehearsalStarted, RehearsalStep
from relight.images.overlay import rehearsal_overlay
from relight.lang import Config, collect_variable_values, load_config
from relight.runs import (
    Approval,
    Event,
    EventSink,
    Operation,
    PlanMode,
    RunContext,
    Runner,
    RunRequest,
    RunResult,
    SafeSink,
    State,
    VarInput,
    progress_line,
)
from relight.state import LocalBackend, StateBackend

__all__ = ["RehearsalReport", "RehearsalRequest", "cleanup_rehearsal", "rehearse"]

REHEARSAL_TAG = "relight:rehearsal"


@dataclass(frozen=True)
class RehearsalRequest:
    """``image``: the candidate for every node (None: what the configuration resolves to).
    ``snapshots``: volume address -> snapshot id to use (None key ``""``: the only volume)."""

    variables: tuple[VarInput, ...] = ()
    image: str | None = None
    snapshots: Mapping[str, str] = field(default_factory=dict)
    fresh_snapshot: bool = False
    downgrade: bool = False
    keep: bool = False
    timeout: float | None = None


@dataclass
class RehearsalReport:
    id: str
    directory: str
    status: str = "errored"  # passed | failed | errored | canceled
    image: str = ""
    snapshots: dict[str, str] = field(default_factory=dict)
    fresh_snapshots: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    sources: Mapping[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    booted: list[str] = field(default_factory=list)  # the images the nodes booted (as resolved)
    created: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    downgrade: bool = False
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "passed": self.passed,
            "downgrade": self.downgrade,
            "image": self.image,
            "booted": self.booted,
            "snapshots": self.snapshots,
            "fresh_snapshots": self.fresh_snapshots,
            "checks": [c.to_json() for c in self.checks],
            "created": self.created,
            "left_behind": self.left_behind,
            "timings": self.timings,
            "error": self.error,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "log": os.path.join(self.directory, "log.txt"),
        }


class _Log:
    """The rehearsal's log: its steps, and the progress of its runs (as the CLI prints them)."""

    def __init__(self, report: RehearsalReport, sink: EventSink) -> None:
        self.report = report
        self.sink = sink

    def emit(self, event: Event) -> None:
        line = progress_line(event)
        if line is not None:
            self.line("    " + line)
        self.sink.emit(event)

    def step(self, step: str, message: str) -> None:
        self.line(f"==> {message}")
        self.sink.emit(RehearsalStep(step, message))

    def line(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        self.report.log.append(f"{stamp} {text}")


def rehearse(
    request: RehearsalRequest,
    production: RunContext,
    rehearsals_dir: str,
    candidate_dir: str | None = None,
    sink: EventSink | None = None,
    cancel: threading.Event | None = None,
) -> RehearsalReport:
    """Rehearse ``candidate_dir``'s configuration (default: production's own) on a copy of the
    data of the workspace in ``production``; see the module docstring."""
    sink = SafeSink(sink, production.secrets.values())
    cancel = cancel or threading.Event()
    rid = "r-" + uuid.uuid4().hex[:10]
    report = RehearsalReport(rid, os.path.join(rehearsals_dir, rid), downgrade=request.downgrade)
    os.makedirs(report.directory, exist_ok=True)
    log = _Log(report, sink)
    sink.emit(RehearsalStarted(rid, report.directory))
    started = time.monotonic()
    candidate = candidate_dir or production.directory
    stack = replace(production, directory=candidate, cancel=cancel, backend=_own_backend(report.directory))
    applied = False
    try:
        cloud, state = _production(production, log, cancel, report)
        image, snapshots = _choose(request, cloud, state, production, log, report)
        report.image, report.snapshots = image or "(as configured)", snapshots
        overlay = rehearsal_overlay(f"relight-rehearsal-{rid}-", image, snapshots)
        stack = replace(stack, overlay=overlay)
        spec = _spec(stack, request, report)
        applied = True
        nodes = _apply(stack, request, log, report)
        log.step(
            "checks", f"Checking the rehearsal's node{'s' if len(nodes) != 1 else ''}: {len(spec.checks)} check(s)"
        )
        if not spec.checks:
            report.diagnostics.warning(
                "No rehearsal checks",
                'Declare them in relight { rehearsal { check "http" {...} } }: only the apply was rehearsed.',
            )
        checks_began = time.monotonic()
        checker = CheckRunner(cloud, nodes, log.line)
        report.checks = run_checks(checker, spec, request.timeout)
        for check in report.checks:
            sink.emit(RehearsalCheck(check.name, check.passed, check.detail))
        report.timings["checks"] = round(time.monotonic() - checks_began, 3)
        report.status = "passed" if all(c.passed for c in report.checks) else "failed"
    except Canceled:
        report.status, report.error = "canceled", "The rehearsal was canceled."
    except _Stop as stop:
        report.status, report.error = "errored", str(stop)
    except CallError as exc:
        report.status, report.error = "errored", str(exc)
    finally:
        if applied and not request.keep:
            _destroy(stack, request, log, report)
        elif applied:
            log.line(f"--keep: the rehearsal's stack is kept; relight rehearse --cleanup {rid} destroys it.")
        report.timings["total"] = round(time.monotonic() - started, 3)
        _write(report)
    return report


class _Stop(Exception):
    """The rehearsal cannot go on (its reason is in the report's diagnostics)."""


def _own_backend(directory: str) -> Any:
    path = os.path.join(directory, "stack", "relight.tfstate")

    def factory(config: Config | None, _directory: str) -> StateBackend:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return LocalBackend(path)

    return factory


def _production(
    production: RunContext, log: _Log, cancel: threading.Event, report: RehearsalReport
) -> tuple[Cloud, State]:
    log.step("production", f"Reading the workspace's state ({production.directory})")
    result = Runner().execute(RunRequest(Operation.STATE_PULL, lock=False), production)
    if not result.ok or result.state is None:
        report.diagnostics.extend(result.diagnostics)
        raise _Stop("the workspace's state cannot be read")
    state = result.state
    region = production.inputs.get("AWS_REGION") or production.inputs.get("AWS_DEFAULT_REGION") or _region_of(state)
    return Cloud(production.inputs, region, cancel), state


def _region_of(state: State) -> str | None:
    for inst in state:
        zone = (inst.current.attributes.get("availability_zone") if inst.current else None) or ""
        if isinstance(zone, str) and zone[-1:].isalpha():
            return zone[:-1]
    return None


def _objects(state: State, kind: str) -> dict[str, dict[str, Any]]:
    """Resource address -> attributes, of the managed objects of type ``kind``. A resource with
    several instances (count, for_each) is refused: its copies could not be told apart."""
    out: dict[str, dict[str, Any]] = {}
    for inst in state:
        if inst.addr.resource.mode == "managed" and inst.addr.resource.type == kind and inst.current is not None:
            name = str(inst.addr.resource) if inst.addr.key is None else str(inst.addr)
            if inst.addr.key is not None and kind == "aws_ebs_volume":
                raise _Stop(f"{inst.addr}: rehearsing volumes made with count or for_each is not supported yet")
            out[name] = dict(inst.current.attributes)
    return out


def _choose(
    request: RehearsalRequest, cloud: Cloud, state: State, production: RunContext, log: _Log, report: RehearsalReport
) -> tuple[str | None, dict[str, str]]:
    volumes = _objects(state, "aws_ebs_volume")
    nodes = _objects(state, "aws_instance")
    if not volumes:
        raise _Stop("the workspace has no data volume (aws_ebs_volume) in its state: there is no data to rehearse on")
    image = request.image
    launched: float | None = None
    if request.downgrade:
        current = {str(a.get("ami")) for a in nodes.values()}
        launched = min((_launch_time(cloud, str(a.get("id"))) for a in nodes.values()), default=None)
        if image is None:
            image = _previous_image(production, current)
            if image is None:
                raise _Stop("--downgrade: the state's history has no earlier image of the node; give it with --image")
        log.line(f"downgrade: booting {image} (the nodes run {', '.join(sorted(current))})")
    log.step("data", "Choosing the data to rehearse on")
    unknown = sorted(a for a in request.snapshots if a and a not in volumes)
    if unknown:
        raise _Stop(f"--snapshot {unknown[0]}=...: no volume of production's state has that address "
                    f"(its volumes: {', '.join(sorted(volumes)) or 'none'})")
    if "" in request.snapshots and len(volumes) != 1:
        raise _Stop(f"--snapshot SNAP without an address: production has {len(volumes)} volumes; "
                    "say which, as --snapshot ADDR=SNAP")
    if request.fresh_snapshot and request.downgrade:
        raise _Stop("--fresh-snapshot and --downgrade: a downgrade boots on the snapshot from before the upgrade, "
                    "not on today's data; drop one of them")
    chosen: dict[str, str] = {}
    for addr, attrs in sorted(volumes.items()):
        given = request.snapshots.get(addr) or (request.snapshots.get("") if len(volumes) == 1 else None)
        if given:
            chosen[addr] = given
        elif request.downgrade:
            found = _latest_snapshot(cloud, str(attrs["id"]), before=launched)
            if found is None:
                raise _Stop(f"--downgrade: no snapshot of {addr} ({attrs['id']}) from before the node was launched")
            chosen[addr] = found
        else:
            found = None if request.fresh_snapshot else _latest_snapshot(cloud, str(attrs["id"]))
            chosen[addr] = found or _fresh_snapshot(cloud, addr, str(attrs["id"]), report, log)
        log.line(f"{addr}: a volume from {chosen[addr]} (a copy of {attrs['id']})")
    return image, chosen


def _launch_time(cloud: Cloud, instance_id: str) -> float:
    inst = cloud.instance(instance_id)
    when = inst.get("LaunchTime") if inst else None
    return when.timestamp() if isinstance(when, datetime) else time.time()


def _latest_snapshot(cloud: Cloud, volume_id: str, before: float | None = None) -> str | None:
    found = cloud.call(
        "ec2", "DescribeSnapshots", OwnerIds=["self"],
        Filters=[{"Name": "volume-id", "Values": [volume_id]}, {"Name": "status", "Values": ["completed"]}],
    ).get("Snapshots", [])  # fmt: skip
    usable = [s for s in found if before is None or s["StartTime"].timestamp() < before]
    usable.sort(key=lambda s: (s["StartTime"], s["SnapshotId"]), reverse=True)
    return str(usable[0]["SnapshotId"]) if usable else None


def _fresh_snapshot(cloud: Cloud, addr: str, volume_id: str, report: RehearsalReport, log: _Log) -> str:
    out = cloud.call(
        "ec2", "CreateSnapshot", VolumeId=volume_id,
        Description=f"relight rehearsal {report.id}: a copy of {addr} ({volume_id})",
        TagSpecifications=[
            {"ResourceType": "snapshot", "Tags": tag_list({REHEARSAL_TAG: report.id, "Name": f"{addr}, rehearsal"})}
        ],
    )  # fmt: skip
    snap = str(out["SnapshotId"])

    def completed() -> bool | None:
        found = cloud.call("ec2", "DescribeSnapshots", SnapshotIds=[snap]).get("Snapshots", [])
        state = found[0]["State"] if found else "missing"
        if state == "error":
            raise CallError(f"The snapshot {snap} of {volume_id} failed")
        return True if state == "completed" else None

    cloud.wait(f"{snap} to complete", completed, 3600)
    report.fresh_snapshots.append(snap)
    log.line(f"took a fresh snapshot {snap} of {volume_id} (kept: a backup of production's data)")
    return snap


def _previous_image(production: RunContext, current: set[str]) -> str | None:
    """The image the nodes had before, from the workspace's state history (newest first)."""
    config, _ = load_config(production.directory, file_policy=production.files)
    backend = production.state_backend(config)
    try:
        versions = sorted(backend.history(), key=lambda v: v.serial, reverse=True)
        for version in versions:
            for attrs in _objects(backend.read_version(version.serial), "aws_instance").values():
                ami = attrs.get("ami")
                if isinstance(ami, str) and ami and ami not in current:
                    return ami
    except Exception:  # a damaged history: say so through the caller's message
        return None
    return None


def _spec(stack: RunContext, request: RehearsalRequest, report: RehearsalReport) -> RehearsalSpec:
    config, diags = load_config(stack.directory, file_policy=stack.files)
    report.diagnostics.extend(diags)
    if config is None or diags.has_errors:
        raise _Stop("the configuration cannot be loaded")
    given = [(k, v if k == "var" else stack.path(v)) for k, v in request.variables]
    values, vdiags = collect_variable_values(config, given, stack.inputs, file_policy=stack.files)
    report.diagnostics.extend(vdiags)
    if vdiags.has_errors:
        raise _Stop("the variables cannot be read")
    spec, sdiags = decode_rehearsal(config.relight, Evaluator(config, values, stack.files).scope())
    report.diagnostics.extend(sdiags)
    if sdiags.has_errors:
        raise _Stop("the rehearsal block has errors")
    return spec


def _apply(
    stack: RunContext, request: RehearsalRequest, log: _Log, report: RehearsalReport
) -> dict[str, tuple[str, str]]:
    log.step("apply", "Creating the rehearsal's stack (its own network, no DNS, alarms without actions)")
    began = time.monotonic()
    result = Runner().execute(
        RunRequest(Operation.APPLY, variables=request.variables, approval=Approval.AUTO), stack, log
    )
    report.timings["apply"] = round(time.monotonic() - began, 3)
    report.timings["apply_cloud"] = round(result.timings.cloud, 3)
    report.sources = result.sources
    _note(result, log, report)
    if not result.ok or result.status.value == "errored":
        report.diagnostics.extend(result.diagnostics)
        if stack.cancel.is_set():
            raise Canceled()
        raise _Stop("the rehearsal's stack could not be created")
    state = LocalBackend(os.path.join(report.directory, "stack", "relight.tfstate")).read()
    report.created = sorted(str(i.addr) for i in state if i.addr.resource.mode == "managed")
    nodes = {
        addr: (str(attrs.get("id")), str(attrs.get("private_ip") or ""))
        for addr, attrs in _objects(state, "aws_instance").items()
    }
    for addr, (iid, ip) in sorted(nodes.items()):
        log.line(f"node {addr}: {iid} at {ip}")
    report.booted = sorted({str(a["ami"]) for a in _objects(state, "aws_instance").values() if a.get("ami")})
    return nodes


def _note(result: RunResult, log: _Log, report: RehearsalReport) -> None:
    counts = result.counts
    log.line(
        f"run {result.status.value}: {counts.summary()} in {result.timings.wall:.1f}s "
        f"({result.timings.cloud:.1f}s cloud)"
    )
    for diag in result.diagnostics:
        log.line(f"{diag.severity.value}: {diag.summary}: {diag.detail}")


def _destroy(stack: RunContext, request: RehearsalRequest, log: _Log, report: RehearsalReport) -> None:
    log.step("destroy", "Destroying everything the rehearsal made")
    began = time.monotonic()
    calm = replace(stack, cancel=threading.Event())  # the cancel is why we clean up: do not stop the cleanup
    destroy = RunRequest(Operation.APPLY, mode=PlanMode.DESTROY, variables=request.variables, approval=Approval.AUTO)
    result = Runner().execute(destroy, calm, log)
    report.timings["destroy"] = round(time.monotonic() - began, 3)
    _note(result, log, report)
    path = os.path.join(report.directory, "stack", "relight.tfstate")
    left = (
        [str(i.addr) for i in LocalBackend(path).read() if i.addr.resource.mode == "managed"]
        if os.path.exists(path)
        else []
    )
    if not result.ok or left:
        report.left_behind = left or ["(the destroy failed; see the log)"]
        report.diagnostics.extend(result.diagnostics)
        report.status = "errored" if report.status == "passed" else report.status
        report.error = (
            report.error or f"the rehearsal's stack was not destroyed: relight rehearse --cleanup {report.id}"
        )


def cleanup_rehearsal(
    production: RunContext,
    rehearsals_dir: str,
    rid: str,
    candidate_dir: str | None = None,
    variables: tuple[VarInput, ...] = (),
) -> RehearsalReport:
    """Destroy what a kept (``--keep``) or interrupted rehearsal left, from its own state.
    ``variables`` are the ``-var``/``-var-file`` inputs the rehearsal was given (they are not
    stored with it: they may hold secrets); a configuration that requires one needs it again."""
    report = RehearsalReport(rid, os.path.join(rehearsals_dir, rid))
    if not os.path.isdir(report.directory):
        report.error = f"no rehearsal {rid} in {rehearsals_dir}"
        return report
    stack = replace(production, directory=candidate_dir or production.directory, backend=_own_backend(report.directory))
    previous = _read(report.directory)
    stack = replace(
        stack,
        overlay=rehearsal_overlay(
            f"relight-rehearsal-{rid}-", previous.get("image_override"), previous.get("snapshots", {})
        ),
    )
    _destroy(stack, RehearsalRequest(variables=variables), _Log(report, SafeSink(None, ())), report)
    report.status = "passed" if not report.left_behind else "errored"
    return report


def _read(directory: str) -> dict[str, Any]:
    try:
        with open(os.path.join(directory, "report.json"), encoding="utf-8") as fh:
            doc = json.load(fh)
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(report: RehearsalReport) -> None:
    with open(os.path.join(report.directory, "log.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(report.log) + "\n")
    doc = report.to_json()
    doc["image_override"] = None if report.image == "(as configured)" else report.image
    with open(os.path.join(report.directory, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
