"""experiments: splits and canaries on labels, feedback, online scores, leases; trace experiment columns.

Revision ID: 0006_experiments
Revises: 0005_evals
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_experiments"
down_revision = "0005_evals"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("prompt_name", sa.String(200), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("arms", JSONType, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("primary_metric", sa.String(100), nullable=False),
        sa.Column("guardrails", JSONType, nullable=False),
        sa.Column("min_samples", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_index("ix_experiments_prompt_label", "experiments", ["prompt_name", "label", "status"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("thumbs", sa.Boolean(), nullable=True),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("signals", JSONType, nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_trace_id", "feedback", ["trace_id"])
    op.create_table(
        "trace_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("evaluator", sa.String(64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trace_scores"),
    )
    op.create_index("ix_trace_scores_trace_id", "trace_scores", ["trace_id"])
    op.create_table(
        "controller_leases",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_controller_leases"),
    )
    op.add_column("traces", sa.Column("experiment", sa.String(100), nullable=True))
    op.add_column("traces", sa.Column("experiment_unit", sa.String(200), nullable=True))
    op.create_index("ix_traces_experiment", "traces", ["experiment"])


def downgrade() -> None:
    op.drop_index("ix_traces_experiment", table_name="traces")
    with op.batch_alter_table("traces") as batch:
        batch.drop_column("experiment_unit")
        batch.drop_column("experiment")
    op.drop_table("controller_leases")
    op.drop_index("ix_trace_scores_trace_id", table_name="trace_scores")
    op.drop_table("trace_scores")
    op.drop_index("ix_feedback_trace_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_experiments_prompt_label", table_name="experiments")
    op.drop_table("experiments")
