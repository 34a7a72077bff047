"""evals tables: datasets, dataset items, runs, per-item results.

Revision ID: 0005_evals
Revises: 0004_tracing
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_evals"
down_revision = "0004_tracing"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "eval_datasets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(500), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_datasets"),
        sa.UniqueConstraint("name", "version", name="uq_eval_datasets_name_version"),
    )
    op.create_index("ix_eval_datasets_name", "eval_datasets", ["name"])
    op.create_table(
        "eval_dataset_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_dataset_items"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["eval_datasets.id"],
            name="fk_eval_dataset_items_dataset_id_eval_datasets",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("dataset_id", "item_id", name="uq_eval_dataset_items_dataset_item"),
    )
    op.create_table(
        "eval_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("prompt_name", sa.String(200), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("dataset_name", sa.String(200), nullable=True),
        sa.Column("dataset_version", sa.Integer(), nullable=True),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total_items", sa.Integer(), nullable=False),
        sa.Column("aggregates", JSONType, nullable=True),
        sa.Column("report_path", sa.String(500), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_eval_runs"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["eval_datasets.id"], name="fk_eval_runs_dataset_id_eval_datasets", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_eval_runs_prompt", "eval_runs", ["prompt_name", "prompt_version"])
    op.create_index("ix_eval_runs_config_hash", "eval_runs", ["config_hash"])
    op.create_index("ix_eval_runs_dataset_id", "eval_runs", ["dataset_id"])
    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metrics", JSONType, nullable=False),
        sa.Column("judge", JSONType, nullable=True),
        sa.Column("extra", JSONType, nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_results"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["eval_runs.run_id"], name="fk_eval_results_run_id_eval_runs", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("run_id", "item_id", name="uq_eval_results_run_item"),
    )


def downgrade() -> None:
    op.drop_table("eval_results")
    op.drop_index("ix_eval_runs_dataset_id", "eval_runs")
    op.drop_index("ix_eval_runs_config_hash", "eval_runs")
    op.drop_index("ix_eval_runs_prompt", "eval_runs")
    op.drop_table("eval_runs")
    op.drop_index("ix_eval_datasets_name", "eval_datasets")
    op.drop_table("eval_datasets")
