"""The reliability campaign, small: two uvicorn instances on a private Postgres and Redis, a few hundred
requests through every phase (faults, kill -9, Redis and Postgres restarts, the budget running out).

Nothing is lost, every trace is written except the measured kill -9 window, the hard budget overshoots
by less than one call's estimate, and a label move reaches both instances within a second.
The full-size run and its figures: docs/benchmarks.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.slow
def test_small_campaign_loses_nothing() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import campaign
    finally:
        sys.path.remove(str(BENCH))
    summary = campaign.run(campaign.parse(["--instances", "2", "--requests", "360", "--concurrency", "16"]))
    phases = summary["phases"]
    assert set(phases) == set(campaign.PHASES)
    for name, row in phases.items():
        assert row["lost"] == 0, (name, row)
        assert row["ok"] + row["clear"] == row["sent"], (name, row)  # every request answered or a clear error
        assert row["untraced_outside_kill"] == 0, (name, row)
        if name != "kill":
            assert row["traced"] == row["sent"], (name, row)
    assert phases["budget"]["clear"] > 0  # the budget ran out: 402s
    assert summary["budget_overshoot_usd"] <= summary["estimate_usd"]
    assert max(summary["label_delays_s"]) < 1.0
