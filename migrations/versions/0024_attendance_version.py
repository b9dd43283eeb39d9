"""attendance: its own version on a participation, so a check-in leaves the answer's alone

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 18:40:00

A check-in moved `participation.version`, and every kept view of the invited sites that
shows only their answers (the session page's list, the invitations panel) was read and
rendered again after each one: 10,000 sites checking in gave 10,000 rebuilds of a list
none of them changed. Attendance now writes under `attendance_version`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attendance_version", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_column("attendance_version")
