"""The parsed form of a prompt file: front matter plus message blocks.

A :class:`PromptSpec` is what ``prompts/files.py`` parses, what the registry stores
(as JSON, next to the raw file text and its content hash) and what the renderer and the
gateway consume.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from promptyard.chat import CacheTTL, Role
from promptyard.guards.base import GuardsConfig
from promptyard.providers.base import ConstraintKind, ConstraintOptions
from promptyard.rag.models import SentenceRanking

VarType = Literal["string", "integer", "number", "boolean", "list", "object"]
FallbackTrigger = Literal["rate_limited", "unavailable", "timeout"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariableSpec(_Strict):
    """A declared template variable."""

    type: VarType = "string"
    required: bool = True
    default: Any = None
    description: str = ""
    untrusted: bool = False
    """Wrap the value in nonce-named delimiter tags and neutralize anything that could close them."""
    max_length: int | None = None
    """Maximum length in characters (strings) or items (lists)."""
    delimiter: str = "user_input"
    """Base name of the delimiter tag for untrusted values (``<user_input-3f9a…>``)."""


class Fallback(_Strict):
    """A model to try when the primary fails.

    ``degraded`` marks a lesser model: it is used only when the prompt allows it, and a
    response it produced carries ``degraded: true``.
    """

    model: str
    """``provider/model``, e.g. ``anthropic/claude-haiku-4-5``."""
    on: list[FallbackTrigger] = Field(default_factory=lambda: list[FallbackTrigger](["rate_limited"]))
    degraded: bool = False


class ConstrainConfig(_Strict, ConstraintOptions):
    """``model.constrain``: constrained decoding, applied by providers that can (docs/prompts.md).

    ``constrain: cited_extractive`` is short for ``constrain: {kind: cited_extractive}``. The
    options (``max_span_tokens``, ``min_support``, ...) are :class:`ConstraintOptions`.
    """

    kind: ConstraintKind
    sources: str = "documents"
    """The list variable whose items (``{id, text}``) the answer copies from and cites."""
    question: str | None = None
    """The string variable holding the question: the span then avoids repeating its words."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value


class ModelConfig(_Strict):
    provider: str = "local"
    model: str = "smollm2-135m-instruct"
    temperature: float = 0.2
    max_tokens: int = 256
    top_p: float | None = None
    stop: list[str] = Field(default_factory=list)
    response_format: Literal["text", "json"] = "text"
    fallbacks: list[Fallback] = Field(default_factory=list)
    allow_degraded: bool = False
    """Allow fallbacks marked ``degraded`` when the primary is down."""
    timeout_s: float | None = None
    """Per-prompt generation timeout (unset: ``PROMPTYARD_REQUEST_TIMEOUT_S``)."""
    constrain: ConstrainConfig | None = None
    """Constrained decoding of the answer (see :class:`ConstrainConfig`)."""


class ContextConfig(_Strict):
    """``context``: how the RAG answer path trims the retrieved documents before rendering this
    prompt (docs/prompt-files.md). Unset: whole passages. ``PROMPTYARD_RAG_CONTEXT_SENTENCES``
    set non-zero overrides it (then all three come from the settings)."""

    sentences: int = Field(ge=1)
    """Keep this many sentences of each document, those most related to the question."""
    sentences_total: int = Field(default=0, ge=0)
    """Then keep only this many of the kept sentences over all documents, the best-ranked (0: no cap);
    a document left without a sentence is dropped from the context."""
    ranking: SentenceRanking = "idf_embed"
    """How sentences are ranked against the question: ``overlap``, ``idf`` or ``idf_embed`` (``rag/sentences.py``)."""


class OutputRules(_Strict):
    json_schema: dict[str, Any] | None = None
    required_sections: list[str] = Field(default_factory=list)
    """Strings (e.g. headings) that must appear in the output."""
    min_tokens: int | None = None
    max_tokens: int | None = None


class MessageBlock(_Strict):
    """One message template. ``line`` is its first line in the source file."""

    role: Role
    template: str
    line: int = 0


class Breakpoint(_Strict):
    """A cache breakpoint between blocks: blocks ``[0, after_blocks)`` are the stable prefix."""

    after_blocks: int
    ttl: CacheTTL = "1h"


class PromptSpec(_Strict):
    name: str
    version: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    changelog: str = ""
    model: ModelConfig = Field(default_factory=ModelConfig)
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    output: OutputRules = Field(default_factory=OutputRules)
    blocks: list[MessageBlock]
    breakpoints: list[Breakpoint] = Field(default_factory=list)
    guards: GuardsConfig | None = None
    """Input and output guards for this prompt (docs/guards.md)."""
    context: ContextConfig | None = None
    """Context trimming when the RAG answer path renders this prompt (see :class:`ContextConfig`)."""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"
