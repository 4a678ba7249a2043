"""poll group_by, ballot organisation

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 10:12:40.318204
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing polls keep their results by sector; existing ballots have no organisation.
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("group_by", sa.String(length=20), nullable=False, server_default="sector")
        )
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("organisation", sa.String(length=80), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.drop_column("organisation")
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_column("group_by")
