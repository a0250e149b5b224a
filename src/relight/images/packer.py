"""``relight image build --with-packer``: the real ``packer`` binary builds; relight records.

relight still reads the template first (so mistakes are reported the same way, and the build's
digest is known), then runs ``packer build -machine-readable`` with the same ``-var``,
``-var-file``, ``-only``, ``-force`` and ``-on-error`` flags in the run's environment, streams its
``ui`` lines as build output, and takes each ``artifact,0,id,REGION:AMI`` line as a result.
Each artifact is then tagged as relight's own builds are (name, digest, ``complete``) and
recorded in the registry, so channels, ``relight_image`` and prune treat both alike. Packer
writes its own manifest (its post-processor). Ctrl-C or SIGTERM is passed to packer as SIGINT,
which makes it clean up as it does for a person at its terminal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from relight.images.builder import BuildResult
from relight.images.cloud import (
    BUILD_ID_TAG,
    BUILD_NAME_TAG,
    BUILD_STATE_TAG,
    DIGEST_TAG,
    IMAGE_NAME_TAG,
    CallError,
    Cloud,
    tag_list,
)
from relight.images.events import BuildArtifact, BuildFinished, BuildOutput
from relight.images.registry import ImageRecord, ImageRegistry, Registry
from relight.images.request import BuildRequest, BuildRun, git_commit
from relight.images.template import BuildSpec, Template
from relight.runs import EventSink

__all__ = ["packer_argv", "parse_machine_line", "run_packer"]


def packer_argv(binary: str, request: BuildRequest, directory: str) -> list[str]:
    argv = [binary, "build", "-machine-readable"]
    for kind, value in request.variables:
        argv.append(f"-var={value}" if kind == "var" else f"-var-file={value}")
    argv += [f"-only={only}" for only in request.only]
    argv += [f"-except={skip}" for skip in request.except_]
    if request.force:
        argv.append("-force")
    argv.append(f"-on-error={request.on_error}")
    argv.append(directory)
    return argv


def parse_machine_line(line: str) -> tuple[str, str, list[str]] | None:
    """(target, type, data) of one ``-machine-readable`` line, unescaped; None if it is not one."""
    parts = line.rstrip("\n").split(",")
    if len(parts) < 3 or not parts[0].isdigit():
        return None
    data = [p.replace("%!(PACKER_COMMA)", ",").replace("\\n", "\n").replace("\\r", "\r") for p in parts[3:]]
    return parts[1], parts[2], data


def run_packer(
    request: BuildRequest,
    template: Template,
    builds: Sequence[BuildSpec],
    environment: Mapping[str, str],
    sink: EventSink,
    cancel: threading.Event,
    out: BuildRun,
) -> BuildRun:
    """Run packer for ``builds`` of ``template``; results go into ``out`` (see the module doc)."""
    binary = shutil.which(request.packer_binary, path=environment.get("PATH"))
    if binary is None:
        out.diagnostics.error(
            "packer is not installed",
            "--with-packer runs the packer binary, which is not on PATH. Install it (Debian: apt-get install packer), "
            "or build without --with-packer.",
        )
        return out
    started = datetime.now(UTC)
    artifacts, lines, code = _run(binary, request, template.directory, environment, sink, cancel)
    registry = Registry(request.registry)
    commit = git_commit(template.directory)
    for spec in builds:
        result = BuildResult(spec.name, uuid.uuid4().hex[:16])
        artifact = next(
            (a for t, a in artifacts if t in (spec.name, f"{spec.source.type}.{spec.source.name}", spec.source.name)),
            None,
        )
        if artifact is None:
            result.status = "canceled" if cancel.is_set() else "failed"
            result.error = f"packer exited with {code} without an artifact for {spec.name}"
        else:
            _adopt(spec, artifact, result, template, environment, registry, commit, started)
            sink.emit(BuildArtifact(spec.name, result.artifact_id, result.image_id, False))
        sink.emit(BuildFinished(spec.name, result.status, 0.0, 0.0, 0, result.error))
        out.results.append(result)
    if code != 0 and not out.results:
        out.diagnostics.error("packer build failed", "\n".join(lines[-20:]))
    return out


def _run(
    binary: str,
    request: BuildRequest,
    directory: str,
    environment: Mapping[str, str],
    sink: EventSink,
    cancel: threading.Event,
) -> tuple[list[tuple[str, str]], list[str], int]:
    argv = packer_argv(binary, request, directory)
    proc = subprocess.Popen(
        argv,
        cwd=request.base,
        env=dict(environment),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def forward_cancel() -> None:
        cancel.wait()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)

    threading.Thread(target=forward_cancel, daemon=True).start()
    artifacts: list[tuple[str, str]] = []
    lines: list[str] = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        parsed = parse_machine_line(raw)
        if parsed is None:
            lines.append(raw.rstrip("\n"))
            continue
        target, kind, data = parsed
        if kind == "ui" and len(data) >= 2:
            lines.append(data[1])
            sink.emit(BuildOutput(target or "packer", data[1]))
        elif kind == "artifact" and len(data) >= 3 and data[1] == "id":
            artifacts.extend((target, item) for item in data[2].split(",") if ":" in item)
    code = proc.wait()
    return artifacts, lines, code


def _adopt(
    spec: BuildSpec,
    artifact: str,
    result: BuildResult,
    template: Template,
    environment: Mapping[str, str],
    registry: ImageRegistry,
    commit: str,
    started: datetime,
) -> None:
    """Tag packer's image as relight tags its own, and record it."""
    region, _, image_id = artifact.partition(":")
    result.region, result.image_id, result.status = region, image_id, "built"
    name = spec.build_name or spec.source.name
    try:
        cloud = Cloud(environment, region)
        result.digest = spec.digest
        tags = {
            BUILD_ID_TAG: result.build_id,
            BUILD_NAME_TAG: spec.name,
            BUILD_STATE_TAG: "complete",
            DIGEST_TAG: spec.digest,
            IMAGE_NAME_TAG: name,
        }
        cloud.call("ec2", "CreateTags", Resources=[image_id], Tags=tag_list(tags))
    except CallError as exc:
        result.error = f"packer built {artifact}, but relight could not tag it: {exc}"
    registry.record(
        ImageRecord(
            image_id=image_id,
            name=name,
            region=region,
            build_id=result.build_id,
            build_name=spec.name,
            artifact_id=artifact,
            digest=spec.digest,
            source_image="",
            built_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            git_commit=commit,
            template=template.directory,
            variables=template.public_variables(),
            log="packer",
        )
    )
