"""gateway tables: daily spend per project.

Revision ID: 0002_gateway
Revises: 0001_registry
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_gateway"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_daily_spend",
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", "day", name="pk_gateway_daily_spend"),
    )


def downgrade() -> None:
    op.drop_table("gateway_daily_spend")
