"""Postgres store: pgvector HNSW for vectors, ``tsvector`` + GIN for keywords.

Tables ``rag_corpora``, ``rag_documents``, ``rag_chunks`` live in the connection's
search path (created if missing; the ``vector`` extension must be available). Corpora
may use embedders of different sizes, so the ``embedding`` column has no fixed size and
every corpus gets its own partial HNSW index on ``embedding::vector(dim)`` (cosine);
queries use the same expression so the planner picks that index. ``hnsw.ef_search`` is
raised to ``k`` per query and filtered queries use pgvector's iterative scan, so a
filter never silently shortens the list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from promptyard.errors import ConfigError, StoreError, StoreUnavailable
from promptyard.rag.models import ChunkConfig, CorpusInfo, DocumentUpdate, Filters, Hit
from promptyard.rag.stores.base import FILTER_COLUMNS, check_corpus_name, check_filters
from promptyard.rag.stores.query_text import tsquery_text

if TYPE_CHECKING:
    from promptyard.settings import Settings

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS rag_corpora (
        id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, embedder TEXT NOT NULL,
        dim INTEGER NOT NULL, chunking TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rag_documents (
        corpus_id BIGINT NOT NULL REFERENCES rag_corpora(id) ON DELETE CASCADE, doc_id TEXT NOT NULL,
        content_hash TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (corpus_id, doc_id))""",
    """CREATE TABLE IF NOT EXISTS rag_chunks (
        id BIGSERIAL PRIMARY KEY, corpus_id BIGINT NOT NULL REFERENCES rag_corpora(id) ON DELETE CASCADE,
        chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, title TEXT NOT NULL,
        heading TEXT NOT NULL, text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        source TEXT NOT NULL, tokens INTEGER NOT NULL, metadata JSONB NOT NULL, embedding vector NOT NULL,
        tsv tsvector NOT NULL, UNIQUE (corpus_id, chunk_id))""",
    "CREATE INDEX IF NOT EXISTS ix_rag_chunks_doc ON rag_chunks (corpus_id, doc_id)",
    "CREATE INDEX IF NOT EXISTS ix_rag_chunks_tsv ON rag_chunks USING gin (tsv)",
]
HIT_COLUMNS = 'chunk_id, doc_id, title, heading, text, source, start, "end", tokens, metadata'
TS_CONFIG = "english"


def _hit(row: Any, score: float = 0.0) -> Hit:
    m = row._mapping
    return Hit(
        chunk_id=m["chunk_id"], doc_id=m["doc_id"], score=score, title=m["title"], heading=m["heading"],
        text=m["text"], source=m["source"], start=m["start"], end=m["end"], tokens=m["tokens"],
        metadata=m["metadata"] or {},
    )  # fmt: skip


def _vec(v: npt.NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(v, dtype=np.float32).reshape(-1)) + "]"


class PgVectorStore:
    name = "pgvector"

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self._engine = engine or create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        self._stats: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        event.listen(self._engine, "connect", self._on_connect)
        with self._errors(), self._engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            for ddl in SCHEMA:
                conn.execute(text(ddl))

    @staticmethod
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SET jit = off")  # planning-time JIT costs more than these queries
        cur.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(f"pgvector store unavailable: {exc.orig or exc}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(f"pgvector store connection lost: {exc.orig or exc}") from exc
            if "vector" in str(exc.orig) and "extension" in str(exc.orig):
                raise ConfigError(
                    f"the Postgres server has no pgvector extension: {exc.orig}",
                    hint="install pgvector on the server or use PROMPTYARD_VECTOR_STORE=sqlite",
                ) from exc
            raise StoreError(f"pgvector store error: {exc.orig or exc}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"pgvector store error: {exc}") from exc

    # -- corpora -------------------------------------------------------------------------
    def _info(self, conn: Connection, row: Any) -> CorpusInfo:
        m = row._mapping
        key = (m["id"], m["version"], m["updated_at"])  # the counts change only with the version
        stats = self._stats.get(key)
        if stats is None:
            stats = tuple(
                conn.execute(
                    text(
                        "SELECT COUNT(*), COUNT(DISTINCT doc_id), COALESCE(SUM(tokens), 0) FROM rag_chunks"
                        " WHERE corpus_id = :c"
                    ),
                    {"c": m["id"]},
                ).one()
            )
            self._stats[key] = stats
        return CorpusInfo(
            name=m["name"], version=m["version"], embedder=m["embedder"], dim=m["dim"],
            chunking=ChunkConfig.model_validate_json(m["chunking"]), chunks=stats[0], documents=stats[1],
            tokens=int(stats[2]), created_at=m["created_at"], updated_at=m["updated_at"],
        )  # fmt: skip

    @staticmethod
    def _row(conn: Connection, name: str, *, lock: bool = False) -> Any:
        sql = "SELECT * FROM rag_corpora WHERE name = :n" + (" FOR UPDATE" if lock else "")
        return conn.execute(text(sql), {"n": name}).first()

    def _require(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        row = self._row(conn, name, lock=lock)
        if row is None:
            raise StoreError(f"corpus {name!r} does not exist")
        return row

    def list_corpora(self) -> list[CorpusInfo]:
        with self._errors(), self._engine.connect() as conn:
            return [self._info(conn, r) for r in conn.execute(text("SELECT * FROM rag_corpora ORDER BY name"))]

    def get_corpus(self, name: str) -> CorpusInfo | None:
        with self._errors(), self._engine.connect() as conn:
            row = self._row(conn, name)
            return None if row is None else self._info(conn, row)

    def create_corpus(self, name: str, *, embedder: str, dim: int, chunking: ChunkConfig) -> CorpusInfo:
        check_corpus_name(name)
        with self._errors(), self._engine.begin() as conn:
            if self._row(conn, name) is not None:
                raise StoreError(f"corpus {name!r} already exists")
            now = datetime.now(UTC)
            cid = conn.execute(
                text(
                    "INSERT INTO rag_corpora (name, version, embedder, dim, chunking, created_at, updated_at)"
                    " VALUES (:n, 0, :e, :d, :c, :t, :t) RETURNING id"
                ),
                {"n": name, "e": embedder, "d": int(dim), "c": chunking.model_dump_json(), "t": now},
            ).scalar_one()
            conn.execute(
                text(
                    f"CREATE INDEX rag_chunks_hnsw_{int(cid)} ON rag_chunks USING hnsw"
                    f" ((embedding::vector({int(dim)})) vector_cosine_ops) WHERE corpus_id = {int(cid)}"
                )
            )
            return self._info(conn, self._require(conn, name))

    def delete_corpus(self, name: str) -> None:
        with self._errors(), self._engine.begin() as conn:
            row = self._require(conn, name, lock=True)
            conn.execute(text(f"DROP INDEX IF EXISTS rag_chunks_hnsw_{int(row.id)}"))
            conn.execute(text("DELETE FROM rag_corpora WHERE id = :c"), {"c": row.id})

    def document_hashes(self, corpus: str) -> dict[str, tuple[str, str]]:
        with self._errors(), self._engine.connect() as conn:
            cid = self._require(conn, corpus).id
            rows = conn.execute(
                text("SELECT doc_id, content_hash, source FROM rag_documents WHERE corpus_id = :c"), {"c": cid}
            )
            return {r[0]: (r[1], r[2]) for r in rows}

    # -- writes ----------------------------------------------------------------------------
    def apply(
        self,
        corpus: str,
        *,
        upserts: Sequence[DocumentUpdate] = (),
        deletes: Sequence[str] = (),
        chunking: ChunkConfig | None = None,
    ) -> CorpusInfo:
        with self._errors(), self._engine.begin() as conn:
            row = self._require(conn, corpus, lock=True)
            cid, dim = row.id, row.dim
            ids = [*deletes, *(u.document.doc_id for u in upserts)]
            changed = False
            if ids:
                gone_chunks = conn.execute(
                    text("DELETE FROM rag_chunks WHERE corpus_id = :c AND doc_id = ANY(:ids)"), {"c": cid, "ids": ids}
                ).rowcount
                gone_docs = conn.execute(
                    text("DELETE FROM rag_documents WHERE corpus_id = :c AND doc_id = ANY(:ids)"),
                    {"c": cid, "ids": ids},
                ).rowcount
                changed = bool(gone_chunks or gone_docs)
            doc_rows: list[dict[str, Any]] = []
            chunk_rows: list[dict[str, Any]] = []
            for upd in upserts:
                vectors = np.asarray(upd.vectors, dtype=np.float32)
                if vectors.shape != (len(upd.chunks), dim):
                    raise StoreError(
                        f"document {upd.document.doc_id!r}: expected vectors of shape ({len(upd.chunks)}, {dim}),"
                        f" got {vectors.shape}"
                    )
                doc_rows.append({"c": cid, "d": upd.document.doc_id, "h": upd.content_hash, "s": upd.document.source})
                meta = json.dumps(upd.document.metadata, sort_keys=True, default=str)
                for ch, vec in zip(upd.chunks, vectors, strict=True):
                    chunk_rows.append(
                        {"c": cid, "id": ch.chunk_id, "d": ch.doc_id, "o": ch.ordinal, "ti": ch.title,
                         "he": ch.heading, "tx": ch.text, "st": ch.start, "en": ch.end, "so": ch.source,
                         "tk": ch.tokens, "m": meta, "v": _vec(vec), "b": ch.embed_text}
                    )  # fmt: skip
            if doc_rows:
                conn.execute(
                    text("INSERT INTO rag_documents (corpus_id, doc_id, content_hash, source) VALUES (:c, :d, :h, :s)"),
                    doc_rows,
                )
                changed = True
            for i in range(0, len(chunk_rows), 1000):
                conn.execute(
                    text(
                        "INSERT INTO rag_chunks (corpus_id, chunk_id, doc_id, ordinal, title, heading, text, start,"
                        ' "end", source, tokens, metadata, embedding, tsv) VALUES (:c, :id, :d, :o, :ti, :he, :tx,'
                        " :st, :en, :so, :tk, CAST(:m AS jsonb), CAST(:v AS vector),"
                        f" to_tsvector('{TS_CONFIG}', :b))"
                    ),
                    chunk_rows[i : i + 1000],
                )
            if chunking is not None and chunking.model_dump_json() != row.chunking:
                conn.execute(
                    text("UPDATE rag_corpora SET chunking = :c WHERE id = :i"),
                    {"c": chunking.model_dump_json(), "i": cid},
                )
                changed = True
            if changed:
                conn.execute(
                    text("UPDATE rag_corpora SET version = version + 1, updated_at = :t WHERE id = :c"),
                    {"t": datetime.now(UTC), "c": cid},
                )
            return self._info(conn, self._require(conn, corpus))

    # -- reads -----------------------------------------------------------------------------
    @staticmethod
    def _filter_sql(filters: Filters | None) -> tuple[str, dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for n, (key, values) in enumerate(check_filters(filters)):
            names = [f"f{n}_{i}" for i in range(len(values))]
            if key in FILTER_COLUMNS:
                clauses.append(f"{key} IN ({', '.join(':' + x for x in names)})")
                params.update({x: str(v) for x, v in zip(names, values, strict=True)})
            else:
                params[f"k{n}"] = key
                clauses.append(f"metadata -> :k{n} IN ({', '.join(f'CAST(:{x} AS jsonb)' for x in names)})")
                params.update({x: json.dumps(v) for x, v in zip(names, values, strict=True)})
        return "".join(f" AND {c}" for c in clauses), params

    def vector_search(
        self, corpus: str, vector: npt.NDArray[np.float32], k: int, filters: Filters | None = None
    ) -> list[Hit]:
        if k <= 0:
            return []
        with self._errors(), self._engine.begin() as conn:
            row = self._require(conn, corpus)
            dim = int(row.dim)
            conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(40, min(int(k), 1000))}"))
            where, params = self._filter_sql(filters)
            if filters:
                conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
            rows = conn.execute(
                text(
                    f"SELECT chunk_id, doc_id, embedding::vector({dim}) <=> CAST(:q AS vector({dim})) AS dist"
                    f" FROM rag_chunks WHERE corpus_id = :c{where} ORDER BY dist LIMIT :k"
                ),
                {"q": _vec(vector), "c": row.id, "k": int(k), **params},
            ).all()
        hits = [Hit(chunk_id=r[0], doc_id=r[1], score=1.0 - float(r[2])) for r in rows]
        return sorted(hits, key=lambda h: -h.score)

    def keyword_search(self, corpus: str, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        tsq = tsquery_text(query)
        with self._errors(), self._engine.connect() as conn:
            cid = self._require(conn, corpus).id
            if tsq is None or k <= 0:
                return []
            where, params = self._filter_sql(filters)
            rows = conn.execute(
                text(
                    f"SELECT chunk_id, doc_id, ts_rank(tsv, q, 1) AS s FROM rag_chunks, to_tsquery('{TS_CONFIG}', :q) q"
                    f" WHERE corpus_id = :c AND tsv @@ q{where} ORDER BY s DESC, id LIMIT :k"
                ),
                {"q": tsq, "c": cid, "k": int(k), **params},
            ).all()
            return [Hit(chunk_id=r[0], doc_id=r[1], score=float(r[2])) for r in rows]

    def fetch(self, corpus: str, chunk_ids: Sequence[str]) -> dict[str, Hit]:
        if not chunk_ids:
            return {}
        with self._errors(), self._engine.connect() as conn:
            cid = self._require(conn, corpus).id
            rows = conn.execute(
                text(f"SELECT {HIT_COLUMNS} FROM rag_chunks WHERE corpus_id = :c AND chunk_id = ANY(:ids)"),
                {"c": cid, "ids": list(chunk_ids)},
            )
            return {r.chunk_id: _hit(r) for r in rows}

    def all_chunks(self, corpus: str, *, limit: int) -> list[Hit]:
        with self._errors(), self._engine.connect() as conn:
            cid = self._require(conn, corpus).id
            rows = conn.execute(
                text(f"SELECT {HIT_COLUMNS} FROM rag_chunks WHERE corpus_id = :c ORDER BY doc_id, ordinal LIMIT :l"),
                {"c": cid, "l": int(limit)},
            )
            return [_hit(r) for r in rows]

    def close(self) -> None:
        self._engine.dispose()


def create(settings: Settings) -> PgVectorStore:
    url = settings.pgvector_url or settings.database_url
    if not url or not url.startswith("postgresql"):
        raise ConfigError(
            "the pgvector store needs a Postgres URL", hint="set PROMPTYARD_PGVECTOR_URL=postgresql+psycopg://..."
        )
    return PgVectorStore(url)
