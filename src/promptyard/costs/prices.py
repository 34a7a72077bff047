"""Token prices and the cost of one call.

The table ships as ``costs/prices.json`` (USD per million tokens, per provider and model)
and can be overridden or extended by a user JSON file in the same format
(``PROMPTYARD_PRICES_FILE``); a user entry is merged field by field over the shipped one.

Cost comes from the usage the provider reported::

    uncached = input_tokens - cache_read - cache_write_5m - cache_write_1h
    cost = (uncached * input + cache_read * cache_read_price
            + cache_write_5m * write_5m_price + cache_write_1h * write_1h_price
            + output_tokens * output) / 1e6

Reasoning tokens are already part of ``output_tokens`` (OpenAI's ``completion_tokens``
and Anthropic's ``output_tokens`` both include them) and are not charged twice.

A model without a price costs 0: the call never fails for it, but every such call is
counted in :attr:`PriceTable.unpriced` and the first one per model is logged as a warning.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from promptyard.errors import ConfigError
from promptyard.providers.base import Usage

log = logging.getLogger(__name__)

_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")
WILDCARD = "*"


class ModelPrice(BaseModel):
    """USD per million tokens. Missing cache prices fall back to ``input``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float
    output: float
    cache_read: float | None = None
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None

    @property
    def cache_read_price(self) -> float:
        return self.input if self.cache_read is None else self.cache_read

    @property
    def write_5m_price(self) -> float:
        return self.input if self.cache_write_5m is None else self.cache_write_5m

    @property
    def write_1h_price(self) -> float:
        return self.write_5m_price if self.cache_write_1h is None else self.cache_write_1h

    def cost(self, usage: Usage) -> float:
        """USD for one call with this usage."""
        cached = usage.cache_read_tokens + usage.cache_write_tokens + usage.cache_write_1h_tokens
        uncached = max(usage.input_tokens - cached, 0)
        micro = (
            uncached * self.input
            + usage.cache_read_tokens * self.cache_read_price
            + usage.cache_write_tokens * self.write_5m_price
            + usage.cache_write_1h_tokens * self.write_1h_price
            + usage.output_tokens * self.output
        )
        return micro / 1_000_000


class PriceTable:
    """Prices per provider and model, with alias and date-suffix resolution."""

    def __init__(
        self, prices: dict[str, dict[str, ModelPrice]], aliases: dict[str, dict[str, str]] | None = None
    ) -> None:
        self._prices = {p: {m.lower(): price for m, price in models.items()} for p, models in prices.items()}
        self._aliases = {p: {a.lower(): t.lower() for a, t in al.items()} for p, al in (aliases or {}).items()}
        self._resolved: dict[tuple[str, str], ModelPrice | None] = {}
        self.unpriced: Counter[str] = Counter()
        """Calls priced at 0 because the model has no price, per ``provider/model``."""

    # ---- loading -----------------------------------------------------------------
    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        """The shipped table, with ``override`` (a user JSON file) merged on top."""
        shipped = resources.files("promptyard.costs").joinpath("prices.json").read_text(encoding="utf-8")
        raw = json.loads(shipped)
        if override is not None:
            try:
                user = json.loads(Path(override).read_text(encoding="utf-8"))
            except OSError as exc:
                raise ConfigError(f"PROMPTYARD_PRICES_FILE: cannot read {override}: {exc}") from exc
            except json.JSONDecodeError as exc:
                raise ConfigError(f"PROMPTYARD_PRICES_FILE: {override} is not valid JSON: {exc}") from exc
            raw = _merge(raw, user, str(override))
        return cls.from_dict(raw, source=str(override) if override else "prices.json")

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "prices") -> PriceTable:
        """Build from the JSON structure of ``prices.json``."""
        providers = raw.get("providers")
        if not isinstance(providers, dict):
            raise ConfigError(f"{source}: expected an object with a 'providers' key")
        prices: dict[str, dict[str, ModelPrice]] = {}
        aliases: dict[str, dict[str, str]] = {}
        for provider, body in providers.items():
            if not isinstance(body, dict):
                raise ConfigError(f"{source}: providers.{provider} must be an object")
            models = body.get("models", {})
            prices[provider] = {}
            for model, fields in models.items():
                try:
                    prices[provider][model] = ModelPrice.model_validate(fields)
                except ValidationError as exc:
                    raise ConfigError(
                        f"{source}: invalid price for {provider}/{model}: {exc.errors()[0]['msg']}",
                        hint="each model needs input and output (USD per million tokens)",
                    ) from exc
            aliases[provider] = dict(body.get("aliases", {}))
        return cls(prices, aliases)

    # ---- lookup ------------------------------------------------------------------
    def models(self, provider: str) -> list[str]:
        return sorted(self._prices.get(provider, {}))

    def lookup(self, provider: str, model: str) -> ModelPrice | None:
        """The price of ``provider/model``, or None. Resolution is cached."""
        key = (provider, model)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        found = self._resolve(provider, model.lower())
        self._resolved[key] = found
        return found

    def _resolve(self, provider: str, model: str) -> ModelPrice | None:
        table = self._prices.get(provider)
        if table is None:
            return None
        aliases = self._aliases.get(provider, {})
        candidates = [model]
        stripped = _SUFFIX.sub("", model)
        if stripped != model:
            candidates.append(stripped)
        for name in candidates:
            if name in table:
                return table[name]
            if name in aliases and aliases[name] in table:
                return table[aliases[name]]
        return table.get(WILDCARD)

    def cost(self, provider: str, model: str, usage: Usage) -> float:
        """USD for one call; 0 (counted in :attr:`unpriced`, warned once) when there is no price."""
        price = self.lookup(provider, model)
        if price is None:
            name = f"{provider}/{model}"
            if name not in self.unpriced:
                log.warning("no price for %s: its calls are counted at $0 (add it with PROMPTYARD_PRICES_FILE)", name)
            self.unpriced[name] += 1
            return 0.0
        return price.cost(usage)


def _merge(base: dict[str, Any], user: dict[str, Any], source: str) -> dict[str, Any]:
    """Merge a user price file over the shipped table, field by field per model."""
    if not isinstance(user.get("providers"), dict):
        raise ConfigError(f"PROMPTYARD_PRICES_FILE: {source} needs a top-level 'providers' object")
    merged: dict[str, Any] = {"providers": {p: dict(body) for p, body in base["providers"].items()}}
    for provider, body in user["providers"].items():
        if not isinstance(body, dict):
            raise ConfigError(f"PROMPTYARD_PRICES_FILE: providers.{provider} in {source} must be an object")
        target = merged["providers"].setdefault(provider, {})
        models = {m: dict(f) for m, f in target.get("models", {}).items()}
        for model, fields in body.get("models", {}).items():
            models[model] = {**models.get(model, {}), **fields}
        target["models"] = models
        target["aliases"] = {**target.get("aliases", {}), **body.get("aliases", {})}
    return merged


@lru_cache(maxsize=4)
def price_table(override: Path | None = None) -> PriceTable:
    """The process-wide table for a given override file (loaded once)."""
    return PriceTable.load(override)


def cost_usd(provider: str, model: str, usage: Usage, *, prices: PriceTable | None = None) -> float:
    """USD for one call from its actual usage (cache discounts and write premiums included).

    ``prices`` defaults to the shipped table plus ``PROMPTYARD_PRICES_FILE``.
    """
    if prices is None:
        from promptyard.settings import get_settings

        prices = price_table(get_settings().prices_file)
    return prices.cost(provider, model, usage)


__all__ = ["ModelPrice", "PriceTable", "cost_usd", "price_table"]
