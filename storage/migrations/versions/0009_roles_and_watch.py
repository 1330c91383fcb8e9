"""approvals.infrastructure and changes.watch

approvals.infrastructure: whether the approver was in the infrastructure team's group. An
infrastructure change needs an approval from that team (policy `groups.infrastructure`);
like `tech_lead`, the standing is recorded when the person decides, so that leaving the
group later does not rewrite what was approved.

changes.watch: who watches the production rollout until when, and whether that falls outside
their working hours in their Slack time zone (storage.shapes.Watch).

Revision ID: 0009_roles_and_watch
Revises: 0008_github_gates
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from storage import audit_rows

revision: str = "0009_roles_and_watch"
down_revision: str | None = "0008_github_gates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("approvals", sa.Column(
        "infrastructure", sa.Boolean(), nullable=False, server_default=sa.false(),
    ))
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.add_column("changes", sa.Column("watch", json, nullable=False, server_default="{}"))
    _rechain(["changes", "approvals"])


def _rechain(names: list[str]) -> None:
    """The rows as they now are, new columns included, snapshot again in the audit chain
    (storage.audit_rows), so that `changebot audit verify` still finds them as recorded."""
    audit_rows.rechain(op.get_bind(), names, context.config.attributes.get("audit_key"))


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch_op:
        batch_op.drop_column("watch")
    with op.batch_alter_table("approvals") as batch_op:
        batch_op.drop_column("infrastructure")
