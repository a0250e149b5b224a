"""``relight image build``: a template directory in, images out, recorded and reported.

:func:`run_builds` loads the template, runs each selected build (one after the other; Packer
runs them in parallel), writes the manifest of each manifest post-processor, and records every
new image in the registry. With ``with_packer`` the real ``packer`` binary builds instead
(:mod:`relight.images.packer`) and its artifacts are recorded and tagged the same way.

Contract: always returns a :class:`BuildRun`; template mistakes are diagnostics with file:line;
a failed build is a result with its error (its objects removed, see :mod:`.builder`); one
failing build does not stop the others (as Packer).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Mapping

from relight.images.builder import BuildOptions, BuildResult, build
from relight.images.manifest import write_manifest
from relight.images.packer import run_packer
from relight.images.registry import ImageRegistry, Registry
from relight.images.request import BuildRequest, BuildRun, git_commit
from relight.images.template import BuildSpec, Template, load_template
from relight.lang import FilePolicy
from relight.runs import EventSink, ListSink

__all__ = ["BuildRequest", "BuildRun", "git_commit", "run_builds"]  # the first three from .request


def run_builds(
    request: BuildRequest,
    environment: Mapping[str, str],
    sink: EventSink | None = None,
    cancel: threading.Event | None = None,
    step_hook: Callable[[str, str], None] | None = None,
    registry: ImageRegistry | None = None,
    git_commit_id: str | None = None,
    on_template: Callable[[Template], None] | None = None,
) -> BuildRun:
    """See the module docstring. ``cancel`` (set by the shell on Ctrl-C/SIGTERM) stops every
    build at its next step or wait, after which it cleans up. ``registry`` (default: the JSON
    registry in ``request.registry``) records the images: the server passes its database's.
    ``git_commit_id`` is the commit to record (default: asked of git in the template's folder;
    the server's checkouts have no ``.git``). ``on_template`` is told the loaded template before
    any build starts."""
    sink = sink or ListSink()
    cancel = cancel or threading.Event()
    out = BuildRun()
    given = [(k, v if k == "var" or os.path.isabs(v) else os.path.join(request.base, v)) for k, v in request.variables]
    template, diags = load_template(request.directory, given, environment, FilePolicy.unconfined())
    out.diagnostics.extend(diags)
    out.template = template
    if template is None:
        return out
    out.sources = {os.path.relpath(p, template.directory): t for p, t in template.files.items()}
    if on_template is not None:
        on_template(template)
    builds = template.select(request.only, request.except_)
    if not builds:
        out.diagnostics.error(
            "No builds selected", f"-only {list(request.only)} / -except {list(request.except_)} matched none."
        )
        return out
    if request.with_packer:

        return run_packer(request, template, builds, environment, sink, cancel, out)
    registry = registry if registry is not None else Registry(request.registry)
    options = BuildOptions(
        force=request.force,
        on_error=request.on_error,
        run_uuid=str(uuid.uuid4()),
        git_commit=git_commit(template.directory) if git_commit_id is None else git_commit_id,
        template=template.directory,
        variables=template.public_variables(),
        step_hook=step_hook,
    )
    for spec in builds:
        if cancel.is_set():
            break
        result = build(spec, dict(environment), registry, sink, options, cancel)
        out.results.append(result)
        if result.ok:
            _manifests(request, spec, result, options.run_uuid, out)
    return out


def _manifests(request: BuildRequest, spec: BuildSpec, result: BuildResult, run_uuid: str, out: BuildRun) -> None:
    for post in spec.post_processors:
        path = post.output if os.path.isabs(post.output) else os.path.join(request.base, post.output)
        entry = {"name": spec.source.name, "artifact_id": result.artifact_id, "custom_data": post.custom_data}
        try:
            write_manifest(path, run_uuid, [entry])
        except OSError as exc:
            out.diagnostics.error("Cannot write the manifest", f"{path}: {exc}.", post.range)
            continue
        out.manifests.append(path)
