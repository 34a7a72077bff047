"""guard verdict counts per day (dashboard) and stored verdicts.

Revision ID: 0008_guards
Revises: 0006_experiments
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_guards"
down_revision = "0006_experiments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_daily",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("guard", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("prompt", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_guard_daily"),
        sa.UniqueConstraint("day", "project", "guard", "outcome", "prompt", name="uq_guard_daily_key"),
    )
    op.create_table(
        "guard_verdicts",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("guard", sa.String(64), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_guard_verdicts"),
    )


def downgrade() -> None:
    op.drop_table("guard_verdicts")
    op.drop_table("guard_daily")
