"""answers: the unit that owes a recommendation's answer; the answer mail's recommendation

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "assigned_unit",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recommendation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_message_recommendation_id",
            "recommendation",
            ["recommendation_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_recommendation_id", type_="foreignkey")
        batch_op.drop_column("recommendation_id")
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.drop_column("assigned_unit")
