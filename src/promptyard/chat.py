"""Chat messages and cache marks: the vocabulary shared by prompts, providers and the gateway."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["system", "user", "assistant"]
CacheTTL = Literal["5m", "1h"]


class ChatMessage(BaseModel):
    """One chat message. ``content`` is plain text."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class CacheMark(BaseModel):
    """A prompt-cache breakpoint: the first ``index`` messages form a stable prefix.

    Providers that support explicit prompt caching (Anthropic) put ``cache_control``
    on the last content block before the mark; others rely on automatic prefix caching,
    which works because promptyard renders stable content first.
    """

    model_config = ConfigDict(frozen=True)

    index: int
    ttl: CacheTTL = "1h"
