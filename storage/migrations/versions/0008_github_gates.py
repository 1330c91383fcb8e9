"""deploy_gates and merge_gates: GitHub Actions jobs waiting on Changebot's deployment
protection rule, and what the `Changebot` check said last on a pull request's head;
login_claims: GitHub logins claimed in Slack, linked once proven by a PR comment

Revision ID: 0008_github_gates
Revises: 0007_freezes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0008_github_gates"
down_revision: str | None = "0007_freezes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = storage.models.UTCDateTime(timezone=True)
    op.create_table(
        "deploy_gates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("environment", sa.String(length=100), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("run_url", sa.String(length=500), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("change_id", sa.Integer(), sa.ForeignKey("changes.id"), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("last_report", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("decided_at", utc, nullable=True),
        sa.UniqueConstraint("repo", "run_id", "environment", name="uq_deploy_gates_run"),
    )
    op.create_index("ix_deploy_gates_change_id", "deploy_gates", ["change_id"])
    op.create_index("ix_deploy_gates_state", "deploy_gates", ["state"])
    op.create_table(
        "merge_gates",
        sa.Column("change_id", sa.Integer(), sa.ForeignKey("changes.id"), primary_key=True),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", utc, nullable=False),
    )
    op.create_table(
        "login_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=16), nullable=False, unique=True),
        sa.Column("github_login", sa.String(length=100), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.Column("used_at", utc, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("login_claims")
    op.drop_table("merge_gates")
    op.drop_index("ix_deploy_gates_state", table_name="deploy_gates")
    op.drop_index("ix_deploy_gates_change_id", table_name="deploy_gates")
    op.drop_table("deploy_gates")
