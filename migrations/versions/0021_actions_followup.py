"""actions_followup: the overdue action item an e-mail reminds its owner of

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action_item_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_message_action_item_id",
            "actionitem",
            ["action_item_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_action_item_id", type_="foreignkey")
        batch_op.drop_column("action_item_id")
