"""minutes: the chair's and the secretary's positions on the session (form 1.9 names them)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        for name in ("chair_title", "secretary_title"):
            batch_op.add_column(
                sa.Column(
                    name,
                    sqlmodel.sql.sqltypes.AutoString(length=200),
                    server_default="",
                    nullable=False,
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("secretary_title")
        batch_op.drop_column("chair_title")
