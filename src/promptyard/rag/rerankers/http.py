"""A Cohere/Jina-style rerank API over httpx.

Request: ``POST <url>`` with ``{"model", "query", "documents": [text, ...], "top_n"}``.
Response: ``{"results": [{"index": i, "relevance_score": s}, ...]}`` (Cohere v1/v2, Jina,
Voyage-compatible and the text-embeddings-inference ``/rerank`` shape ``[{"index", "score"}]``).
Errors are translated here into :mod:`promptyard.errors`; the retriever turns any failure
into a flagged, un-reranked answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from promptyard.errors import BadRequest, ConfigError, ProviderError, ProviderTimeout, ProviderUnavailable
from promptyard.rag.models import Hit
from promptyard.rag.rerankers.base import apply_scores

if TYPE_CHECKING:
    from promptyard.settings import Settings


class HttpReranker:
    name = "http"
    active = True

    def __init__(
        self,
        url: str,
        *,
        model: str = "",
        api_key: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout_s, transport=transport)

    def _scores(self, body: Any, n: int) -> list[float]:
        results = body.get("results", body.get("data")) if isinstance(body, dict) else body
        if not isinstance(results, list):
            raise ProviderError("rerank response has no 'results' list", provider=self.name)
        scores = [float("-inf")] * n
        for item in results:
            index = int(item["index"])
            if not 0 <= index < n:
                raise ProviderError(f"rerank response index {index} out of range", provider=self.name)
            scores[index] = float(item.get("relevance_score", item.get("score")))
        return scores

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        if not hits:
            return []
        body: dict[str, Any] = {"query": query, "documents": [h.text for h in hits], "top_n": len(hits)}
        if self.model:
            body["model"] = self.model
        try:
            resp = self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"rerank request timed out: {exc}", provider=self.name) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"rerank endpoint unreachable: {exc}", provider=self.name) from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise ProviderUnavailable(f"rerank endpoint answered {resp.status_code}", provider=self.name)
        if resp.status_code >= 400:
            raise BadRequest(f"rerank refused ({resp.status_code}): {resp.text[:200]}", provider=self.name)
        try:
            scores = self._scores(resp.json(), len(hits))
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"malformed rerank response: {exc}", provider=self.name) from exc
        return apply_scores(hits, scores)

    def close(self) -> None:
        self._client.close()


def create(settings: Settings) -> HttpReranker:
    if not settings.reranker_url:
        raise ConfigError("the http reranker needs an endpoint", hint="set PROMPTYARD_RERANKER_URL")
    key = settings.reranker_api_key.get_secret_value() if settings.reranker_api_key else None
    return HttpReranker(
        settings.reranker_url, model=settings.reranker_model, api_key=key, timeout_s=settings.reranker_timeout_s
    )
