"""Users, API tokens (stored as SHA-256 digests only) and the audit log.

A token is ``rlt_`` plus 32 random bytes (URL-safe base64): it is shown once, when created, and
only its digest is stored, so a copy of the database does not hand out tokens. Looking a token
up compares digests through the database's unique index (the digest of a guess reveals nothing
about the stored ones). Users are GitHub logins (signed in with GitHub) or local users made by
``relight server token create USER``; approvers in a workspace name either.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from relight.server.db import Database
from relight.server.schema import api_tokens, audit_log, users
from relight.server.store import iso, now

__all__ = ["TOKEN_PREFIX", "Accounts", "AuditEntry"]

TOKEN_PREFIX = "rlt_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    workspace: str | None
    run_id: int | None
    plan_digest: str | None
    remote: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "workspace": self.workspace,
            "run_id": self.run_id,
            "plan_digest": self.plan_digest,
            "remote": self.remote,
            "detail": self.detail,
        }


class Accounts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_user(self, login: str, github_id: int | None = None) -> int:
        """The user's id, creating the user on first sight."""
        with self.db.write() as conn:
            uid = conn.execute(sa.select(users.c.id).where(users.c.login == login)).scalar()
            if uid is not None:
                if github_id is not None:
                    conn.execute(sa.update(users).where(users.c.id == uid).values(github_id=github_id))
                return int(uid)
            key = conn.execute(sa.insert(users).values(login=login, github_id=github_id, created_at=now()))
            assert key.inserted_primary_key is not None
            return int(key.inserted_primary_key[0])

    def create_token(self, login: str) -> str:
        """A new API token for ``login`` (created if needed); returned once, stored hashed."""
        uid = self.ensure_user(login)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute(sa.insert(api_tokens).values(user_id=uid, token_hash=_digest(token), created_at=now(),
                                                      revoked=False))
        return token

    def authenticate(self, token: str) -> str | None:
        """The login owning ``token``, or None for an unknown or revoked one."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = _digest(token)
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(api_tokens.c.id, users.c.login)
                .join(users, users.c.id == api_tokens.c.user_id)
                .where(api_tokens.c.token_hash == digest, api_tokens.c.revoked.is_(False))
            ).first()
            if row is None:
                return None
            conn.execute(sa.update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now()))
            return str(row.login)

    # -- audit -------------------------------------------------------------------------------

    def audit(self, actor: str, action: str, remote: str, *, workspace: str | None = None,
              run_id: int | None = None, plan_digest: str | None = None,
              detail: Mapping[str, Any] | None = None) -> None:
        """Append one entry: who did what to which run, from where (never a secret in ``detail``)."""
        with self.db.write() as conn:
            conn.execute(sa.insert(audit_log).values(
                at=now(), actor=actor, action=action, workspace=workspace, run_id=run_id,
                plan_digest=plan_digest, remote=remote[:100], detail=json.dumps(dict(detail or {}), default=str)))

    def audit_entries(self, limit: int = 200, workspace: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if workspace is not None:
            query = query.where(audit_log.c.workspace == workspace)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry(r.id, r.at, r.actor, r.action, r.workspace, r.run_id, r.plan_digest, r.remote,
                           json.loads(r.detail)) for r in rows]
