"""The changes planned in a week are found by an index, as those deployed in it already
are: the change calendar and the App Home's "This week" stay flat at 100k changes.

Revision ID: 0013_flat_calendar_index
Revises: 0012_gates_check_runs
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_flat_calendar_index"
down_revision: str | None = "0012_gates_check_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_changes_planned_at", "changes", ["planned_at"])


def downgrade() -> None:
    op.drop_index("ix_changes_planned_at", table_name="changes")
