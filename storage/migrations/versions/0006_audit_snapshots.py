"""audit snapshots: the rows the evidence pack reads are chained from now on

From this revision every write to `changes`, `approvals` and `deployments` appends a
`row_snapshot` event to the audit chain (storage.audit_rows), and `changebot audit verify`
compares the rows with the chain. The rows written before it are chained here, as they
are now, so that the comparison covers them too (sealed with CHANGEBOT_AUDIT_KEY when it
is set). No schema change.

Revision ID: 0006_audit_snapshots
Revises: 0005_fixes_change
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

from storage import audit_rows

revision: str = "0006_audit_snapshots"
down_revision: str | None = "0005_fixes_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


def upgrade() -> None:
    connection = op.get_bind()
    migrated_at = datetime.now(UTC)
    chain = audit_rows.RowChain(context.config.attributes.get("audit_key"),
                                lambda: migrated_at)
    # The tables chained as of this revision; a table chained later (`freezes`, created by
    # 0007_freezes) starts empty and is chained from its first row.
    for name in ("changes", "approvals", "deployments"):
        model = audit_rows.MODELS[name]
        table = audit_rows.table_of(model)
        # The columns as they are at this revision: a later one may add to the model.
        existing = {c["name"] for c in sa.inspect(connection).get_columns(name)}
        selected = [c for c in table.columns if c.name in existing]
        last_id = 0
        while True:
            rows = connection.execute(
                sa.select(*selected).where(table.c.id > last_id).order_by(table.c.id)
                .limit(_BATCH)
            ).mappings().all()
            if not rows:
                break
            chain.append(connection, [
                audit_rows.snapshot(name, row["id"], "insert",
                                    audit_rows.row_values(name, row.get))
                for row in rows
            ])
            last_id = rows[-1]["id"]


def downgrade() -> None:
    """The snapshot events stay: the audit chain is append-only."""
