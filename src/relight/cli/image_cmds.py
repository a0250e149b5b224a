"""``relight image build|list|promote|revoke|prune|gc``: the image registry's commands.

The registry lives in ``--registry DIR`` (default ``$RELIGHT_IMAGE_REGISTRY``, else
``.relight/images`` in the working directory, beside the state of a workspace run from there).
A build stops cleanly on Ctrl-C or SIGTERM: the build in progress removes what it made, then
the command exits 130. Exit codes: 0 every build succeeded (or was up to date), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from relight.cli.args import parse_duration
from relight.cli.context import directory_of, var_inputs
from relight.cli.views import SourceFiles, print_diagnostics
from relight.images import (
    BuildArtifact,
    BuildOutput,
    BuildRequest,
    BuildStep,
    CallError,
    Cloud,
    Registry,
    RegistryError,
    artifact_lines,
    collect_garbage,
    machine_line,
    promote,
    prune,
    revoke,
    run_builds,
)
from relight.runs import Event

__all__ = ["cmd_image", "registry_dir"]


def registry_dir(args: argparse.Namespace) -> str:
    given = getattr(args, "registry", None) or os.environ.get("RELIGHT_IMAGE_REGISTRY")
    base = directory_of(args)
    if given:
        return given if os.path.isabs(given) else os.path.join(base, given)
    return os.path.join(base, ".relight", "images")


def cmd_image(args: argparse.Namespace) -> int:
    command = getattr(args, "image_command", None)
    handlers = {"build": _build, "list": _list, "promote": _promote, "revoke": _revoke, "prune": _prune, "gc": _gc}
    if command not in handlers:
        print("usage: relight image build|list|promote|revoke|prune|gc (relight image -h)", file=sys.stderr)
        return 1
    try:
        return handlers[command](args)
    except (RegistryError, CallError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the registry's directory or files (permissions, a full disk)
        print(f"Error: the image registry: {exc}. Fix its directory (-registry), then run the command again.",
              file=sys.stderr)
        return 1


class _Printer:
    """Build events as Packer prints them (``==> name: ...``), or its machine-readable lines."""

    def __init__(self, machine: bool) -> None:
        self.machine = machine
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            for line in self._lines(event):
                print(line, flush=True)

    def _lines(self, event: Event) -> Iterator[str]:
        if isinstance(event, BuildStep):
            text = f"==> {event.build}: {event.message}"
            yield machine_line("", "ui", "say", text) if self.machine else text
        elif isinstance(event, BuildOutput):
            text = f"    {event.build}: {event.line}"
            yield machine_line("", "ui", "message", text) if self.machine else text
        elif isinstance(event, BuildArtifact) and self.machine:
            region, _, image = event.artifact_id.partition(":")
            yield from artifact_lines(event.build, region, image)


@contextmanager
def _cancel_on_signals() -> Iterator[threading.Event]:
    cancel = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        if not cancel.is_set():
            print(
                "\nStopping: cleaning up what the build made (this can take a minute)...", file=sys.stderr, flush=True
            )
        cancel.set()

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancel
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _build(args: argparse.Namespace) -> int:
    base = directory_of(args)
    directory = args.directory if os.path.isabs(args.directory) else os.path.join(base, args.directory)
    request = BuildRequest(
        directory=directory,
        registry=registry_dir(args),
        base=base,
        variables=var_inputs(args),
        only=_names(args.only),
        except_=_names(args.except_),
        force=args.force,
        on_error=args.on_error,
        with_packer=args.with_packer,
    )
    printer = _Printer(args.machine_readable)
    with _cancel_on_signals() as cancel:
        run = run_builds(request, dict(os.environ), printer, cancel)
    print_diagnostics(run.diagnostics, SourceFiles(directory, run.sources), sys.stderr.isatty())
    _summary(run.results, args.machine_readable)
    if cancel.is_set():
        return 130
    return 0 if run.ok else 1


def _names(given: list[str]) -> tuple[str, ...]:
    """``-only``/``-except`` as Packer takes them: comma-separated, and repeatable."""
    return tuple(n.strip() for g in given for n in g.split(",") if n.strip())


def _summary(results: list, machine: bool) -> None:  # type: ignore[type-arg]
    if not results:
        return
    if machine:  # Packer's way: the error as a ui,error line (the artifacts were printed already)
        for r in results:
            if not r.ok or r.error:
                print(machine_line("", "ui", "error", f"Build '{r.name}' errored: {r.error}"), flush=True)
        return
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"Build '{r.name}' {'was canceled' if r.status == 'canceled' else 'errored'}: {r.error}", file=sys.stderr)
        for left in r.left_behind:
            print(f"  left behind: {left} (relight image gc removes it)", file=sys.stderr)
    good = [r for r in results if r.ok]
    if good:
        print("\n==> Builds finished. The artifacts of successful builds are:")
    for r in good:
        note = " (up to date: not rebuilt)" if r.status == "up-to-date" else ""
        print(f"--> {r.name}: AMIs were created:\n{r.region}: {r.image_id}{note}")
        if r.error:
            print(f"Warning: {r.name}: {r.error}", file=sys.stderr)
        if r.seconds:
            calls = sum(r.calls.values())
            print(f"    took {r.seconds:.1f}s ({r.cloud_seconds:.1f}s waiting on the cloud), {calls} AWS calls")


def _list(args: argparse.Namespace) -> int:
    records = Registry(registry_dir(args)).images(args.name)
    if args.json:
        print(json.dumps([r.to_json() for r in records], indent=2))
        return 0
    if not records:
        print("No images recorded yet (relight image build DIR).")
        return 0
    print(f"{'IMAGE':<24} {'NAME':<12} {'STATUS':<8} {'CHANNELS':<18} {'BUILT':<21} {'COMMIT':<12} AMI NAME")
    for r in records:
        print(
            f"{r.image_id:<24} {r.name:<12} {r.status:<8} {','.join(r.channels) or '-':<18} {r.built_at:<21} "
            f"{(r.git_commit[:10] or '-'):<12} {r.ami_name}"
        )
    return 0


def _cloud(args: argparse.Namespace, image_id: str | None = None) -> Cloud:
    """The cloud of ``-region`` (else AWS_REGION); for one image, the region it was built in
    (so an unknown id is said before a missing region)."""
    region = getattr(args, "region", None)
    if image_id is not None and not region:
        region = Registry(registry_dir(args)).get(image_id).region or None
    return Cloud(dict(os.environ), region)


def _promote(args: argparse.Namespace) -> int:
    cloud, registry = _cloud(args, args.image_id), Registry(registry_dir(args))
    record, previous = promote(cloud, registry, args.image_id, args.channel, os.environ.get("USER", ""))
    was = f" (it pointed at {previous})" if previous else ""
    print(f"{record.name}/{args.channel} now points at {record.image_id}{was}.")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    record = revoke(_cloud(args, args.image_id), Registry(registry_dir(args)), args.image_id)
    print(f"{record.image_id} ({record.name}) is revoked: no channel points at it, data sources refuse it.")
    return 0


def _prune(args: argparse.Namespace) -> int:
    report = prune(_cloud(args), Registry(registry_dir(args)), args.keep, args.name, args.dry_run)
    verb = "Would deregister" if args.dry_run else "Deregistered"
    for image_id, snapshots in report.removed:
        print(f"{verb} {image_id}" + (f" and deleted {', '.join(snapshots)}" if snapshots else ""))
    print(
        f"{len(report.removed)} pruned, {len(report.kept)} kept "
        f"(the {args.keep} newest per name, and every promoted one)."
    )
    return 0


def _gc(args: argparse.Namespace) -> int:
    try:
        older = parse_duration(args.older_than)
    except ValueError as exc:
        print(f"Error: invalid --older-than: {exc}", file=sys.stderr)
        return 1
    registry = Registry(registry_dir(args))
    report = collect_garbage(_cloud(args), registry.locks, older, args.dry_run)
    for item in report.removed:
        print(("Would remove " if args.dry_run else "Removed ") + item)
    for build in report.kept_running:
        print(
            f"Kept the objects of build {build}: it is still running "
            f"(or started less than {args.older_than} ago elsewhere)."
        )
    for failure in report.failures:
        print(f"Could not remove {failure}", file=sys.stderr)
    if not report.removed and not report.failures:
        print("Nothing left behind by image builds.")
    return 1 if report.failures else 0
