"""Answer-cache keys: a sha256 over normalized inputs and everything that shapes the answer.

Inputs are normalized (Unicode NFKC, case-folded, whitespace collapsed) so that
``"Hello  World"`` and ``"hello world"`` share an answer. The key also covers the prompt
name and version, the effective model configuration, the tenant and, when retrieval fed
the variables, the corpus version: change any of them and the key changes.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from typing import Any

import orjson

from promptyard.chat import ChatMessage

_KEY_VERSION = "k1"
"""Bumped when the key layout changes, so old entries are never misread."""


def normalize_text(text: str) -> str:
    """NFKC, case-folded, runs of whitespace collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalize_value(value: Any) -> Any:
    """Normalize every string inside ``value`` (dict keys are names and stay as they are)."""
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, dict):
        return {str(k): normalize_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_value(v) for v in value]
    return value


def _digest(parts: list[Any]) -> str:
    blob = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(blob).hexdigest()


def prompt_key(
    *,
    name: str,
    version: str,
    variables: dict[str, Any],
    model_config: dict[str, Any],
    tenant: str | None,
    corpus_version: int | None,
) -> str:
    """Key for a registry prompt call."""
    return _digest(
        [_KEY_VERSION, "prompt", name, version, tenant, corpus_version, model_config, normalize_value(variables)]
    )


def chat_key(*, messages: Sequence[ChatMessage], model_config: dict[str, Any], tenant: str | None) -> str:
    """Key for a raw chat call (``provider/model`` plus messages)."""
    msgs = [[m.role, normalize_text(m.content)] for m in messages]
    return _digest([_KEY_VERSION, "chat", tenant, model_config, msgs])
