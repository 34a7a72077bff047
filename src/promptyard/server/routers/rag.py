"""RAG API: hybrid search and cited answers over a corpus.

- ``POST /v1/rag/search`` (app): ranked chunks; ``?explain=true`` adds every candidate
  list (vector, BM25, fused, reranked) and the stage timings.
- ``POST /v1/rag/answer`` (app): an answer whose ``[doc_id]`` citations were checked,
  with citations, flags and the sources; on generation timeout, the sources and a message.
- ``GET /v1/rag/corpora`` (viewer): the corpora with their versions and sizes.

An empty query answers 422; an unknown corpus 404 naming the corpora that exist; a
vector store that stays unreachable after its retries 503.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from promptyard.rag.models import AnswerRequest, CorpusInfo, RagAnswer, SearchRequest
from promptyard.server.auth import require, runtime_of
from promptyard.server.keys import ApiKey

router = APIRouter(prefix="/v1/rag", tags=["rag"])

_viewer = Depends(require("viewer"))
_app = Depends(require("app"))
_EXPLAIN_ONLY = {"vector_candidates", "bm25_candidates", "fused", "reranked", "timings_ms"}


@router.post("/search")
async def search(
    body: SearchRequest,
    request: Request,
    explain: bool = Query(False, description="Include every candidate list and the stage timings."),
    _key: ApiKey = _app,
) -> dict[str, Any]:
    result = await runtime_of(request).rag.asearch(body)
    return result.model_dump(mode="json", exclude=None if explain else _EXPLAIN_ONLY)


@router.post("/answer", response_model=RagAnswer)
async def answer(body: AnswerRequest, request: Request, key: ApiKey = _app) -> RagAnswer:
    return await runtime_of(request).rag.answer(body)


@router.get("/corpora", response_model=list[CorpusInfo])
async def corpora(request: Request, _key: ApiKey = _viewer) -> list[CorpusInfo]:
    import asyncio

    return await asyncio.to_thread(runtime_of(request).rag.corpora)
