"""Price table and cost math: cache discounts, write premiums, overrides, unknown models."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from promptyard.costs.prices import ModelPrice, PriceTable, cost_usd
from promptyard.errors import ConfigError
from promptyard.providers.base import Usage
from promptyard.runtime import Runtime
from promptyard.settings import load_settings

SMALL = {
    "providers": {
        "acme": {
            "models": {
                "big": {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write_5m": 3.75, "cache_write_1h": 6.0},
                "plain": {"input": 1.0, "output": 2.0},
            },
            "aliases": {"big-latest-alias": "big"},
        },
        "free": {"models": {"*": {"input": 0.0, "output": 0.0}}},
    }
}


@pytest.fixture
def table() -> PriceTable:
    return PriceTable.from_dict(SMALL)


def test_cost_with_cache_reads_and_both_write_ttls(table: PriceTable) -> None:
    usage = Usage(
        input_tokens=10_000,
        cache_read_tokens=6_000,
        cache_write_tokens=2_000,
        cache_write_1h_tokens=1_000,
        output_tokens=500,
    )
    # uncached 1000 * 3 + read 6000 * 0.3 + 5m 2000 * 3.75 + 1h 1000 * 6 + out 500 * 15 = 25_800 per million
    assert table.cost("acme", "big", usage) == pytest.approx(0.0258)


def test_missing_cache_prices_fall_back_to_input(table: PriceTable) -> None:
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=400_000, cache_write_1h_tokens=100_000)
    assert table.cost("acme", "plain", usage) == pytest.approx(1.0)
    price = ModelPrice(input=2.0, output=1.0, cache_write_5m=2.5)
    assert price.write_1h_price == 2.5


def test_reasoning_tokens_are_not_charged_twice(table: PriceTable) -> None:
    usage = Usage(input_tokens=0, output_tokens=1_000_000, reasoning_tokens=900_000)
    assert table.cost("acme", "plain", usage) == pytest.approx(2.0)


def test_inconsistent_usage_never_goes_negative(table: PriceTable) -> None:
    usage = Usage(input_tokens=10, cache_read_tokens=1_000_000)
    assert table.cost("acme", "big", usage) == pytest.approx(0.3)


def test_aliases_date_suffixes_and_wildcards(table: PriceTable) -> None:
    assert table.lookup("acme", "big-latest-alias") == table.lookup("acme", "big")
    assert table.lookup("acme", "BIG-2025-08-07") == table.lookup("acme", "big")
    assert table.lookup("acme", "big-20250929") == table.lookup("acme", "big")
    assert table.lookup("acme", "big-latest") == table.lookup("acme", "big")
    assert table.lookup("free", "anything-at-all") == ModelPrice(input=0.0, output=0.0)
    assert table.lookup("acme", "bigger") is None
    assert table.lookup("nobody", "big") is None


def test_unknown_model_costs_zero_is_counted_and_warned_once(
    table: PriceTable, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="promptyard.costs.prices")
    usage = Usage(input_tokens=100, output_tokens=100)
    assert table.cost("acme", "mystery", usage) == 0.0
    assert table.cost("acme", "mystery", usage) == 0.0
    assert table.unpriced["acme/mystery"] == 2
    assert caplog.text.count("no price for acme/mystery") == 1


def test_shipped_table_prices_current_models() -> None:
    shipped = PriceTable.load()
    sonnet = shipped.lookup("anthropic", "claude-sonnet-4-5-20250929")
    assert sonnet == ModelPrice(input=3.0, output=15.0, cache_read=0.3, cache_write_5m=3.75, cache_write_1h=6.0)
    assert shipped.lookup("anthropic", "claude-opus-4-0") == shipped.lookup("anthropic", "claude-opus-4")
    assert shipped.lookup("openai", "gpt-4o-2024-08-06") == shipped.lookup("openai", "gpt-4o")
    assert shipped.lookup("openai", "gpt-4o-2024-05-13") != shipped.lookup("openai", "gpt-4o")
    for provider in ("openai", "anthropic"):
        for model in shipped.models(provider):
            price = shipped.lookup(provider, model)
            assert price is not None
            assert 0 < price.cache_read_price <= price.input <= price.write_5m_price <= price.write_1h_price
    # OpenAI: 50 % off cached input on gpt-4o, no premium on writes
    usage = Usage(input_tokens=2_000, cache_read_tokens=1_920, output_tokens=100)
    assert shipped.cost("openai", "gpt-4o", usage) == pytest.approx((80 * 2.5 + 1920 * 1.25 + 100 * 10) / 1e6)
    assert shipped.cost("local", "smollm2-135m-instruct", usage) == 0.0


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    return path


def test_user_file_overrides_fields_and_adds_models(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "providers": {
                "openai": {
                    "models": {"gpt-4o": {"input": 2.0}, "my-finetune": {"input": 5.0, "output": 20.0}},
                    "aliases": {"ft": "my-finetune"},
                },
                "vllm": {"models": {"*": {"input": 0.01, "output": 0.02}}},
            }
        },
    )
    table = PriceTable.load(path)
    gpt4o = table.lookup("openai", "gpt-4o")
    assert gpt4o is not None
    assert (gpt4o.input, gpt4o.output, gpt4o.cache_read) == (2.0, 10.0, 1.25)
    assert table.lookup("openai", "ft") == ModelPrice(input=5.0, output=20.0)
    assert table.cost("vllm", "llama", Usage(input_tokens=1_000_000)) == pytest.approx(0.01)
    assert table.lookup("anthropic", "claude-haiku-4-5") is not None  # the rest is still shipped


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"models": {}}), "'providers'"),
        (json.dumps({"providers": {"acme": {"models": {"x": {"output": 1.0}}}}}), "acme/x"),
    ],
)
def test_bad_user_files_name_the_setting(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match) as info:
        PriceTable.load(path)
    assert "PROMPTYARD_PRICES_FILE" in str(info.value) or "prices.json" in str(info.value)


def test_missing_user_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PROMPTYARD_PRICES_FILE: cannot read"):
        PriceTable.load(tmp_path / "absent.json")


def test_cost_usd_and_runtime_use_the_configured_file(tmp_path: Path) -> None:
    usage = Usage(input_tokens=1_000_000)
    assert cost_usd("openai", "gpt-4o-mini", usage) == pytest.approx(0.15)
    path = write(tmp_path, {"providers": {"openai": {"models": {"gpt-4o-mini": {"input": 1.0}}}}})
    runtime = Runtime(load_settings(prices_file=path))
    assert runtime.prices.cost("openai", "gpt-4o-mini", usage) == pytest.approx(1.0)
    assert cost_usd("openai", "gpt-4o-mini", usage, prices=runtime.prices) == pytest.approx(1.0)
