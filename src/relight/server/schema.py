"""The server's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

Times are stored in UTC (:class:`UtcDateTime` gives aware datetimes back on every database).
The migration test compares these definitions with what the migrations build, on SQLite and on
PostgreSQL, so a table changed here without a migration fails the suite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

__all__ = [
    "api_tokens",
    "audit_log",
    "deliveries",
    "image_channel_moves",
    "image_channels",
    "images",
    "incidents",
    "metadata",
    "pr_comments",
    "run_events",
    "run_plans",
    "run_reports",
    "runs",
    "settings",
    "state_journal",
    "state_locks",
    "state_versions",
    "users",
    "workspaces",
]


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(when, datetime):
            raise TypeError(f"not a stored time: {value!r}")
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("repo", String(200), nullable=False),
    Column("dir", String(500), nullable=False),
    Column("branch", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_health_check_at", UtcDateTime),  # when the next heal pass is due (health_check)
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # speculative | apply | image | rehearsal
    Column("operation", String(16), nullable=False),  # plan | rollback | heal | build | promote | rehearse
    Column("status", String(32), nullable=False),
    Column("commit_sha", String(64), nullable=False),
    Column("ref", String(255), nullable=False),
    Column("pr_number", Integer),
    Column("base_sha", String(64)),
    Column("clone_url", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("delivery_id", String(100)),
    Column("rollback_serial", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("claimed_by", String(200)),
    Column("confirmed_by", String(100)),
    Column("confirmed_at", UtcDateTime),
    Column("discarded_by", String(100)),
    Column("apply_started_at", UtcDateTime),
    Column("to_add", Integer),
    Column("to_change", Integer),
    Column("to_destroy", Integer),
    Column("error", Text),
    Column("followed_by", Integer),
    Column("confirm_required", Boolean, nullable=False, default=False),  # never auto-applied
    Column("image_dir", String(500)),  # image runs: the template directory (repository-relative)
    Index(None, "workspace_id", "kind", "status"),
    Index(None, "status"),
)

run_plans = Table(
    "run_plans",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("plan_file", LargeBinary),
    Column("digest", String(64)),
    Column("plan_json", Text, nullable=False),
    Column("plan_text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

run_events = Table(
    "run_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("event", Text, nullable=False),
    UniqueConstraint("run_id", "seq"),
)

state_versions = Table(
    "state_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("serial", Integer, nullable=False),
    Column("lineage", String(64), nullable=False),
    Column("state", Text, nullable=False),
    Column("resource_count", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("run_id", Integer),
    UniqueConstraint("workspace_id", "serial"),
)

state_journal = Table(
    "state_journal",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("lineage", String(64), nullable=False),
    Column("base_serial", Integer, nullable=False),
    Column("record", Text, nullable=False),
    Index(None, "workspace_id", "base_serial"),
)

state_locks = Table(
    "state_locks",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("lock_id", String(64), nullable=False),
    Column("info", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("run_id", Integer),  # the server's run holding it (None: a CLI or Terraform over http)
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(100), primary_key=True),  # X-GitHub-Delivery
    Column("event", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("repo", String(200), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("outcome", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(100), nullable=False, unique=True),
    Column("github_id", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked", Boolean, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("workspace", String(64)),
    Column("run_id", Integer),
    Column("plan_digest", String(64)),
    Column("remote", String(100), nullable=False),
    Column("detail", Text, nullable=False),
)

pr_comments = Table(
    "pr_comments",
    metadata,
    Column("repo", String(200), primary_key=True),
    Column("pr_number", Integer, primary_key=True),
    Column("workspace", String(64), primary_key=True),
    Column("comment_id", BigInteger, nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("detected_at", String(40), nullable=False),  # ISO 8601, as the incident says it
    Column("outcome", String(32), nullable=False),
    Column("run_id", Integer),  # the heal run that opened it
    Column("doc", Text, nullable=False),  # the whole incident as JSON (relight.heal.incidents)
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "workspace_id", "outcome"),
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

run_reports = Table(
    "run_reports",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("doc", Text, nullable=False),  # JSON: an image run's builds, a rehearsal's report
    Column("created_at", UtcDateTime, nullable=False),
)

# The image registry when the server runs (relight.images.registry's interface, server/imagestore.py).
images = Table(
    "images",
    metadata,
    Column("image_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # built | revoked | pruned
    Column("digest", String(128), nullable=False),
    Column("built_at", String(40), nullable=False),  # ISO 8601, as the record says it
    Column("doc", Text, nullable=False),  # the whole ImageRecord as JSON (its channels excepted)
    Column("seq", Integer, nullable=False),  # recording order (oldest first)
    Index(None, "name"),
    Index(None, "digest"),
)

image_channels = Table(
    "image_channels",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("image_id", String(64), ForeignKey("images.image_id"), nullable=False),
)

image_channel_moves = Table(
    "image_channel_moves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("image_id", String(64), nullable=False),
    Column("previous", String(64)),
    Column("at", String(40), nullable=False),
    Column("by", String(100), nullable=False),
    Index(None, "name", "channel"),
)
