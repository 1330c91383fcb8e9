"""changes.author_id holds gh:<login> (up to 42 characters) for changes opened from GitHub

Revision ID: issue6_github_author
Revises: issue4_security_routing
"""

from collections.abc import Sequence

import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "issue6_github_author"
down_revision: str | None = "issue4_security_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths, and rebuilding `changes` there (batch mode)
    # would fight the foreign keys that point at it: only PostgreSQL needs the change.
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "changes", "author_id",
        existing_type=sqlmodel.sql.sqltypes.AutoString(length=32),
        type_=sqlmodel.sql.sqltypes.AutoString(length=64),
        existing_nullable=False,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "changes", "author_id",
        existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
        type_=sqlmodel.sql.sqltypes.AutoString(length=32),
        existing_nullable=False,
    )
