"""When a pull request changes the image a workspace uses, and so is rehearsed: pure decisions.

A pull request's runs at one commit are its speculative plan per workspace and its image builds
(one per template directory). When the last of them that concerns a workspace ends, it asks
:func:`rehearsal_decision` whether the workspace's image changed, with what they found:

1. **The plan changes an image.** The PR's plan updates or replaces an ``aws_instance`` whose
   ``ami`` changes (:func:`image_changes`, from the plan's JSON form: ``before.ami`` differs from
   ``after.ami``, or ``after.ami`` is unknown until apply). The rehearsal boots the PR's own
   configuration as it resolves (the candidate image is what the merge would roll out).
2. **A build made an image the workspace does not run yet.** A build in the PR of one of the
   workspace's ``images`` directories ended with an image (``built``, or ``up-to-date``: built
   by an earlier push of the PR) that is not the one the workspace's ``channel`` points at. The
   rehearsal boots that image (``relight rehearse -image``), on the PR's configuration: the
   image the merge will promote to the channel the configuration reads.
3. Otherwise nothing is rehearsed: the workspace keeps its image (a failed plan and failed
   builds say so in their own statuses).

Rule 1 wins over rule 2 (the configuration names the image it wants). With several new images
from rule 2, the first directory in the workspace's ``images`` order is rehearsed, and the
decision says which. :func:`waiting_on` says which of the PR's runs a rehearsal still waits
for. Tables of cases: ``tests/server/test_imagepolicy.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BuiltImage", "ImageChange", "RehearsalDecision", "image_changes", "rehearsal_decision",
           "waiting_on"]

_NODE_TYPES = frozenset({"aws_instance"})
_CHANGING = frozenset({"update", "create-delete", "delete-create"})


@dataclass(frozen=True, slots=True)
class ImageChange:
    """A node the plan moves to another image; ``after`` None: known only at apply time."""

    address: str
    before: str
    after: str | None


@dataclass(frozen=True, slots=True)
class BuiltImage:
    """What one image build of the PR ended with. ``current``: the image the workspace's
    channel points at (None: the channel points nowhere yet)."""

    image_dir: str
    name: str
    image_id: str
    status: str  # built | up-to-date | failed | canceled
    current: str | None = None


@dataclass(frozen=True, slots=True)
class RehearsalDecision:
    """``image`` None with ``rehearse``: boot what the PR's configuration resolves."""

    rehearse: bool
    image: str | None
    reason: str


def image_changes(plan_json: Mapping[str, Any]) -> list[ImageChange]:
    """The nodes whose ``ami`` the plan changes (updates and replacements only)."""
    out: list[ImageChange] = []
    changes = plan_json.get("resource_changes")
    for change in changes if isinstance(changes, list) else []:
        if not isinstance(change, Mapping) or change.get("type") not in _NODE_TYPES:
            continue
        body = change.get("change")
        if not isinstance(body, Mapping) or "-".join(body.get("actions") or ()) not in _CHANGING:
            continue
        before, after = body.get("before"), body.get("after")
        old = before.get("ami") if isinstance(before, Mapping) else None
        unknown = body.get("after_unknown")
        new = after.get("ami") if isinstance(after, Mapping) else None
        if isinstance(unknown, list) and any(p in ("ami", ["ami"]) for p in unknown):
            new = None
        elif not isinstance(new, str) or new == old:
            continue
        out.append(ImageChange(str(change.get("address", "")), old if isinstance(old, str) else "", new))
    return out


def rehearsal_decision(changes: Sequence[ImageChange], builds: Sequence[BuiltImage],
                       images: Sequence[str]) -> RehearsalDecision:
    """Whether to rehearse a workspace whose ``images`` directories are ``images``, given what its
    PR's plan changes and what the PR's builds ended with (see the module docstring)."""
    if changes:
        first = changes[0]
        to = first.after or "(known after apply)"
        more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
        return RehearsalDecision(True, None, f"the plan moves {first.address} from {first.before or '?'} to {to}"
                                 f"{more}")
    order = {d: n for n, d in enumerate(images)}
    fresh = sorted((b for b in builds if b.image_dir in order and b.status in ("built", "up-to-date")
                    and b.image_id and b.image_id != b.current), key=lambda b: order[b.image_dir])
    if fresh:
        first_build = fresh[0]
        others = f"; {len(fresh) - 1} other new image(s) not rehearsed" if len(fresh) > 1 else ""
        return RehearsalDecision(True, first_build.image_id, f"the pull request built {first_build.name} "
                                 f"{first_build.image_id} from {first_build.image_dir}{others}")
    return RehearsalDecision(False, None, "the image the workspace uses does not change")


def waiting_on(siblings: Sequence[Mapping[str, Any]], workspace: str, images: Sequence[str]) -> list[int]:
    """Of a PR's runs at one commit (``id``, ``workspace``, ``kind``, ``image_dir``, ``final``),
    the ones a rehearsal of ``workspace`` still waits for: its plan and the builds of its images."""
    return [
        int(s["id"]) for s in siblings
        if not s["final"] and (
            (s["kind"] == "speculative" and s["workspace"] == workspace)
            or (s["kind"] == "image" and s.get("image_dir") in images)
        )
    ]
