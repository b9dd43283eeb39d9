"""followup_foundations: action items' owner cluster, done time, chase day and history;
a cluster's own meetings; cluster leaders' accounts

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 07:43:06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import meetings.core.store

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "actionchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", meetings.core.store.UTCDateTime(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["action_item_id"], ["actionitem.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("actionchange", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_actionchange_action_item_id"), ["action_item_id"], unique=False
        )
    with op.batch_alter_table("actionitem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_cluster_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("done_at", meetings.core.store.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("chased_on", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            "fk_actionitem_owner_cluster",
            "cluster",
            ["owner_cluster_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_meeting_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_meeting_cluster", "cluster", ["cluster_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_user_cluster", "cluster", ["cluster_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("fk_user_cluster", type_="foreignkey")
        batch_op.drop_column("cluster_id")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint("fk_meeting_cluster", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_meeting_cluster_id"))
        batch_op.drop_column("cluster_id")
    with op.batch_alter_table("actionitem", schema=None) as batch_op:
        batch_op.drop_constraint("fk_actionitem_owner_cluster", type_="foreignkey")
        batch_op.drop_column("chased_on")
        batch_op.drop_column("done_at")
        batch_op.drop_column("owner_cluster_id")
    with op.batch_alter_table("actionchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actionchange_action_item_id"))
    op.drop_table("actionchange")
