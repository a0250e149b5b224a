"""GitHub webhooks: verify the signature, parse, decide what to run (a pure function), record.

The handler (``app.py``) does exactly: verify -> parse -> :func:`decide` -> record the delivery
and queue its runs in one transaction -> answer. Nothing slow happens before the answer: the
checkout, the plan and every call back to GitHub happen in the run. A delivery id seen before
(GitHub's redelivery reuses ``X-GitHub-Delivery``) is answered without queueing anything.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from relight.server.config import WorkspaceSettings
from relight.server.store import NewRun

__all__ = ["PR_ACTIONS", "Decision", "decide", "verify_signature"]

PR_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})
_ZERO_SHA = "0" * 40
_PUSH_COMMITS_LISTED = 20  # GitHub lists at most 20 commits in a push payload


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is ``sha256=`` + HMAC-SHA256(secret, body), compared in constant time.

    An empty secret never verifies: verification cannot be turned off by leaving it out.
    """
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


@dataclass(frozen=True, slots=True)
class Decision:
    """What one delivery leads to: runs to queue, PRs whose pending plans to cancel, and why."""

    runs: tuple[NewRun, ...] = ()
    cancel: tuple[tuple[str, int], ...] = ()  # (workspace, pr number)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        return "; ".join(self.notes) or "nothing to do"


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _text(doc: Any, *path: str) -> str:
    value = _get(doc, *path)
    return value if isinstance(value, str) else ""


def decide(event: str, payload: Mapping[str, Any], workspaces: Sequence[WorkspaceSettings],
           delivery_id: str | None = None) -> Decision:
    """What a delivery of ``event`` with ``payload`` triggers in ``workspaces`` (all configured ones).

    - ``ping``: nothing.
    - ``pull_request`` opened/reopened/synchronize/ready_for_review against a workspace's branch:
      a speculative plan of the head commit per workspace of the repository (whether the PR
      touches the workspace's ``dir`` is checked in the run, with the PR's file list), and an
      image build (kind ``image``, operation ``build``) per template directory in those
      workspaces' ``images`` (once per directory; whether the PR changes it is checked in the
      run too); a newer push cancels that PR's plans still pending and its image and rehearsal
      runs pending or running. ``closed``: cancel the same. (A rehearsal is queued by the PR's
      runs themselves once its plan and builds are done: see :mod:`.imagepolicy`.)
    - ``push`` to a workspace's branch: per workspace, an image promotion (kind ``image``,
      operation ``promote``) per ``images`` directory the pushed commits touch (which queues
      the workspace's plan once its promotions are done), else an apply-kind run when they
      touch its ``dir``; every directory and workspace of the repository when the payload
      cannot tell (more than 20 commits, or no file lists). Branch deletions and tags: nothing.
    - Anything else: nothing, with a note saying why.
    """
    repo = _text(payload, "repository", "full_name")
    if event == "ping":
        return Decision(notes=(f"ping from hook {_get(payload, 'hook_id') or '?'}",))
    if event not in ("pull_request", "push"):
        return Decision(notes=(f"{event or 'an unnamed'} event: not used by relight",))
    targets = [w for w in workspaces if w.repo.lower() == repo.lower()]
    if not targets:
        return Decision(notes=(f"no workspace is configured for repository {repo or '(none)'}",))
    if event == "pull_request":
        return _pull_request(payload, targets, delivery_id)
    return _push(payload, targets, delivery_id)


def _pull_request(payload: Mapping[str, Any], targets: list[WorkspaceSettings], delivery_id: str | None) -> Decision:
    action = _text(payload, "action")
    number = _get(payload, "number")
    if not isinstance(number, int):
        number = _get(payload, "pull_request", "number")
    if not isinstance(number, int):
        return Decision(notes=("pull_request without a number: ignored",))
    base_ref = _text(payload, "pull_request", "base", "ref")
    mine = [w for w in targets if w.branch == base_ref]
    if action == "closed":
        merged = bool(_get(payload, "pull_request", "merged"))
        return Decision(
            cancel=tuple((w.name, number) for w in mine),
            notes=(f"pull request #{number} closed ({'merged: the push plans it' if merged else 'not merged'})",),
        )
    if action not in PR_ACTIONS:
        return Decision(notes=(f"pull request #{number} {action or 'event'}: nothing to plan",))
    if not mine:
        return Decision(notes=(f"pull request #{number} targets {base_ref!r}, no workspace's branch",))
    sha = _text(payload, "pull_request", "head", "sha")
    clone_url = _text(payload, "repository", "clone_url")
    if not sha or not clone_url:
        return Decision(notes=(f"pull request #{number} without head sha or clone_url: ignored",))
    plans = tuple(
        NewRun(
            workspace=w.name,
            kind="speculative",
            commit_sha=sha,
            ref=_text(payload, "pull_request", "head", "ref"),
            clone_url=clone_url,
            trigger=f"pull request #{number} ({action})",
            pr_number=number,
            base_sha=_text(payload, "pull_request", "base", "sha") or None,
            delivery_id=delivery_id,
        )
        for w in mine
    )
    owners: dict[str, str] = {}
    for w in mine:
        for directory in w.images:
            owners.setdefault(directory, w.name)
    builds = tuple(
        NewRun(workspace=owner, kind="image", operation="build", commit_sha=sha,
               ref=_text(payload, "pull_request", "head", "ref"), clone_url=clone_url,
               trigger=f"pull request #{number} ({action})", pr_number=number,
               base_sha=_text(payload, "pull_request", "base", "sha") or None, delivery_id=delivery_id,
               image_dir=directory)
        for directory, owner in owners.items()
    )
    notes = [f"pull request #{number} {action}: speculative plan in {', '.join(w.name for w in mine)}"]
    if builds:
        notes.append(f"image builds of {', '.join(owners)} (if the pull request changes them)")
    return Decision(runs=plans + builds, cancel=tuple((w.name, number) for w in mine), notes=tuple(notes))


def _push(payload: Mapping[str, Any], targets: list[WorkspaceSettings], delivery_id: str | None) -> Decision:
    ref = _text(payload, "ref")
    after = _text(payload, "after")
    if not ref.startswith("refs/heads/"):
        return Decision(notes=(f"push to {ref or '(no ref)'}: not a branch",))
    branch = ref.removeprefix("refs/heads/")
    mine = [w for w in targets if w.branch == branch]
    if not mine:
        return Decision(notes=(f"push to {branch}: no workspace follows that branch",))
    if _get(payload, "deleted") is True or not after or after == _ZERO_SHA:
        return Decision(notes=(f"branch {branch} deleted: nothing to plan",))
    touched = _touched_files(payload)
    chosen = [w for w in mine if touched is None or any(w.touches(p) for p in touched)]
    skipped = [w.name for w in mine if w not in chosen]
    clone_url = _text(payload, "repository", "clone_url")
    new: list[NewRun] = []
    planned: list[str] = []
    promoted: list[str] = []
    for w in chosen:
        dirs = [d for d in w.images if touched is None or any(w.image_dir_of(p) == d for p in touched)]
        for directory in dirs:
            new.append(NewRun(workspace=w.name, kind="image", operation="promote", commit_sha=after, ref=branch,
                              clone_url=clone_url, trigger=f"push to {branch}", delivery_id=delivery_id,
                              image_dir=directory))
            promoted.append(f"{directory} to {w.name}'s {w.channel}")
        if not dirs:
            new.append(NewRun(workspace=w.name, kind="apply", commit_sha=after, ref=branch, clone_url=clone_url,
                              trigger=f"push to {branch}", delivery_id=delivery_id))
            planned.append(w.name)
    notes = []
    if planned:
        notes.append(f"push to {branch} ({after[:12]}): plan in {', '.join(planned)}")
    if promoted:
        notes.append(f"push to {branch} ({after[:12]}): promote {', '.join(promoted)}, then plan")
    if skipped:
        notes.append(f"not planned, no file changed in their dir: {', '.join(skipped)}")
    return Decision(runs=tuple(new), notes=tuple(notes))


def _touched_files(payload: Mapping[str, Any]) -> set[str] | None:
    """Files the pushed commits add, change or remove; None when the payload cannot tell."""
    commits = _get(payload, "commits")
    if not isinstance(commits, list) or not commits or len(commits) >= _PUSH_COMMITS_LISTED:
        return None
    files: set[str] = set()
    for commit in commits:
        for key in ("added", "modified", "removed"):
            names = _get(commit, key)
            if not isinstance(names, list):
                return None
            files.update(n for n in names if isinstance(n, str))
    return files
