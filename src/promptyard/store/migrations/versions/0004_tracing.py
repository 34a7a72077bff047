"""tracing tables: trace summaries, daily rollups, latency histograms, budget alerts.

Revision ID: 0004_tracing
Revises: 0003_rag
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_tracing"
down_revision = "0003_rag"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("end_user", sa.String(200), nullable=True),
        sa.Column("api_key_id", sa.String(64), nullable=True),
        sa.Column("prompt_name", sa.String(200), nullable=True),
        sa.Column("prompt_version", sa.String(64), nullable=True),
        sa.Column("prompt_label", sa.String(100), nullable=True),
        sa.Column("experiment_arm", sa.String(100), nullable=True),
        sa.Column("corpus", sa.String(200), nullable=True),
        sa.Column("transform", sa.String(64), nullable=True),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("answer_cache_hit", sa.Boolean(), nullable=False),
        sa.Column("cache_read_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("cost_saved_usd", sa.Float(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("fallback_used", sa.String(200), nullable=True),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("error_type", sa.String(100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("trace_id", name="pk_traces"),
    )
    op.create_index("ix_traces_ts", "traces", ["ts"])
    op.create_index("ix_traces_prompt_ts", "traces", ["prompt_name", "ts"])
    op.create_index("ix_traces_model_ts", "traces", ["model", "ts"])
    op.create_index("ix_traces_day", "traces", ["day"])
    op.create_index("ix_traces_parent_id", "traces", ["parent_id"])

    op.create_table(
        "trace_daily",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("dim", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        *[
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "requests",
                "top_level",
                "errors",
                "cancelled",
                "answer_cache_hits",
                "prompt_cache_hits",
                "provider_calls",
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
            )
        ],
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("answer_cache_saved_usd", sa.Float(), nullable=False),
        sa.Column("prompt_cache_saved_usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trace_daily"),
        sa.UniqueConstraint("day", "project", "dim", "key", name="uq_trace_daily_key"),
    )

    op.create_table(
        "trace_latency_daily",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trace_latency_daily"),
        sa.UniqueConstraint("day", "project", "metric", "bucket", name="uq_trace_latency_daily_key"),
    )

    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("spent_usd", sa.Float(), nullable=False),
        sa.Column("budget_usd", sa.Float(), nullable=False),
        sa.Column("fired_at", TS, nullable=False),
        sa.Column("webhook_status", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_budget_alerts"),
        sa.UniqueConstraint("project", "day", "threshold", name="uq_budget_alerts_key"),
    )


def downgrade() -> None:
    op.drop_table("budget_alerts")
    op.drop_table("trace_latency_daily")
    op.drop_table("trace_daily")
    op.drop_index("ix_traces_parent_id", "traces")
    op.drop_index("ix_traces_day", "traces")
    op.drop_index("ix_traces_model_ts", "traces")
    op.drop_index("ix_traces_prompt_ts", "traces")
    op.drop_index("ix_traces_ts", "traces")
    op.drop_table("traces")
