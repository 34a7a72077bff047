"""Wire an :class:`Evals` service from a Runtime: registry, gateway and (when present) RAG."""

from __future__ import annotations

from typing import TYPE_CHECKING

from promptyard.evals.service import Evals

if TYPE_CHECKING:
    from promptyard.runtime import Runtime


def build_evals(runtime: Runtime) -> Evals:
    return Evals(
        runtime.db,
        registry=lambda: runtime.registry,
        gateway=lambda: runtime.gateway,
        actor=runtime.settings.resolved_actor,
    )
