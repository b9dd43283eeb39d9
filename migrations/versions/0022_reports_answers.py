"""reports_answers: report requests chased (by a click or on schedule, each site's
reminders kept), the reminders' outbox rows, and a document with a recommendation's answer

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import meetings.core.store

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_chase", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("remind_days_before", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("chases", sa.Integer(), nullable=False, server_default="0"))
        for name in ("last_chased_at", "auto_chased_at", "reminded_at"):
            batch_op.add_column(sa.Column(name, meetings.core.store.UTCDateTime(), nullable=True))
    op.create_table(
        "report_chase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("chased_at", meetings.core.store.UTCDateTime(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["report_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_chase", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_chase_request_round", ["request_id", "round"], unique=False
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_request_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_message_report_request_id",
            "report_request",
            ["report_request_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        for name, length in (
            ("answer_filename", 255),
            ("answer_stored_name", 100),
            ("answer_content_type", 100),
        ):
            batch_op.add_column(
                sa.Column(
                    name,
                    sqlmodel.sql.sqltypes.AutoString(length=length),
                    nullable=False,
                    server_default="",
                )
            )
        batch_op.add_column(
            sa.Column("answer_size", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        for name in ("answer_size", "answer_content_type", "answer_stored_name", "answer_filename"):
            batch_op.drop_column(name)
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_report_request_id", type_="foreignkey")
        batch_op.drop_column("report_request_id")
    with op.batch_alter_table("report_chase", schema=None) as batch_op:
        batch_op.drop_index("ix_report_chase_request_round")
    op.drop_table("report_chase")
    with op.batch_alter_table("report_request", schema=None) as batch_op:
        for name in (
            "reminded_at",
            "auto_chased_at",
            "last_chased_at",
            "chases",
            "remind_days_before",
            "auto_chase",
        ):
            batch_op.drop_column(name)
