"""Compare promptyard's price table with a reference price map (litellm's format).

    .venv/bin/python bench/check_prices.py [--reference PATH] [--prices USER_FILE] [--strict]

Reads the reference from ../shared/data/pricing/ (never copied into the repo) and prints,
per model of ours, every price that differs, the models the reference does not know, and
the reference's OpenAI/Anthropic chat models that we do not price. ``--strict`` exits 1
when a price differs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from promptyard.costs.prices import WILDCARD, ModelPrice, PriceTable

DEFAULT_REFERENCE = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "pricing" / "litellm_model_prices_and_context_window.json"
)
FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
}
_NORMALIZE = [
    re.compile(r"^(?:[a-z-]+\.)?anthropic\."),  # bedrock ids: us.anthropic.claude-...
    re.compile(r"-v\d+(?::\d+)?$"),  # bedrock version: -v1:0
    re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$"),  # dates
]


def normalize(name: str) -> str:
    for pattern in _NORMALIZE:
        name = pattern.sub("", name)
    return name


def reference_entry(ref: dict[str, Any], provider: str, model: str) -> tuple[str, dict[str, Any]] | None:
    """The reference entry for our model: the vendor's own first, then a Bedrock copy (no regional markup)."""
    if model in ref and ref[model].get("litellm_provider") == provider:
        return model, ref[model]
    native = [k for k, v in ref.items() if v.get("litellm_provider") == provider and normalize(k) == model]
    if native:
        return sorted(native, key=len)[0], ref[sorted(native, key=len)[0]]
    if provider == "anthropic":
        bedrock = [
            k
            for k, v in ref.items()
            if str(v.get("litellm_provider", "")).startswith("bedrock")
            and normalize(k) == model
            and not re.match(r"^(us|eu|apac|au|jp|us-gov)\.", k)
        ]
        if bedrock:
            key = max(bedrock, key=lambda k: (re.findall(r"\d{8}", k) or [""])[0])  # the newest snapshot
            return key, ref[key]
    return None


def per_million(entry: dict[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return None if value is None else round(float(value) * 1_000_000, 6)


def ours_value(price: ModelPrice, field: str) -> float:
    return {
        "input": price.input,
        "output": price.output,
        "cache_read": price.cache_read_price,
        "cache_write_5m": price.write_5m_price,
        "cache_write_1h": price.write_1h_price,
    }[field]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument(
        "--prices", type=Path, default=None, help="a user price file to merge, as PROMPTYARD_PRICES_FILE"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a price differs")
    args = parser.parse_args()

    ref: dict[str, Any] = json.loads(args.reference.read_text())
    table = PriceTable.load(args.prices)
    mismatches: list[tuple[str, str, str, float, float, str]] = []
    unknown: list[str] = []
    checked = 0
    for provider in ("openai", "anthropic"):
        for model in table.models(provider):
            if model == WILDCARD:
                continue
            price = table.lookup(provider, model)
            assert price is not None
            found = reference_entry(ref, provider, model)
            if found is None:
                unknown.append(f"{provider}/{model}")
                continue
            key, entry = found
            checked += 1
            for field, ref_key in FIELDS.items():
                theirs = per_million(entry, ref_key)
                if theirs is None and field.startswith("cache_write") and provider == "openai":
                    theirs = per_million(entry, "input_cost_per_token")  # OpenAI: no write premium
                if theirs is None:
                    continue
                mine = ours_value(price, field)
                if abs(mine - theirs) > 1e-9:
                    mismatches.append((provider, model, field, mine, theirs, key))

    print(f"reference: {args.reference} ({len(ref)} entries)")
    print(f"checked {checked} models against the reference")
    if mismatches:
        print(f"\n{len(mismatches)} price(s) differ (USD per million tokens):")
        print(f"  {'model':<34} {'field':<15} {'ours':>10} {'reference':>10}  reference key")
        for provider, model, field, mine, theirs, key in mismatches:
            print(f"  {provider + '/' + model:<34} {field:<15} {mine:>10.4f} {theirs:>10.4f}  {key}")
    else:
        print("no price differs")
    if unknown:
        print(f"\nnot in the reference ({len(unknown)}): " + ", ".join(unknown))
    ours = {(p, m) for p in ("openai", "anthropic") for m in table.models(p)}
    missing = sorted(
        f"{v['litellm_provider']}/{k}"
        for k, v in ref.items()
        if v.get("litellm_provider") in {"openai", "anthropic"}
        and v.get("mode") == "chat"
        and not re.search(r"\d{4}-\d{2}-\d{2}|\d{8}|^ft:|/|audio|realtime|search|preview|transcribe", k)
        and table.lookup(v["litellm_provider"], k) is None
        and (v["litellm_provider"], normalize(k)) not in ours
    )
    if missing:
        print(f"\nreference chat models we do not price ({len(missing)}; add them with PROMPTYARD_PRICES_FILE):")
        print("  " + ", ".join(missing))
    return 1 if (mismatches and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
