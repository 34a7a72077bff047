"""How fast ``PromptRegistry.resolve`` is on the gateway's hot path, cached and uncached.

Usage: ``.venv/bin/python bench/registry_resolve.py [--n 200000] [--cold 300] [--db-url URL]``

Syncs the example prompts into a fresh SQLite database (or the URL given), points
``production`` at ``summarize_email@1.1.0``, then times:

* cached resolves by label and by version (what the gateway pays per request), and
* cold resolves (cache cleared before each call: one or two database round trips).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from promptyard.prompts.registry import PromptRegistry
from promptyard.settings import load_settings
from promptyard.store.db import Database

REPO = Path(__file__).resolve().parents[1]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f}/s  ({seconds / n * 1e6:8.2f} µs each)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="cached resolves per case")
    parser.add_argument("--cold", type=int, default=300, help="uncached resolves per case")
    parser.add_argument("--db-url", default=None, help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db_url or f"sqlite:///{tmp}/bench.db"
        db = Database(url)
        registry = PromptRegistry(db, load_settings(home=Path(tmp), database_url=url))
        registry.sync(REPO / "prompts", actor="bench")
        registry.set_label("summarize_email", "production", "1.1.0", actor="bench")

        cases = {
            "label   summarize_email@production": {"label": "production"},
            "version summarize_email@1.1.0": {"version": "1.1.0"},
        }
        print(f"database: {db.dialect}")
        for title, kw in cases.items():
            registry.resolve("summarize_email", **kw)
            start = time.perf_counter()
            for _ in range(args.n):
                registry.resolve("summarize_email", **kw)
            print(f"cached  {title}: {rate(args.n, time.perf_counter() - start)}")
        for title, kw in cases.items():
            start = time.perf_counter()
            for _ in range(args.cold):
                registry.clear_cache()
                registry.resolve("summarize_email", **kw)
            print(f"cold    {title}: {rate(args.cold, time.perf_counter() - start)}")
        db.dispose()


if __name__ == "__main__":
    main()
