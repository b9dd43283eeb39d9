"""meetings: RSVP answers on participations (technical contact, note, time of answer)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 06:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import meetings.core.store

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'technical_contact',
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default='',
            )
        )
        batch_op.add_column(
            sa.Column(
                'rsvp_note',
                sqlmodel.sql.sqltypes.AutoString(length=1000),
                nullable=False,
                server_default='',
            )
        )
        batch_op.add_column(
            sa.Column('responded_at', meetings.core.store.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_column('responded_at')
        batch_op.drop_column('rsvp_note')
        batch_op.drop_column('technical_contact')
