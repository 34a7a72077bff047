"""rag tables.

Revision ID: 0003_rag
Revises: 0002_gateway
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_rag"
down_revision = "0002_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
