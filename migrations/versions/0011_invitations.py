"""invitations: what each message told its site of the session, so only what changed is sent

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seen", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("seen_before", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("seen_before")
        batch_op.drop_column("seen")
