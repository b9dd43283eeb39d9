"""action_reports: a site's progress reports on its action items (issue #16)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import meetings.core.store

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "actionreport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("stored_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("decided_at", meetings.core.store.UTCDateTime(), nullable=True),
        sa.Column("created_at", meetings.core.store.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["action_item_id"], ["actionitem.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("actionreport", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_actionreport_action_item_id"), ["action_item_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_actionreport_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("actionreport", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actionreport_site_id"))
        batch_op.drop_index(batch_op.f("ix_actionreport_action_item_id"))
    op.drop_table("actionreport")
