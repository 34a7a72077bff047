"""RAG records: documents, chunks, corpora, search hits and cited answers.

Everything that crosses a seam (loader -> chunker -> embedder -> store -> retriever ->
context builder -> answer) is one of these pydantic models, so the CLI, the HTTP API
and the benchmark all see the same shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

SearchMode = Literal["hybrid", "vector", "bm25"]
FusionMethod = Literal["zscore", "rrf"]
"""How hybrid search merges its lists: z-score (normalized score) fusion or reciprocal rank fusion."""
SentenceRanking = Literal["overlap", "idf", "idf_embed"]
"""How context sentences are ranked against the question (``rag/sentences.py``)."""
TransformName = Literal["none", "hyde", "multi_query", "decompose"]

#: A metadata filter value: a scalar must match exactly, a list means "any of these".
FilterValue = str | int | float | bool | list[str | int | float | bool]
Filters = dict[str, FilterValue]


class Document(BaseModel):
    """One source document as loaded from a file (or one line of a ``.jsonl`` file)."""

    doc_id: str
    title: str = ""
    text: str
    source: str
    """The file it came from (a ``.jsonl`` file holds many documents)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    markdown: bool = False
    """Chunk along Markdown headings."""


class Chunk(BaseModel):
    """A piece of a document. ``text`` is exactly ``document.text[start:end]``."""

    chunk_id: str
    doc_id: str
    ordinal: int
    title: str = ""
    heading: str = ""
    """The section heading path the chunk sits under (``Setup > Install``), empty if none."""
    text: str
    start: int
    end: int
    source: str
    tokens: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def embed_text(self) -> str:
        """What the embedder and the keyword index see: title and heading give the chunk its context."""
        head = " > ".join(p for p in (self.title, self.heading) if p)
        return f"{head}\n{self.text}" if head else self.text


class ChunkConfig(BaseModel):
    """Per-corpus chunking settings (kept with the corpus; changing them re-chunks on re-ingest)."""

    chunk_tokens: int = Field(default=300, ge=16, le=8192)
    chunk_overlap: float = Field(default=0.15, ge=0.0, lt=0.9)


class CorpusInfo(BaseModel):
    name: str
    version: int
    """Bumped on every change; the gateway's answer cache keys on it."""
    embedder: str
    """The embedding model id the corpus was built with (vectors from another model do not mix)."""
    dim: int
    chunking: ChunkConfig = Field(default_factory=ChunkConfig)
    documents: int = 0
    chunks: int = 0
    tokens: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DocumentUpdate(BaseModel):
    """A new or changed document with its chunks and their vectors (rows of ``vectors``)."""

    model_config = {"arbitrary_types_allowed": True}

    document: Document
    content_hash: str
    chunks: list[Chunk]
    vectors: Any
    """``numpy.ndarray`` float32 ``(len(chunks), dim)``, L2-normalized."""


class Hit(BaseModel):
    """A retrieved chunk with its score at the stage that produced it."""

    chunk_id: str
    doc_id: str
    score: float
    title: str = ""
    heading: str = ""
    text: str = ""
    source: str = ""
    start: int = 0
    end: int = 0
    tokens: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)


class SearchResult(BaseModel):
    corpus: str
    corpus_version: int
    query: str
    mode: SearchMode
    hits: list[Hit]
    flags: list[str] = Field(default_factory=list)
    """``rerank_failed`` when the reranker failed and the fused order was kept."""
    transform: str | None = None
    transform_outputs: list[str] = Field(default_factory=list)
    vector_candidates: list[Hit] = Field(default_factory=list)
    bm25_candidates: list[Hit] = Field(default_factory=list)
    fused: list[Hit] = Field(default_factory=list)
    reranked: list[Hit] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class Citation(BaseModel):
    id: str
    title: str = ""
    source: str = ""
    snippet: str = ""


class ContextDocument(BaseModel):
    """One entry of the ``documents`` variable of ``rag_answer``: merged chunks of one document."""

    id: str
    title: str = ""
    text: str
    source: str = ""
    chunk_ids: list[str] = Field(default_factory=list)
    tokens: int = 0


class RagAnswer(BaseModel):
    answer: str | None
    """None when no answer was generated (timeout): ``message`` says why and ``sources`` remain."""
    citations: list[Citation] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    """``invalid_citation``, ``quote_not_found``, ``unsupported``, ``abstained``, ``generation_timeout``,
    ``rerank_failed``, ``whole_corpus``."""
    message: str | None = None
    sources: list[Citation] = Field(default_factory=list)
    """Every document given to the model, most relevant first."""
    corpus: str
    corpus_version: int
    trace_id: str | None = None
    prompt: str | None = None


Query = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class SearchRequest(BaseModel):
    """``POST /v1/rag/search`` and :meth:`RagService.search`."""

    corpus: str
    query: Query
    k: int = Field(default=8, ge=1, le=100)
    mode: SearchMode = "hybrid"
    filters: Filters | None = None
    rerank: bool | None = None
    """None: use the configured reranker if there is one."""
    transform: TransformName = "none"
    candidates: int | None = Field(default=None, ge=1, le=1000)
    vector_weight: float | None = Field(default=None, ge=0)
    bm25_weight: float | None = Field(default=None, ge=0)
    fusion: FusionMethod | None = None
    """How the lists are merged (unset: ``PROMPTYARD_RAG_FUSION``)."""


class AnswerRequest(BaseModel):
    """``POST /v1/rag/answer`` and :meth:`RagService.answer`."""

    corpus: str
    question: Query
    k: int = Field(default=8, ge=1, le=50)
    filters: Filters | None = None
    rerank: bool | None = None
    transform: TransformName = "none"
    prompt: str | None = None
    """``NAME@LABEL`` or ``NAME@VERSION`` (unset: ``PROMPTYARD_RAG_ANSWER_PROMPT``)."""
    timeout_s: float | None = Field(default=None, gt=0, le=600)
    """Generation timeout (unset: ``PROMPTYARD_RAG_ANSWER_TIMEOUT_S``)."""
    tenant: str | None = None
    end_user: str | None = None
