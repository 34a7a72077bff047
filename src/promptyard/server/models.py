"""What ``GET /v1/models`` lists.

Provider models first (``provider/model``): for every configured provider (see
``providers/registry.py``), the models the adapter advertises in a ``models`` attribute
(the local provider's GGUF names) or else the models the price table knows for it; a
provider with neither is listed as ``provider/*`` (it accepts any model name). Then one
``prompt:NAME@LABEL`` entry per label in the registry.
"""

from __future__ import annotations

from collections.abc import Sequence

from promptyard.costs.prices import price_table
from promptyard.runtime import Runtime


def provider_models(rt: Runtime) -> list[str]:
    """``provider/model`` for every configured provider model."""
    prices = price_table(rt.settings.prices_file)
    out: list[str] = []
    for name in rt.providers.configured():
        advertised: Sequence[str] | None = getattr(rt.providers.get(name), "models", None)
        models = list(advertised or prices.models(name)) or ["*"]
        out.extend(f"{name}/{model}" for model in models)
    return out


def prompt_models(rt: Runtime) -> list[str]:
    """``prompt:NAME@LABEL`` for every label in the registry."""
    return [f"prompt:{p.name}@{label}" for p in rt.registry.list_prompts() for label in sorted(p.labels)]


def configured_models(rt: Runtime) -> list[tuple[str, str]]:
    """(id, owned_by) pairs for ``/v1/models``."""
    out = [(model, model.partition("/")[0]) for model in provider_models(rt)]
    out.extend((model, "promptyard") for model in prompt_models(rt))
    return out
