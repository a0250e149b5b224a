"""Distributed workers and health checks: the incidents table, the health-check schedule, runs
that must be confirmed by a person, and the run that holds a state lock.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_incidents_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_workspace_id_outcome"), "incidents", ["workspace_id", "outcome"])
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("next_health_check_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("confirm_required", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("state_locks") as batch:
        batch.add_column(sa.Column("run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("state_locks") as batch:
        batch.drop_column("run_id")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("confirm_required")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("next_health_check_at")
    op.drop_index(op.f("ix_incidents_workspace_id_outcome"), table_name="incidents")
    op.drop_table("incidents")
