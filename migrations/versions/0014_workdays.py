"""workdays: no schema change (working days are computed from the `holidays` package); kept
so the revision chain stays as issue #14 laid it out

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
