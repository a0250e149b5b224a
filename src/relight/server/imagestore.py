"""The image registry in the server's database (SQLite or PostgreSQL), behind the interface the
CLI's JSON-file registry has (:class:`relight.images.registry.ImageRegistry`).

Three tables (``server/schema.py``): ``images`` (one row per build's image, the record as JSON
plus the columns queries use), ``image_channels`` (which image each channel of a name points
at: at most one, by its primary key) and ``image_channel_moves`` (every move, for
``--downgrade`` and people). Each write is one transaction of :meth:`Database.write`, so a
promotion racing another one, or a build recording its image, never loses the other's rows;
promotions take the claiming lock (serialised on PostgreSQL as on SQLite). Build logs and the
lock files of running builds stay in a local directory (``directory/logs``,
``directory/builds``), as with the file registry: a log is named by the record.
"""

from __future__ import annotations

import json
import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from relight.images.registry import ChannelMove, ImageRecord, RegistryError
from relight.server.db import Database
from relight.server.schema import image_channel_moves, image_channels, images

__all__ = ["SqlRegistry"]


class SqlRegistry:
    """The registry in ``db``; build logs and build locks under ``directory``."""

    def __init__(self, db: Database, directory: str) -> None:
        self.db = db
        self.directory = directory
        self.logs = os.path.join(directory, "logs")
        self.locks = os.path.join(directory, "builds")

    # -- reading -------------------------------------------------------------------------------
    def images(self, name: str | None = None) -> list[ImageRecord]:
        """Records, oldest first (of ``name`` only when given)."""
        query = sa.select(images.c.image_id, images.c.doc).order_by(images.c.seq)
        if name is not None:
            query = query.where(images.c.name == name)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            channels = self._channels(conn)
        return [self._record(r.doc, channels.get(r.image_id, ())) for r in rows]

    def get(self, image_id: str) -> ImageRecord:
        for record in self.images():
            if image_id in (record.image_id, record.artifact_id):
                return record
        raise RegistryError(f"no image {image_id} in the server's image registry")

    def channel(self, name: str, channel: str) -> ImageRecord | None:
        with self.db.read() as conn:
            found = conn.execute(sa.select(image_channels.c.image_id).where(
                image_channels.c.name == name, image_channels.c.channel == channel)).scalar()
        return self.get(found) if found is not None else None

    def history(self, name: str, channel: str) -> list[ChannelMove]:
        m = image_channel_moves.c
        with self.db.read() as conn:
            rows = conn.execute(sa.select(image_channel_moves).where(m.name == name, m.channel == channel)
                                .order_by(m.id)).all()
        return [ChannelMove(r.channel, r.image_id, r.previous, r.at, r.by) for r in rows]

    def find_digest(self, digest: str) -> ImageRecord | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(images.c.image_id).where(images.c.digest == digest,
                                                                  images.c.status == "built")
                               .order_by(images.c.seq.desc()).limit(1)).first()
        return self.get(row.image_id) if row is not None else None

    def log_path(self, build_id: str) -> str:
        return os.path.join(self.logs, f"{build_id}.log")

    # -- writing -------------------------------------------------------------------------------
    def record(self, record: ImageRecord) -> None:
        """Insert or replace the record of ``record.image_id`` (its channels are kept as they are)."""
        values = {"name": record.name, "status": record.status, "digest": record.digest,
                  "built_at": record.built_at, "doc": _doc(record)}
        with self.db.write() as conn:
            known = conn.execute(sa.select(images.c.seq).where(images.c.image_id == record.image_id)).scalar()
            if known is not None:
                conn.execute(sa.update(images).where(images.c.image_id == record.image_id).values(**values))
                return
            last = conn.execute(sa.select(sa.func.max(images.c.seq))).scalar()
            conn.execute(sa.insert(images).values(image_id=record.image_id, seq=int(last or 0) + 1, **values))

    def set_channel(self, image_id: str, channel: str, at: str, by: str = "") -> tuple[ImageRecord, str | None]:
        """Point ``channel`` of the image's name at it; returns it and the image it replaced."""
        with self.db.write(claim=True) as conn:
            target = self._find(conn, image_id)
            if target.status != "built":
                raise RegistryError(f"{target.image_id} is {target.status}: it cannot be promoted")
            c = image_channels.c
            where = sa.and_(c.name == target.name, c.channel == channel)
            before = conn.execute(sa.select(c.image_id).where(where)).scalar()
            conn.execute(sa.delete(image_channels).where(where))
            conn.execute(sa.insert(image_channels).values(name=target.name, channel=channel,
                                                          image_id=target.image_id))
            previous = before if before != target.image_id else None
            conn.execute(sa.insert(image_channel_moves).values(name=target.name, channel=channel,
                                                               image_id=target.image_id, previous=previous,
                                                               at=at, by=by[:100]))
            channels = self._channels(conn).get(target.image_id, ())
        return _with_channels(target, channels), previous

    def set_status(self, image_id: str, status: str) -> ImageRecord:
        """Mark ``revoked`` (its channels are dropped) or ``pruned``."""
        with self.db.write(claim=True) as conn:
            target = self._find(conn, image_id)
            updated = _with_channels(target, ())
            updated = ImageRecord.from_json({**updated.to_json(), "status": status})
            conn.execute(sa.delete(image_channels).where(image_channels.c.image_id == target.image_id))
            conn.execute(sa.update(images).where(images.c.image_id == target.image_id)
                         .values(status=status, doc=_doc(updated)))
        return updated

    # -- rows ----------------------------------------------------------------------------------
    @staticmethod
    def _channels(conn: Connection) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for row in conn.execute(sa.select(image_channels.c.image_id, image_channels.c.channel)
                                .order_by(image_channels.c.channel)):
            out.setdefault(row.image_id, []).append(row.channel)
        return {k: tuple(v) for k, v in out.items()}

    def _find(self, conn: Connection, image_id: str) -> ImageRecord:
        row = conn.execute(sa.select(images.c.image_id, images.c.doc).where(images.c.image_id == image_id)).first()
        if row is None:  # by artifact id ("us-east-1:ami-...")
            region, _, bare = image_id.rpartition(":")
            if region:
                row = conn.execute(sa.select(images.c.image_id, images.c.doc)
                                   .where(images.c.image_id == bare)).first()
        if row is None:
            raise RegistryError(f"no image {image_id} in the server's image registry")
        return self._record(row.doc, self._channels(conn).get(row.image_id, ()))

    @staticmethod
    def _record(doc: str, channels: tuple[str, ...]) -> ImageRecord:
        parsed: dict[str, Any] = json.loads(doc)
        parsed["channels"] = list(channels)
        return ImageRecord.from_json(parsed)


def _doc(record: ImageRecord) -> str:
    doc = record.to_json()
    doc.pop("channels", None)  # the image_channels table is the truth about channels
    return json.dumps(doc, sort_keys=True, default=str)


def _with_channels(record: ImageRecord, channels: tuple[str, ...]) -> ImageRecord:
    return ImageRecord.from_json({**record.to_json(), "channels": list(channels)})
