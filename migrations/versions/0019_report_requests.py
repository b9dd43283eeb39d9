"""report_requests: reports a session asks its sites for, and each site's file

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import meetings.core.store

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("due_at", meetings.core.store.UTCDateTime(), nullable=False),
        sa.Column("created_at", meetings.core.store.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_request_meeting_id"), ["meeting_id"], unique=False
        )
    op.create_table(
        "site_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("stored_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", meetings.core.store.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["report_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "site_id", name="uq_site_report_site"),
        sa.UniqueConstraint("stored_name"),
    )
    with op.batch_alter_table("site_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_report_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("site_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_report_request_id"))
    op.drop_table("site_report")
    with op.batch_alter_table("report_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_request_meeting_id"))
    op.drop_table("report_request")
