"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:17:34.559015
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("risk", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("rollback_plan", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("testing", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("security_notes", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "security_checkboxes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pr_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column(
            "reviewers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("planned_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("impact", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "involved",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("author_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("card_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("card_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("security_required", sa.Boolean(), nullable=False),
        sa.Column(
            "security_triggers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pr_repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column(
            "pr_info",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("head_sha", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("merge_sha", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ci_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "ci_detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("github_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("github_checked_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("staging_deployed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("staging_verified_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "staging_validation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("deployed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deployed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("deploy_method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "deploy_exceptions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("monitoring_ends_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "verification",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rollback_started_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rollback_finished_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "rollback",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("broadcast_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("broadcast_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("retrospective_due_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "retrospective_done_at", storage.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "retrospective",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_key"),
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_changes_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_changes_deployed_at"), ["deployed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_changes_head_sha"), ["head_sha"], unique=False)
        batch_op.create_index(batch_op.f("ix_changes_merge_sha"), ["merge_sha"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_changes_retrospective_due_at"), ["retrospective_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_changes_status"), ["status"], unique=False)

    op.create_table(
        "inbound_requests",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("received_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "user_links",
        sa.Column("github_login", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("slack_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("linked_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("github_login"),
    )
    with op.batch_alter_table("user_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_links_slack_user_id"), ["slack_user_id"], unique=False
        )

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("github_login", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tech_lead", sa.Boolean(), nullable=False),
        sa.Column("commit_sha", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_id", "revision", "kind", "actor", name="uq_approval_once"),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_change_id"), ["change_id"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_change_id"), ["change_id"], unique=False)

    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("github_deployment_id", sa.Integer(), nullable=False),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("environment", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("sha", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("creator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("github_deployment_id"),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployments_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_change_id"), ["change_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_sha"), ["sha"], unique=False)

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("due_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("claimed_until", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_change_id"), ["change_id"], unique=False)
        batch_op.create_index(
            "ix_reminders_pending", ["sent_at", "cancelled_at", "due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_pending")
        batch_op.drop_index(batch_op.f("ix_reminders_change_id"))

    op.drop_table("reminders")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployments_sha"))
        batch_op.drop_index(batch_op.f("ix_deployments_change_id"))
        batch_op.drop_index(batch_op.f("ix_deployments_at"))

    op.drop_table("deployments")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_change_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))

    op.drop_table("audit_events")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_change_id"))

    op.drop_table("approvals")
    with op.batch_alter_table("user_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_links_slack_user_id"))

    op.drop_table("user_links")
    op.drop_table("inbound_requests")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_changes_status"))
        batch_op.drop_index(batch_op.f("ix_changes_retrospective_due_at"))
        batch_op.drop_index(batch_op.f("ix_changes_merge_sha"))
        batch_op.drop_index(batch_op.f("ix_changes_head_sha"))
        batch_op.drop_index(batch_op.f("ix_changes_deployed_at"))
        batch_op.drop_index(batch_op.f("ix_changes_author_id"))

    op.drop_table("changes")
