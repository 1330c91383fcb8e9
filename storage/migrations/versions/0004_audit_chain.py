"""audit chain: every event hashed and linked to its predecessor; the chain cannot fork

Events written before this revision are chained in id order, so that `changebot audit
verify` covers the whole log. Then prev_hash and hash become required, and prev_hash
unique: two events can never claim the same predecessor.

Revision ID: issue8_audit_chain
Revises: issue6_github_author
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.models
from storage import audit_chain

revision: str = "issue8_audit_chain"
down_revision: str | None = "issue6_github_author"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000

events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("change_id", sa.Integer()),
    sa.column("at", storage.models.UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("detail", storage.models.JSONType),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _chain_existing_events() -> None:
    connection = op.get_bind()
    previous, last_id = audit_chain.GENESIS, 0
    while True:
        rows = connection.execute(
            sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(_BATCH)
        ).mappings().all()
        if not rows:
            return
        for row in rows:
            digest = audit_chain.link(previous, row)
            connection.execute(
                events.update().where(events.c.id == row["id"])
                .values(prev_hash=previous, hash=digest)
            )
            previous, last_id = digest, row["id"]


def upgrade() -> None:
    _chain_existing_events()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column(
            "prev_hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            nullable=False,
        )
        batch_op.alter_column(
            "hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        )
        batch_op.create_unique_constraint("uq_audit_events_prev_hash", ["prev_hash"])


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_events_prev_hash", type_="unique")
        batch_op.alter_column(
            "hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        )
        batch_op.alter_column(
            "prev_hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            nullable=True,
        )
