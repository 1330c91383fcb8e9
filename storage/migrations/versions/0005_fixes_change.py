"""changes.fixes_change_id: the change an emergency repairs, as the emergency form records it

Read by DORA's change fail rate and failed deployment recovery time (bot.insights.dora):
the link is recorded, never guessed.

Revision ID: 0005_fixes_change
Revises: issue8_audit_chain
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_fixes_change"
down_revision: str | None = "issue8_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not batch mode: rebuilding `changes` on SQLite would fight the foreign keys that point
    # at it. SQLite's own ADD COLUMN accepts a REFERENCES clause on a column that may be NULL.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE changes ADD COLUMN fixes_change_id INTEGER "
                   "REFERENCES changes (id)")
    else:
        op.add_column("changes", sa.Column(
            "fixes_change_id", sa.Integer(),
            sa.ForeignKey("changes.id", name="fk_changes_fixes_change_id"), nullable=True,
        ))
    op.create_index("ix_changes_fixes_change_id", "changes", ["fixes_change_id"])


def downgrade() -> None:
    op.drop_index("ix_changes_fixes_change_id", table_name="changes")
    with op.batch_alter_table("changes") as batch_op:
        if op.get_bind().dialect.name != "sqlite":
            batch_op.drop_constraint("fk_changes_fixes_change_id", type_="foreignkey")
        batch_op.drop_column("fixes_change_id")
