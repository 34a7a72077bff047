"""The gateway: one call pipeline for every prompt and chat call.

``runtime.gateway`` is the configured instance; ``pipeline.py`` holds the order of steps.
``Gateway`` is imported lazily so that importing the request types stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptyard.gateway.base import CallContext, ChatCall, GatewayAPI, GatewayResult, GatewayStream, PromptCall

if TYPE_CHECKING:
    from promptyard.gateway.pipeline import Gateway


def __getattr__(name: str) -> Any:
    if name == "Gateway":
        from promptyard.gateway.pipeline import Gateway

        return Gateway
    raise AttributeError(name)


__all__ = ["CallContext", "ChatCall", "Gateway", "GatewayAPI", "GatewayResult", "GatewayStream", "PromptCall"]
