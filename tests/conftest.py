"""Shared fixtures. Domain fixtures live in ``tests/<domain>/conftest.py``.

Network is off by default: nothing here reaches beyond loopback, and model hubs are
disabled (``HF_HUB_OFFLINE=1``). The real Postgres and Redis on this machine are used
for real; each test gets its own Postgres schema and Redis key prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from promptyard.testing import FakeProvider, registered_provider
from tests.pg import fresh_schema

if TYPE_CHECKING:
    from promptyard.providers.local import LocalProvider

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PG_ADMIN_URL = os.environ.get("PROMPTYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PROMPTYARD_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """A scripted FakeProvider registered as provider ``fake`` through the real registry."""
    with registered_provider() as provider:
        yield provider


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'promptyard.db').as_posix()}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the real Postgres ``test`` database, dropped afterwards."""
    with fresh_schema(PG_ADMIN_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on the real Postgres."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis, database 15, flushed of this test's keys afterwards via a unique prefix."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"pytest:{uuid.uuid4().hex[:10]}:"
    os.environ["PROMPTYARD_TEST_REDIS_PREFIX"] = prefix
    try:
        yield REDIS_URL
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


@pytest.fixture(scope="session")
def local_provider() -> LocalProvider:
    """The in-process SmolLM2 provider, its model loaded once for the whole session.

    The loaded model is shared by the process: any ``local`` provider created with the
    default ``PROMPTYARD_LOCAL_*`` settings (e.g. by a Runtime in gateway tests) reuses it.
    Loading runs the runtime probe first (a smoke generation in a child process), so a native
    crash of llama.cpp fails the tests that need the model with ``LocalRuntimeBroken`` naming
    the signal, the stage and the fix, instead of killing the pytest process.
    """
    from promptyard.providers.local import create
    from promptyard.settings import load_settings

    provider = create(load_settings())
    provider.load()
    return provider
