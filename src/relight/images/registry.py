"""The image registry: every build recorded, images promoted to channels, revoked, pruned.

Modelled on HCP Packer: an image *name* (a bucket: the build block's name, else the source's)
has builds (versions); a *channel* (``production``, ``staging``...) of a name points at one
build; a build can be revoked. Each record keeps what made the image: the template digest, the
git commit, the variables (sensitive ones masked), the source image, the build log and times.

The registry is a JSON file (``registry.json`` in the registry directory, beside the state of
the workspace that uses it or in the server's data directory), rewritten atomically under an
``flock``, so concurrent builds and promotions never lose each other's records. The cloud holds
the channel pointers too: promoting writes ``relight:channel:NAME = "true"`` on the image (and
removes it from the image the channel pointed at before), so ``data "relight_image"`` and plain
``data "aws_ami"`` filters find the channel's image with EC2 calls alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

__all__ = ["ChannelMove", "ImageRecord", "ImageRegistry", "Registry", "RegistryError"]


class RegistryError(Exception):
    """A registry operation the user asked for cannot be done (unknown id, revoked image...)."""


@dataclass(frozen=True)
class ChannelMove:
    channel: str
    image_id: str
    previous: str | None
    at: str
    by: str = ""


@dataclass(frozen=True)
class ImageRecord:
    """One build's image. ``status``: built, revoked, pruned."""

    image_id: str
    name: str
    region: str
    build_id: str
    build_name: str
    artifact_id: str
    digest: str
    source_image: str
    built_at: str
    ami_name: str = ""
    git_commit: str = ""
    template: str = ""
    variables: Mapping[str, Any] = field(default_factory=dict)
    log: str = ""
    status: str = "built"
    channels: tuple[str, ...] = ()
    seconds: float = 0.0
    cloud_seconds: float = 0.0
    aws_calls: int = 0

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["channels"] = list(self.channels)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ImageRecord:
        known = {f for f in cls.__dataclass_fields__}
        args = {k: v for k, v in doc.items() if k in known}
        args["channels"] = tuple(args.get("channels") or ())
        return cls(**args)


class ImageRegistry(Protocol):
    """What builds, promotions and the CLI need of a registry: :class:`Registry` (a JSON file,
    the CLI without a server) and ``relight.server.imagestore.SqlRegistry`` (the server's
    database) implement it. ``logs`` and ``locks`` are local directories (build logs, and the
    lock files that tell a running build, see :mod:`relight.images.cleanup`) in both.

    Contract of the writes: each is atomic (all of it or nothing) and safe against concurrent
    writers; :meth:`get` and :meth:`set_channel` raise :class:`RegistryError` for an unknown
    image (by id or ``region:id`` artifact), :meth:`set_channel` also for one not ``built``.
    """

    logs: str
    locks: str

    def images(self, name: str | None = None) -> list[ImageRecord]: ...

    def get(self, image_id: str) -> ImageRecord: ...

    def channel(self, name: str, channel: str) -> ImageRecord | None: ...

    def history(self, name: str, channel: str) -> list[ChannelMove]: ...

    def find_digest(self, digest: str) -> ImageRecord | None: ...

    def record(self, record: ImageRecord) -> None: ...

    def set_channel(self, image_id: str, channel: str, at: str, by: str = "") -> tuple[ImageRecord, str | None]: ...

    def set_status(self, image_id: str, status: str) -> ImageRecord: ...

    def log_path(self, build_id: str) -> str: ...


class Registry:
    """The registry in ``directory`` (created on first write)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, "registry.json")
        self.logs = os.path.join(directory, "logs")
        self.locks = os.path.join(directory, "builds")

    # -- reading -------------------------------------------------------------------------------
    def images(self, name: str | None = None) -> list[ImageRecord]:
        """Records, oldest first (of ``name`` only when given)."""
        doc = self._read()
        out = [ImageRecord.from_json(r) for r in doc.get("images", [])]
        return [r for r in out if name is None or r.name == name]

    def get(self, image_id: str) -> ImageRecord:
        for record in self.images():
            if record.image_id == image_id or record.artifact_id == image_id:
                return record
        raise RegistryError(f"no image {image_id} in the registry ({self.path})")

    def channel(self, name: str, channel: str) -> ImageRecord | None:
        for record in self.images(name):
            if channel in record.channels:
                return record
        return None

    def history(self, name: str, channel: str) -> list[ChannelMove]:
        doc = self._read()
        moves = [ChannelMove(**m) for m in doc.get("channel_history", {}).get(f"{name}/{channel}", [])]
        return moves

    def find_digest(self, digest: str) -> ImageRecord | None:
        for record in reversed(self.images()):
            if record.digest == digest and record.status == "built":
                return record
        return None

    # -- writing -------------------------------------------------------------------------------
    def record(self, record: ImageRecord) -> None:
        with self._update() as doc:
            images = [r for r in doc.setdefault("images", []) if r.get("image_id") != record.image_id]
            images.append(record.to_json())
            doc["images"] = images

    def set_channel(self, image_id: str, channel: str, at: str, by: str = "") -> tuple[ImageRecord, str | None]:
        """Point ``channel`` of the image's name at it; returns it and the image it replaced."""
        with self._update() as doc:
            records = [ImageRecord.from_json(r) for r in doc.get("images", [])]
            target = next((r for r in records if image_id in (r.image_id, r.artifact_id)), None)
            if target is None:
                raise RegistryError(f"no image {image_id} in the registry ({self.path})")
            if target.status != "built":
                raise RegistryError(f"{target.image_id} is {target.status}: it cannot be promoted")
            previous = next((r.image_id for r in records if r.name == target.name and channel in r.channels), None)
            updated = []
            for r in records:
                if r.name == target.name and channel in r.channels and r.image_id != target.image_id:
                    r = replace(r, channels=tuple(c for c in r.channels if c != channel))
                if r.image_id == target.image_id and channel not in r.channels:
                    r = replace(r, channels=(*r.channels, channel))
                    target = r
                updated.append(r.to_json())
            doc["images"] = updated
            move = ChannelMove(channel, target.image_id, previous if previous != target.image_id else None, at, by)
            doc.setdefault("channel_history", {}).setdefault(f"{target.name}/{channel}", []).append(asdict(move))
            return target, move.previous

    def set_status(self, image_id: str, status: str) -> ImageRecord:
        """Mark ``revoked`` (its channels are dropped) or ``pruned``."""
        with self._update() as doc:
            out: ImageRecord | None = None
            updated = []
            for r in (ImageRecord.from_json(x) for x in doc.get("images", [])):
                if image_id in (r.image_id, r.artifact_id):
                    r = replace(r, status=status, channels=())
                    out = r
                updated.append(r.to_json())
            if out is None:
                raise RegistryError(f"no image {image_id} in the registry ({self.path})")
            doc["images"] = updated
            return out

    def log_path(self, build_id: str) -> str:
        return os.path.join(self.logs, f"{build_id}.log")

    # -- the file ------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"the image registry {self.path} cannot be read: {exc}") from None
        return doc if isinstance(doc, dict) else {}

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        os.makedirs(self.directory, exist_ok=True)
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            doc = self._read()
            doc.setdefault("version", 1)
            yield doc
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".registry-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
