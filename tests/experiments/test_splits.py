"""Splits on a label: sticky, deterministic, restart-proof assignment; traces and audit record it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from promptyard.errors import ExperimentError
from promptyard.experiments.model import ExperimentSpec, parse_arms
from promptyard.experiments.splits import SplitTable, bucket, pick
from promptyard.experiments.stats import srm_check
from promptyard.gateway.base import CallContext, PromptCall
from promptyard.runtime import Runtime
from promptyard.store.db import Database
from promptyard.store.tables.tracing import TraceRow
from promptyard.testing import FakeProvider
from tests.experiments.conftest import make_runtime

USERS = [f"user-{i}" for i in range(10_000)]


def call_for(user: str) -> PromptCall:
    return PromptCall(name="greet", label="production", variables={"who": user}, context=CallContext(end_user=user))


def spec(name: str = "greet-ab", arms: str = "1.0.0=50,1.1.0=50", unit: str = "user") -> ExperimentSpec:
    return ExperimentSpec(name=name, prompt="greet", arms=parse_arms(arms), unit=unit)  # type: ignore[arg-type]


def test_ten_thousand_users_pass_srm_and_keep_their_arm_across_calls_and_a_restart(
    runtime: Runtime, tmp_path: Path, sqlite_url: str
) -> None:
    runtime.experiments.start(spec(), actor="tests")
    table = SplitTable(runtime.db, ttl_s=60)  # what a server's gateway holds (the fixture's TTL is 0)
    first = {u: table.assign("greet", "production", CallContext(end_user=u)) for u in USERS}
    again = {u: table.assign("greet", "production", CallContext(end_user=u)) for u in USERS}
    counts = Counter(a.version for a in first.values() if a is not None)
    assert set(counts) == {"1.0.0", "1.1.0"}
    srm = srm_check([counts["1.0.0"], counts["1.1.0"]], [50, 50])
    assert not srm.mismatch, srm
    assert all(first[u] == again[u] for u in USERS)
    assert all(a is not None and a.unit == u and a.experiment == "greet-ab" for u, a in first.items())

    restarted = SplitTable(Database(sqlite_url), ttl_s=60)  # a new process on the same database
    after = {u: restarted.assign("greet", "production", CallContext(end_user=u)) for u in USERS}
    assert after == first


async def test_the_gateway_routes_by_the_split_and_every_trace_records_experiment_arm_unit(
    runtime: Runtime, fake: FakeProvider, tmp_path: Path, sqlite_url: str
) -> None:
    runtime.experiments.start(spec(), actor="tests")
    users = USERS[:300]
    arms: dict[str, str] = {}
    for call in range(2):
        for user in users:
            result = await runtime.gateway.run(
                PromptCall(
                    name="greet", label="production", variables={"who": user}, context=CallContext(end_user=user)
                )
            )
            version = (result.prompt or "").split("@")[1]
            assert arms.setdefault(user, version) == version, f"{user} switched arm on call {call}"
            assert result.model == ("model-a" if version == "1.0.0" else "model-b")
    await runtime.aclose()

    rt2 = make_runtime(tmp_path, sqlite_url)  # a restarted server: new runtime, registry and gateway
    for user in users[:50]:
        result = await rt2.gateway.run(call_for(user))
        assert (result.prompt or "").split("@")[1] == arms[user]
    analysis = rt2.experiments.status("greet-ab")
    assert sum(a.traces for a in analysis.arms) == 650
    assert [a.units for a in analysis.arms] == [Counter(arms.values())["1.0.0"], Counter(arms.values())["1.1.0"]]
    assert not analysis.srm.mismatch
    with rt2.db.session() as s:
        traced = s.execute(select(TraceRow.experiment, TraceRow.experiment_arm, TraceRow.experiment_unit)).all()
    assert len(traced) == 650
    assert all(exp == "greet-ab" and arms[unit] == arm for exp, arm, unit in traced)
    await rt2.aclose()


async def test_without_a_unit_calls_are_split_at_random_and_record_no_unit(runtime: Runtime) -> None:
    runtime.experiments.start(spec(unit="session"), actor="tests")
    a = runtime.experiments.splits.assign("greet", "production", CallContext(end_user="u1"))
    assert a is not None
    assert a.unit is None
    b = runtime.experiments.splits.assign("greet", "production", CallContext(session="s1"))
    assert b is not None
    assert b.unit == "s1"


def test_split_start_and_end_land_in_the_audit_log_and_rollback_ignores_them(runtime: Runtime) -> None:
    runtime.experiments.start(spec(), actor="alice")
    with pytest.raises(ExperimentError, match="already split"):
        runtime.experiments.start(spec(name="other"), actor="bob")
    runtime.experiments.stop("greet-ab", actor="alice", reason="enough")
    assert runtime.experiments.splits.assign("greet", "production", CallContext(end_user="x")) is None
    events = [e for e in runtime.registry.history("greet") if e.kind == "label"]
    actions = [(e.action, e.actor) for e in events]  # type: ignore[union-attr]
    assert actions == [("set", "tests"), ("split", "alice"), ("split_end", "alice")]
    assert "1.0.0=50%,1.1.0=50%" in (events[1].reason or "")  # type: ignore[union-attr]
    runtime.registry.set_label("greet", "production", "1.1.0", actor="tests")
    assert runtime.registry.rollback("greet", "production", actor="tests").to_version == "1.0.0"


def test_promote_moves_the_label_and_ends_the_split(runtime: Runtime) -> None:
    runtime.experiments.start(spec(), actor="tests")
    move = runtime.experiments.promote("greet-ab", version="1.1.0", actor="tests")
    assert (move.action, move.from_version, move.to_version) == ("promote", "1.0.0", "1.1.0")
    assert runtime.registry.label("greet", "production").version == "1.1.0"
    assert runtime.experiments.get("greet-ab").status == "promoted"


def test_weights_map_to_ranges_and_buckets_are_uniform() -> None:
    arms = parse_arms("1.0.0=90,1.1.0=10")
    picks = Counter(pick(arms, bucket(7, u)) for u in USERS)
    assert srm_check([picks["1.0.0"], picks["1.1.0"]], [90, 10]).mismatch is False
    assert pick(arms, 0.0) == "1.0.0"
    assert pick(arms, 0.95) == "1.1.0"


async def test_session_units_over_http_and_the_client(runtime: Runtime) -> None:
    import httpx

    from promptyard.client import AsyncClient
    from promptyard.server.app import create_app

    runtime.experiments.start(spec(unit="session"), actor="tests")
    key = runtime.keys.create("app", "app").secret
    asgi = httpx.ASGITransport(app=create_app(runtime))
    async with AsyncClient("http://testserver", api_key=key, transport=asgi) as py:
        got = {}
        for i in range(40):
            result = await py.run("greet", label="production", variables={"who": f"w{i}"}, session=f"s{i}")
            got[f"s{i}"] = result.prompt
        again = [(await py.run("greet", label="production", variables={"who": "z"}, session=s)).prompt for s in got]
    assert again == list(got.values())
    assert set(got.values()) == {"greet@1.0.0", "greet@1.1.0"}
    runtime.experiments.flush()
    with runtime.db.session() as s:
        units = set(s.scalars(select(TraceRow.experiment_unit)))
    assert units == set(got)


def test_a_label_under_a_split_only_moves_by_its_promotion(runtime: Runtime) -> None:
    runtime.experiments.start(spec(), actor="tests")
    with pytest.raises(ExperimentError, match="split by ab 'greet-ab'") as refused:
        runtime.registry.set_label("greet", "production", "1.1.0", actor="ops")
    assert "promptyard experiments stop greet-ab" in str(refused.value)
    assert runtime.registry.set_label("greet", "staging", "1.1.0", actor="ops").changed  # other labels move
    runtime.experiments.promote("greet-ab", version="1.1.0", actor="ops")
    assert runtime.registry.label("greet", "production").version == "1.1.0"
    assert runtime.registry.set_label("greet", "production", "1.0.0", actor="ops").changed  # split over


async def test_the_run_endpoint_takes_user_as_the_unit_too(runtime: Runtime) -> None:
    import httpx

    from promptyard.server.app import create_app

    runtime.experiments.start(spec(), actor="tests")
    key = runtime.keys.create("app", "app").secret
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://t") as c:
        body = {"label": "production", "variables": {"who": "a"}, "user": "user-7"}
        r = await c.post("/v1/prompts/greet/run", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    expected = runtime.experiments.splits.assign("greet", "production", CallContext(end_user="user-7"))
    assert expected is not None
    assert r.json()["prompt"] == f"greet@{expected.version}"
