"""Tracing fixtures: trace factories, a database per backend, an app with keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from promptyard.runtime import Runtime
from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.tracing.model import Candidate, StageLatencies, Trace

T0 = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


def make_trace(**kw: Any) -> Trace:
    """A plausible finished prompt trace; any field can be overridden (``latency`` as a dict)."""
    latency = kw.pop("latency", {})
    base: dict[str, Any] = {
        "timestamp": T0,
        "kind": "prompt",
        "status": "ok",
        "project": "default",
        "prompt_name": "greet",
        "prompt_version": "1.0.0",
        "prompt_label": "production",
        "inputs": {"who": "Ada"},
        "provider": "fake",
        "model": "m1",
        "input_tokens": 100,
        "output_tokens": 20,
        "cost_usd": 0.01,
        "answer": "Hello, Ada!",
        "config": {"provider": "fake", "model": "m1", "temperature": 0.2, "max_tokens": 64},
        "latency": StageLatencies(**({"total_ms": 120.0, "generate_ms": 110.0} | latency)),
    }
    return Trace(**(base | kw))


def rag_trace(**kw: Any) -> Trace:
    cands = [Candidate(chunk_id=f"c{i}", doc_id=f"d{i}", score=1.0 / (i + 1)) for i in range(3)]
    return make_trace(
        kind="rag",
        corpus="docs",
        corpus_version=3,
        transform="hyde",
        transform_outputs=["a hypothetical answer"],
        vector_candidates=cands,
        bm25_candidates=cands[::-1],
        fused=cands,
        reranked=cands[:2],
        context_chunk_ids=["c0", "c1"],
        query="what is x?",
        latency={"embed_ms": 5.0, "vector_ms": 3.0, "bm25_ms": 2.0, "rerank_ms": 8.0},
        **kw,
    )


@pytest.fixture
def traces_dir(tmp_path: Path) -> Path:
    return tmp_path / "traces"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def build(**overrides: Any) -> Runtime:
        settings = Settings(home=tmp_path, **overrides)
        rt = Runtime(settings)
        made.append(rt)
        return rt

    yield build
    for rt in made:
        if "rag" in rt.__dict__:
            rt.rag.close()
        if "tracer" in rt.__dict__:
            close = getattr(rt.tracer, "close", None)
            if close is not None:
                close()
        if "db" in rt.__dict__:
            rt.db.dispose()
