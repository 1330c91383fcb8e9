"""approvals.infrastructure: whether the approver was in the infrastructure team's group

An infrastructure change needs an approval from that team (policy `groups.infrastructure`);
like `tech_lead`, the standing is recorded when the person decides, so that leaving the
group later does not rewrite what was approved.

Revision ID: 0008_approval_roles
Revises: 0006_fixes_change
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_approval_roles"
down_revision: str | None = "0006_fixes_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("approvals", sa.Column(
        "infrastructure", sa.Boolean(), nullable=False, server_default=sa.false(),
    ))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch_op:
        batch_op.drop_column("infrastructure")
