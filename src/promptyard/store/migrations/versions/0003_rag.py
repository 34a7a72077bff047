"""rag: intentionally empty - RAG data lives in the vector store, not in the main database.

A corpus (version, documents, chunks, vectors, keyword index) must change in one
transaction with its vectors and its keyword index, and those are store-specific: FTS5
virtual tables in the embedded store's own SQLite file (``<home>/rag.db``), HNSW indexes
and ``tsvector`` columns in the ``pgvector`` store's Postgres. Each store creates its own
tables (``promptyard.rag.stores``). Keeping them out of the main database also keeps the
main SQLite file's writers (traces, spend) from contending with long ingests.

This revision stays in the chain so the ids remain fixed.

Revision ID: 0003_rag
Revises: 0002_gateway
"""

revision = "0003_rag"
down_revision = "0002_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
