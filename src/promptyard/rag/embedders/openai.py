"""OpenAI-compatible ``POST /embeddings`` over httpx.

Works with any server speaking the OpenAI embeddings wire format (OpenAI, llama.cpp's
server, vLLM, ...). Errors are translated once, here: 429 -> RateLimited, 5xx and
connection failures -> ProviderUnavailable, timeouts -> ProviderTimeout, other 4xx ->
BadRequest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from promptyard.errors import BadRequest, ProviderError, ProviderTimeout, ProviderUnavailable, RateLimited
from promptyard.rag.embedders.base import EmbedKind, Progress, RegexTokenizer, Vectors, normalize

if TYPE_CHECKING:
    from promptyard.settings import Settings

DEFAULT_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


class OpenAIEmbedder:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 128,
        timeout_s: float = 30.0,
        max_tokens: int = 8191,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.model_id = f"openai:{model}" + (f"@{dimensions}" if dimensions else "")
        self.dimensions = dimensions
        self.dim = dimensions or DEFAULT_DIMS.get(model, 0)
        self.max_tokens = max_tokens
        self.read_tokens = max_tokens
        self.batch_size = batch_size
        self.tokenizer = RegexTokenizer()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s, transport=transport
        )

    def _post(self, texts: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions:
            body["dimensions"] = self.dimensions
        try:
            resp = self._client.post("embeddings", json=body)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"embeddings request timed out: {exc}", provider=self.name) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"embeddings endpoint unreachable: {exc}", provider=self.name) from exc
        if resp.status_code == 429:
            after = resp.headers.get("retry-after")
            raise RateLimited(
                "embeddings rate limited", retry_after=float(after) if after else None, provider=self.name
            )
        if resp.status_code >= 500:
            raise ProviderUnavailable(f"embeddings endpoint answered {resp.status_code}", provider=self.name)
        if resp.status_code >= 400:
            raise BadRequest(
                f"embeddings request refused ({resp.status_code}): {resp.text[:300]}",
                provider=self.name,
                status=resp.status_code,
            )
        try:
            data = sorted(resp.json()["data"], key=lambda d: d["index"])
            return [list(map(float, d["embedding"])) for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"malformed embeddings response: {exc}", provider=self.name) from exc

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", progress: Progress | None = None) -> Vectors:
        rows: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[i : i + self.batch_size]]
            got = self._post(batch)
            if len(got) != len(batch):
                raise ProviderError(f"asked for {len(batch)} embeddings, got {len(got)}", provider=self.name)
            rows.extend(got)
            if progress is not None:
                progress(len(batch))
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = normalize(np.asarray(rows, dtype=np.float32))
        self.dim = int(vectors.shape[1])
        return vectors

    def close(self) -> None:
        self._client.close()


def create(settings: Settings) -> OpenAIEmbedder:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return OpenAIEmbedder(
        base_url=settings.openai_base_url,
        model=settings.openai_embedding_model,
        api_key=key,
        dimensions=settings.openai_embedding_dimensions,
        timeout_s=settings.request_timeout_s,
    )
