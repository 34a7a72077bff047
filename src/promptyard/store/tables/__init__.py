"""Every table, imported so ``Base.metadata`` is complete (Alembic and tests use it)."""

from promptyard.store.tables import evals, experiments, gateway, guards, registry, tracing

__all__ = ["evals", "experiments", "gateway", "guards", "registry", "tracing"]
