"""Splits, the lease and a canary rollback on both databases (SQLite and the real Postgres)."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptyard.errors import PromptyardError
from promptyard.experiments.canary import CanarySpec
from promptyard.experiments.canary_controller import Canaries
from promptyard.experiments.lease import Lease
from promptyard.experiments.model import ExperimentSpec, parse_arms
from promptyard.experiments.splits import SplitTable
from promptyard.experiments.stats import srm_check
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.store.db import Database
from promptyard.testing import FakeProvider
from tests.experiments.conftest import make_runtime, write_prompts

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_split_lease_and_rollback(tmp_path: Path, db_url: str, fake: FakeProvider) -> None:
    write_prompts(tmp_path / "prompts")
    rt = make_runtime(tmp_path, db_url)
    rt.registry.sync(tmp_path / "prompts", actor="tests")
    rt.registry.set_label("greet", "production", "1.0.0", actor="tests")

    rt.experiments.start(ExperimentSpec(name="ab", prompt="greet", arms=parse_arms("1.0.0=50,1.1.0=50")), actor="t")
    other = SplitTable(Database(db_url, migrate=False))
    picks = [other.assign("greet", "production", CallContext(end_user=f"u{i}")) for i in range(2000)]
    counts = Counter(p.version for p in picks if p is not None)
    assert not srm_check([counts["1.0.0"], counts["1.1.0"]], [1, 1]).mismatch
    assert picks == [
        rt.experiments.splits.assign("greet", "production", CallContext(end_user=f"u{i}")) for i in range(2000)
    ]
    rt.experiments.stop("ab", actor="t")

    a, b = Lease(rt.db, "l", "a", ttl_s=30), Lease(Database(db_url, migrate=False), "l", "b", ttl_s=30)
    assert a.acquire(T0)
    assert not b.acquire(T0 + timedelta(seconds=10))
    assert a.acquire(T0 + timedelta(seconds=20))  # renewed until +50 s
    assert not b.acquire(T0 + timedelta(seconds=45))
    assert b.acquire(T0 + timedelta(seconds=51))
    assert a.holder_now() == "b"

    fake.fail_share(0.2, model="model-b")
    canaries = Canaries(rt.experiments, alert=lambda _a: None, clock=lambda: T0)
    canaries.start(CanarySpec(prompt="greet", to="1.1.0", name="c"), actor="t")
    for i in range(800):
        ctx = CallContext(end_user=f"user-{i}")
        with contextlib.suppress(PromptyardError):
            await rt.gateway.run(PromptCall(name="greet", label="production", variables={"who": f"{i}"}, context=ctx))
    assert "rolled back" in canaries.tick()[0]
    assert rt.registry.label("greet", "production").version == "1.0.0"
    await rt.aclose()
