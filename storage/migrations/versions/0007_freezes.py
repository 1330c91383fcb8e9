"""freezes: one-off freeze windows declared in Slack (`/change freeze`)

Revision ID: 0007_freezes
Revises: 0006_audit_snapshots
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.models

revision: str = "0007_freezes"
down_revision: str | None = "0006_audit_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("declared_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("declared_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("freezes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_freezes_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_freezes_ends_at"), ["ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("freezes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_freezes_ends_at"))
        batch_op.drop_index(batch_op.f("ix_freezes_starts_at"))
    op.drop_table("freezes")
