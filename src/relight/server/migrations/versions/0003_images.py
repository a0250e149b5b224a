"""Images in the pipeline: the image registry (images, their channels and the channels' history),
the report of image and rehearsal runs, and the template directory of an image run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("image_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.Column("built_at", sa.String(length=40), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("image_id", name=op.f("pk_images")),
    )
    op.create_index(op.f("ix_images_name"), "images", ["name"])
    op.create_index(op.f("ix_images_digest"), "images", ["digest"])
    op.create_table(
        "image_channels",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("image_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.image_id"], name=op.f("fk_image_channels_image_id_images")),
        sa.PrimaryKeyConstraint("name", "channel", name=op.f("pk_image_channels")),
    )
    op.create_table(
        "image_channel_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("image_id", sa.String(length=64), nullable=False),
        sa.Column("previous", sa.String(length=64), nullable=True),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_channel_moves")),
    )
    op.create_index(op.f("ix_image_channel_moves_name_channel"), "image_channel_moves", ["name", "channel"])
    op.create_table(
        "run_reports",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_reports_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_reports")),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("image_dir", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("image_dir")
    op.drop_table("run_reports")
    op.drop_index(op.f("ix_image_channel_moves_name_channel"), table_name="image_channel_moves")
    op.drop_table("image_channel_moves")
    op.drop_table("image_channels")
    op.drop_index(op.f("ix_images_digest"), table_name="images")
    op.drop_index(op.f("ix_images_name"), table_name="images")
    op.drop_table("images")
