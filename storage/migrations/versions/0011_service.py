"""changes.service: the service a change ships to, as its form names it (the policy may
require it, or offer a list of the team's services). Conflicts between planned changes are
found on it, or on the linked pull request's repository when it is not set.

Revision ID: 0011_service
Revises: 0010_fast_at_scale
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import context, op

from storage import audit_rows

revision: str = "0011_service"
down_revision: str | None = "0010_fast_at_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: a plain ADD COLUMN on SQLite too (no batch rebuild of `changes`,
    # which other tables' foreign keys point at).
    op.add_column("changes", sa.Column(
        "service", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    # The changes are chained rows (storage.audit_rows): snapshot again with the column.
    audit_rows.rechain(op.get_bind(), ["changes"], context.config.attributes.get("audit_key"))


def downgrade() -> None:
    op.drop_column("changes", "service")
    audit_rows.rechain(op.get_bind(), ["changes"], context.config.attributes.get("audit_key"))
