"""check_run_claims: the `Changebot` check run of a commit, created by one process only
(the row is claimed before the run is created, and holds its id after).

Revision ID: 0012_gates_check_runs
Revises: 0011_service
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0012_gates_check_runs"
down_revision: str | None = "0011_service"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_run_claims",
        sa.Column("repo", sa.String(length=200), primary_key=True),
        sa.Column("sha", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=100), primary_key=True),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("claim", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", storage.models.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("check_run_claims")
