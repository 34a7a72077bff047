"""Query transforms through the gateway, each a versioned prompt under ``prompts/``.

- ``hyde``: the model writes a passage that would answer the question; vector search
  uses the question and that passage, BM25 the question.
- ``multi_query``: three rewrites; each one (and the question) is searched both ways.
- ``decompose``: simpler sub-questions; each one (and the question) is searched both ways.

All the lists are fused by reciprocal rank. The transform name and what the model
produced go into the request's trace. Transform prompts are resolved by
``PROMPTYARD_RAG_TRANSFORM_LABEL`` (a label, or a version like ``1.0.0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from promptyard.gateway.base import CallContext, GatewayAPI, PromptCall
from promptyard.prompts.refs import is_version

MAX_EXTRA_QUERIES = 3
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|[a-z][.)]|q\d*[:.)])\s*", re.IGNORECASE)


@dataclass
class TransformOutput:
    name: str
    outputs: list[str]
    vector_queries: list[str]
    keyword_queries: list[str]
    prompt: str | None = None
    trace_ids: list[str] = field(default_factory=list)


def split_lines(text: str, *, limit: int = MAX_EXTRA_QUERIES) -> list[str]:
    """Non-empty lines with list markers stripped, duplicates dropped, at most ``limit``."""
    out: dict[str, None] = {}
    for line in text.splitlines():
        cleaned = _BULLET.sub("", line).strip().strip('"').strip()
        if len(cleaned) >= 3:
            out.setdefault(cleaned, None)
    return list(out)[:limit]


def _call(name: str, ref: str, question: str, corpus_version: int, parent: str | None) -> PromptCall:
    pin = {"version": ref} if is_version(ref) else {"label": ref}
    return PromptCall(
        name=name,
        variables={"question": question},
        corpus_version=corpus_version,
        context=CallContext(parent_trace_id=parent),
        **pin,
    )


def route_queries(name: str, question: str, outputs: list[str]) -> tuple[list[str], list[str]]:
    """The vector and keyword queries for a transform's outputs (also used by trace replay).

    HyDE embeds the hypothetical answer but keeps keyword search on the question; multi-query
    and decomposition send every query to both retrievers.
    """
    if name == "hyde":
        return [question, *outputs], [question]
    queries = [question, *outputs]
    return queries, queries


async def run_transform(
    name: str,
    question: str,
    *,
    gateway: GatewayAPI,
    ref: str,
    corpus_version: int,
    parent_trace_id: str | None = None,
) -> TransformOutput:
    result = await gateway.run(_call(name, ref, question, corpus_version, parent_trace_id))
    text = result.text.strip()
    if name == "hyde":
        outputs = [text] if text else []
    else:
        outputs = [q for q in split_lines(text) if q.casefold() != question.casefold()]
    vector, keyword = route_queries(name, question, outputs)
    return TransformOutput(
        name=name,
        outputs=outputs,
        vector_queries=vector,
        keyword_queries=keyword,
        prompt=result.prompt,
        trace_ids=[result.trace_id],
    )
