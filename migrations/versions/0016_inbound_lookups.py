"""inbound lookups: contacts by lower-case address, outbox messages by Message-ID

A batch of inbound mail names contacts by address (as typed, any case) and the messages
bounces and replies answer by Message-ID: without these indexes each batch scans both
tables (10,000 sites: about 30 µs per mail on SQLite, most of a batch on PostgreSQL).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contact_email_lower", "contact", [sa.text("lower(email)")])
    op.create_index("ix_message_message_id", "message", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_message_message_id", table_name="message")
    op.drop_index("ix_contact_email_lower", table_name="contact")
