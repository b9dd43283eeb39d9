"""meetings: attendance events and each site's derived attendance and rehearsal state

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 06:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import meetings.core.store

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('attendanceevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('delegates_present', sa.Integer(), nullable=True),
    sa.Column('officials_present', sa.JSON(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('at', meetings.core.store.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', meetings.core.store.UTCDateTime(), nullable=False),
    sa.Column('author_kind', sa.String(length=16), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attendanceevent', schema=None) as batch_op:
        batch_op.create_index(
            'ix_attendanceevent_meeting_site', ['meeting_id', 'site_id', 'id'], unique=False
        )
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('joined_at', meetings.core.store.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('left_at', meetings.core.store.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('delegates_present', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('officials_present', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('rehearsal_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('rehearsal_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('attendance_changed_at', meetings.core.store.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('participation', schema=None) as batch_op:
        for column in ('attendance_changed_at', 'rehearsal_note', 'rehearsal_status',
                       'officials_present', 'delegates_present', 'left_at', 'joined_at',
                       'attendance_status'):
            batch_op.drop_column(column)
    op.drop_table('attendanceevent')
