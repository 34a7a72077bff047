"""The composition root: one Runtime per process wires settings to every service.

Services are created lazily on first use, so the CLI pays only for what a command
touches. The server keeps one Runtime on ``app.state.runtime``.
"""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import TYPE_CHECKING

from promptyard.server.keys import KeyStore
from promptyard.settings import Settings, get_settings
from promptyard.store.db import Database
from promptyard.tracing.model import TraceRecorder

if TYPE_CHECKING:
    from promptyard.costs.prices import PriceTable
    from promptyard.evals.service import Evals
    from promptyard.experiments.service import Experiments
    from promptyard.gateway.pipeline import Gateway
    from promptyard.prompts.registry import PromptRegistry
    from promptyard.providers.registry import ProviderRegistry
    from promptyard.rag.service import RagService
    from promptyard.tracing.alerts import BudgetAlerter
    from promptyard.tracing.metrics import Metrics


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.serving = False
        """Set by the HTTP app: with ``PROMPTYARD_TRACE_WRITER=auto`` a serving runtime writes traces
        in a writer process, a one-shot CLI command or library use in a thread."""

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.resolved_database_url)

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.db)

    @cached_property
    def registry(self) -> PromptRegistry:
        """Prompt versions, labels, review and history (resolve is cached in memory)."""
        from promptyard.experiments.gates import label_gate
        from promptyard.prompts.notify import label_version
        from promptyard.prompts.registry import PromptRegistry

        return PromptRegistry(
            self.db, self.settings, gate=label_gate(self.db, self.settings), notifier=label_version(self.settings)
        )

    @cached_property
    def providers(self) -> ProviderRegistry:
        """Provider instances by name (``local``, ``openai``, ``anthropic``, ...), created on first use."""
        from promptyard.providers.registry import ProviderRegistry

        return ProviderRegistry(self.settings)

    @cached_property
    def prices(self) -> PriceTable:
        """Token prices: the shipped table plus ``PROMPTYARD_PRICES_FILE`` (loaded once per file)."""
        from promptyard.costs.prices import price_table

        return price_table(self.settings.prices_file)

    @cached_property
    def metrics(self) -> Metrics:
        """Prometheus metrics (``/metrics``), fed by the trace writer off the request path."""
        from promptyard.tracing.metrics import Metrics

        return Metrics()

    @cached_property
    def tracer(self) -> TraceRecorder:
        """Where every request's trace goes: the background writer (JSONL + SQL sinks), or a
        NullRecorder when ``PROMPTYARD_TRACING`` is off."""
        from promptyard.tracing.setup import build_recorder

        return build_recorder(self.settings, lambda: self.db, self.metrics, serving=self.serving)

    @cached_property
    def alerts(self) -> BudgetAlerter:
        """Budget alert sink: WARN line in ``<home>/traces/alerts.log``, a row, an optional webhook."""
        from promptyard.tracing.alerts import BudgetAlerter

        return BudgetAlerter(
            log_path=self.settings.home / "traces" / "alerts.log",
            db=self.db,
            webhook_url=self.settings.budget_webhook_url,
            metrics=self.metrics,
        )

    @cached_property
    def gateway(self) -> Gateway:
        """The call pipeline (prompt and chat calls): cache, limits, budget, retries, fallbacks, traces."""
        from promptyard.gateway.factory import build_gateway

        return build_gateway(self)

    @cached_property
    def experiments(self) -> Experiments:
        """A/B splits and canaries on labels, feedback, analysis (the gateway reads its splits)."""
        from promptyard.experiments.service import build_experiments

        return build_experiments(self)

    @cached_property
    def evals(self) -> Evals:
        """Datasets, eval runs, comparisons and batch runs (scoreboards go to ``reports/``)."""
        from promptyard.evals.wiring import build_evals

        return build_evals(self)

    @cached_property
    def rag(self) -> RagService:
        """Corpora, ingest, hybrid search and cited answers (store, embedder, reranker from settings)."""
        from promptyard.rag.service import build_rag

        return build_rag(self.settings, tracer=self.tracer, gateway=lambda: self.gateway, prompts=lambda: self.registry)

    async def aclose(self) -> None:
        """Release what was opened: providers, trace writers, database connections."""
        if "gateway" in self.__dict__:
            await self.gateway.aclose()  # flushes buffered spend before the database closes
        if "providers" in self.__dict__:
            await self.providers.aclose()
        if "alerts" in self.__dict__:
            await asyncio.to_thread(self.alerts.close)
        close_tracer = getattr(self.__dict__.get("tracer"), "close", None)
        if callable(close_tracer):
            await asyncio.to_thread(close_tracer)  # flushes every queued trace, then closes the sinks
        if "rag" in self.__dict__:
            await asyncio.to_thread(self.rag.close)
        if "db" in self.__dict__:
            self.db.dispose()
