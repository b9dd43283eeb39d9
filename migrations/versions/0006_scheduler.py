"""scheduler: a session's own technical-rehearsal lead time

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rehearsal_minutes', sa.Integer(), nullable=True))
    # APScheduler's job store (its own column definitions).
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_apscheduler_jobs_next_run_time'), ['next_run_time'], unique=False
        )


def downgrade() -> None:
    op.drop_table('apscheduler_jobs')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('rehearsal_minutes')
