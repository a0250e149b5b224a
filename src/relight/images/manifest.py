"""What tools downstream of Packer read: its manifest file and its ``-machine-readable`` lines.

The manifest is Packer's exactly (``{"builds": [...], "last_run_uuid": ...}``; a run appends
its builds to an existing manifest, as the manifest post-processor does), so scripts that pick
``builds[-1].artifact_id`` keep working. Machine-readable lines are ``TIMESTAMP,TARGET,TYPE,
DATA...`` with commas written ``%!(PACKER_COMMA)`` and newlines ``\\n``, as Packer writes them.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["artifact_lines", "machine_line", "write_manifest"]


def machine_line(target: str, kind: str, *data: str, now: float | None = None) -> str:
    stamp = int(time.time() if now is None else now)
    fields = [str(stamp), target, kind, *(_escape(d) for d in data)]
    return ",".join(fields)


def _escape(text: str) -> str:
    return text.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")


def artifact_lines(target: str, region: str, image_id: str, now: float | None = None) -> list[str]:
    """The lines Packer prints for an amazon-ebs artifact."""
    return [
        machine_line(target, "artifact-count", "1", now=now),
        machine_line(target, "artifact", "0", "builder-id", "mitchellh.amazonebs", now=now),
        machine_line(target, "artifact", "0", "id", f"{region}:{image_id}", now=now),
        machine_line(target, "artifact", "0", "string", f"AMIs were created:\n{region}: {image_id}\n", now=now),
        machine_line(target, "artifact", "0", "files-count", "0", now=now),
        machine_line(target, "artifact", "0", "end", now=now),
    ]


def write_manifest(path: str, run_uuid: str, builds: Sequence[Mapping[str, Any]]) -> None:
    """Append ``builds`` (each: name, artifact_id, custom_data) to the manifest at ``path``.

    An existing file that is not a manifest is refused (OSError), never overwritten. The file is
    replaced atomically, so a reader sees the old manifest or the new one."""
    doc: dict[str, Any] = {"builds": [], "last_run_uuid": run_uuid}
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as fh:
                found = json.load(fh)
        except ValueError as exc:
            raise OSError(f"{path} exists and is not a Packer manifest ({exc}); move it away") from None
        if not isinstance(found, dict) or not isinstance(found.get("builds", []), list):
            raise OSError(f"{path} exists and is not a Packer manifest; move it away")
        doc["builds"] = list(found.get("builds", []))
    stamp = int(time.time())
    for build in builds:
        doc["builds"].append(
            {
                "name": build["name"],
                "builder_type": "amazon-ebs",
                "build_time": stamp,
                "files": None,
                "artifact_id": build["artifact_id"],
                "packer_run_uuid": run_uuid,
                "custom_data": dict(build.get("custom_data") or {}) or None,
            }
        )
    doc["last_run_uuid"] = run_uuid
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".manifest-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
