"""Fast at scale: reminders carry a priority (a person waiting goes before a scheduled
reminder), and partial indexes hold only what is live: the reminders still to send, in
the order they are claimed, and the changes still open.

Revision ID: 0010_fast_at_scale
Revises: 0009_roles_and_watch
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_fast_at_scale"
down_revision: str | None = "0009_roles_and_watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("sent_at IS NULL AND cancelled_at IS NULL")
OPEN = sa.text("status NOT IN ('completed', 'cancelled', 'rolled_back')")


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.drop_index("ix_reminders_pending")
    op.create_index("ix_reminders_due", "reminders", ["priority", "due_at"],
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index("ix_changes_open", "changes", ["id"],
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_changes_open", table_name="changes")
    op.drop_index("ix_reminders_due", table_name="reminders")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminders_pending", ["sent_at", "cancelled_at", "due_at"], unique=False
        )
        batch_op.drop_column("priority")
