"""Wire an :class:`Evals` service from a Runtime: registry, gateway and the RAG service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from promptyard.evals.model import CallFn
from promptyard.evals.service import Evals
from promptyard.prompts.model import PromptSpec

if TYPE_CHECKING:
    from promptyard.runtime import Runtime


def build_evals(runtime: Runtime) -> Evals:
    def rag(spec: PromptSpec, corpus: str, top_k: int | None, use_cache: bool) -> tuple[CallFn, set[str]]:
        from promptyard.evals.rag_target import RAG_PROVIDED, rag_target

        return rag_target(runtime.rag, spec, corpus, top_k, use_cache), set(RAG_PROVIDED)

    return Evals(
        runtime.db,
        registry=lambda: runtime.registry,
        gateway=lambda: runtime.gateway,
        rag_target=rag,
        prices=lambda: runtime.prices,
        actor=runtime.settings.resolved_actor,
    )
