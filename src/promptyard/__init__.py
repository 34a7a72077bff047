"""promptyard: the production layer for LLM prompts.

The Python API works without the server::

    from promptyard import Runtime, render_prompt

    rt = Runtime()                                   # settings from PROMPTYARD_* / .env
    rt.registry.sync("prompts", actor="me")          # files -> immutable versions
    spec = rt.registry.resolve("summarize_email", label="production")
    rendered = render_prompt(spec, {"email_body": "..."})
    rendered.messages, rendered.cache_marks

Names are imported lazily on first use, so ``import promptyard`` stays cheap and pulls in
no database or template machinery until you touch it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # composition root and settings
    "Runtime": "promptyard.runtime",
    "Settings": "promptyard.settings",
    "get_settings": "promptyard.settings",
    "load_settings": "promptyard.settings",
    # prompts: files, registry, rendering
    "PromptSpec": "promptyard.prompts.model",
    "PromptFile": "promptyard.prompts.files",
    "parse_prompt": "promptyard.prompts.files",
    "discover": "promptyard.prompts.files",
    "render_prompt": "promptyard.prompts.render",
    "validate_variables": "promptyard.prompts.render",
    "RenderedPrompt": "promptyard.prompts.render",
    "lint": "promptyard.prompts.lint",
    "diff_prompts": "promptyard.prompts.diff",
    "PromptRegistry": "promptyard.prompts.registry",
    "PromptVersion": "promptyard.prompts.records",
    "PromptSummary": "promptyard.prompts.records",
    "LabelEvent": "promptyard.prompts.records",
    "ReviewEvent": "promptyard.prompts.records",
    "SyncReport": "promptyard.prompts.records",
    # chat vocabulary and gateway requests
    "ChatMessage": "promptyard.chat",
    "CacheMark": "promptyard.chat",
    "PromptCall": "promptyard.gateway.base",
    "ChatCall": "promptyard.gateway.base",
    "CallContext": "promptyard.gateway.base",
    "GatewayResult": "promptyard.gateway.base",
    # errors (the whole tree is in promptyard.errors)
    "PromptyardError": "promptyard.errors",
    "ConfigError": "promptyard.errors",
    "AuthError": "promptyard.errors",
    "PermissionDenied": "promptyard.errors",
    "PromptError": "promptyard.errors",
    "PromptNotFound": "promptyard.errors",
    "PromptFileError": "promptyard.errors",
    "UnsafeTemplateError": "promptyard.errors",
    "VersionConflict": "promptyard.errors",
    "ReviewError": "promptyard.errors",
    "RenderError": "promptyard.errors",
    "VariableValidationError": "promptyard.errors",
    "ProviderError": "promptyard.errors",
    "OutputValidationError": "promptyard.errors",
    "RateLimitExceeded": "promptyard.errors",
    "BudgetExceeded": "promptyard.errors",
    "GuardBlocked": "promptyard.errors",
    "GuardsConfig": "promptyard.guards.base",
    "Verdict": "promptyard.guards.base",
    "NotFound": "promptyard.errors",
    "InvalidInput": "promptyard.errors",
    "StoreError": "promptyard.errors",
}

if TYPE_CHECKING:
    from promptyard import errors
    from promptyard.chat import CacheMark, ChatMessage
    from promptyard.errors import (
        AuthError,
        BudgetExceeded,
        ConfigError,
        GuardBlocked,
        InvalidInput,
        NotFound,
        OutputValidationError,
        PermissionDenied,
        PromptError,
        PromptFileError,
        PromptNotFound,
        PromptyardError,
        ProviderError,
        RateLimitExceeded,
        RenderError,
        ReviewError,
        StoreError,
        UnsafeTemplateError,
        VariableValidationError,
        VersionConflict,
    )
    from promptyard.gateway.base import CallContext, ChatCall, GatewayResult, PromptCall
    from promptyard.guards.base import GuardsConfig, Verdict
    from promptyard.prompts.diff import diff_prompts
    from promptyard.prompts.files import PromptFile, discover, parse_prompt
    from promptyard.prompts.lint import lint
    from promptyard.prompts.model import PromptSpec
    from promptyard.prompts.records import LabelEvent, PromptSummary, PromptVersion, ReviewEvent, SyncReport
    from promptyard.prompts.registry import PromptRegistry
    from promptyard.prompts.render import RenderedPrompt, render_prompt, validate_variables
    from promptyard.runtime import Runtime
    from promptyard.settings import Settings, get_settings, load_settings


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("promptyard.errors")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'promptyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


__all__ = [
    "AuthError",
    "BudgetExceeded",
    "CacheMark",
    "CallContext",
    "ChatCall",
    "ChatMessage",
    "ConfigError",
    "GatewayResult",
    "GuardBlocked",
    "GuardsConfig",
    "InvalidInput",
    "LabelEvent",
    "NotFound",
    "OutputValidationError",
    "PermissionDenied",
    "PromptCall",
    "PromptError",
    "PromptFile",
    "PromptFileError",
    "PromptNotFound",
    "PromptRegistry",
    "PromptSpec",
    "PromptSummary",
    "PromptVersion",
    "PromptyardError",
    "ProviderError",
    "RateLimitExceeded",
    "RenderError",
    "RenderedPrompt",
    "ReviewError",
    "ReviewEvent",
    "Runtime",
    "Settings",
    "StoreError",
    "SyncReport",
    "UnsafeTemplateError",
    "VariableValidationError",
    "Verdict",
    "VersionConflict",
    "__version__",
    "diff_prompts",
    "discover",
    "errors",
    "get_settings",
    "lint",
    "load_settings",
    "parse_prompt",
    "render_prompt",
    "validate_variables",
]
