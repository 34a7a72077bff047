"""Validate variables, sanitize untrusted ones and render a prompt into chat messages.

Each block is compiled once (cached by its text in :mod:`promptyard.prompts.sandbox`).
A block that renders to nothing but whitespace is dropped and the cache marks are
adjusted, so ``CacheMark.index`` always counts the messages actually sent before the
breakpoint. Rendered text is stripped of leading and trailing whitespace.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError, UndefinedError
from jinja2.exceptions import SecurityError
from pydantic import BaseModel, ConfigDict

from promptyard.chat import CacheMark, ChatMessage
from promptyard.errors import RenderError, UnsafeTemplateError, VariableValidationError
from promptyard.prompts.model import MessageBlock, PromptSpec, VariableSpec, VarType
from promptyard.prompts.sandbox import load_block
from promptyard.prompts.sanitize import NONCE_RE, Sanitizer, new_nonce

__all__ = ["RenderedPrompt", "has_type", "render_prompt", "validate_variables"]


class RenderedPrompt(BaseModel):
    """A rendered prompt: messages in order, and where the stable prefixes end."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    messages: list[ChatMessage]
    cache_marks: list[CacheMark]
    """``index`` = number of messages in the stable prefix before that breakpoint."""
    variables: dict[str, Any]
    """The validated values (defaults applied; untrusted values as given, not wrapped)."""
    nonce: str
    """The delimiter nonce of this render (pass it back to ``render_prompt`` to reproduce it)."""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


_TYPE_NAMES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "list",
    tuple: "list",
    dict: "object",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def has_type(value: Any, expected: VarType) -> bool:
    """True when ``value`` is of the declared variable type (``bool`` is not an integer)."""
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "list":
        return isinstance(value, (list, tuple))
    return isinstance(value, Mapping)


_EMPTY: dict[VarType, Any] = {"string": "", "list": [], "object": {}}


def _absent_value(var: VariableSpec) -> Any:
    if var.default is not None:
        return copy.deepcopy(var.default)
    return copy.copy(_EMPTY.get(var.type))


def validate_variables(spec: PromptSpec, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``variables`` against the declared schema and apply defaults.

    Reports every problem at once (missing, undeclared, wrong type, too long) in one
    :class:`VariableValidationError`. An optional variable that is absent (or ``null``)
    takes its default, else an empty string, list or object for those types and
    ``null`` for the others.
    """
    problems: list[str] = []
    declared = spec.variables
    for name in variables:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(f"undeclared variable {name!r} (declared: {known})")
    values: dict[str, Any] = {}
    for name, var in declared.items():
        value = variables.get(name)
        if value is None:
            if var.required and var.default is None:
                problems.append(f"missing required variable {name!r} ({var.type})")
            else:
                values[name] = _absent_value(var)
            continue
        if not has_type(value, var.type):
            problems.append(f"variable {name!r} must be {var.type}, got {_type_name(value)}")
            continue
        if var.max_length is not None and isinstance(value, (str, list, tuple)) and len(value) > var.max_length:
            unit = "characters" if isinstance(value, str) else "items"
            problems.append(f"variable {name!r} is too long: {len(value)} {unit}, at most {var.max_length}")
            continue
        values[name] = list(value) if isinstance(value, tuple) else value
    if problems:
        raise VariableValidationError(problems, prompt=spec.ref)
    return values


def _context(spec: PromptSpec, values: dict[str, Any], nonce: str) -> dict[str, Any]:
    untrusted = [(name, var) for name, var in spec.variables.items() if var.untrusted]
    if not untrusted:
        return values
    sanitizer = Sanitizer({var.delimiter for _, var in untrusted}, nonce)
    context = dict(values)
    for name, var in untrusted:
        context[name] = sanitizer.value(values[name], var.delimiter)
    return context


def _render_block(spec: PromptSpec, block: MessageBlock, context: dict[str, Any]) -> str:
    where = f"{spec.ref}, [{block.role}] block at line {block.line}"
    compiled = load_block(block.template)  # syntax errors were refused at parse; cached
    if compiled.template is None:
        raise UnsafeTemplateError(f"unsafe template in {where}: {compiled.unsafe[0].what}; refused, not rendered")
    try:
        return compiled.template.render(context).strip()
    except SecurityError as exc:
        raise UnsafeTemplateError(f"unsafe template in {where}: {exc}") from exc
    except UndefinedError as exc:
        raise RenderError(f"render failed in {where}: {exc.message}") from exc
    except TemplateError as exc:
        raise RenderError(f"render failed in {where}: {exc.message or exc}") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, RecursionError) as exc:
        raise RenderError(f"render failed in {where}: {type(exc).__name__}: {exc}") from exc


def render_prompt(spec: PromptSpec, variables: Mapping[str, Any], *, nonce: str | None = None) -> RenderedPrompt:
    """Validate, sanitize and render ``spec``. ``nonce`` fixes the delimiter nonce (tests, replay)."""
    values = validate_variables(spec, variables)
    if nonce is None:
        nonce = new_nonce()
    elif not NONCE_RE.fullmatch(nonce):
        raise RenderError(f"invalid nonce {nonce!r}", hint="use 1 to 64 letters or digits")
    context = _context(spec, values, nonce)
    messages: list[ChatMessage] = []
    kept: list[int] = []  # kept[i] = messages produced by blocks[0..i]
    for block in spec.blocks:
        text = _render_block(spec, block, context)
        if text:
            messages.append(ChatMessage(role=block.role, content=text))
        kept.append(len(messages))
    if not messages:
        raise RenderError(f"{spec.ref} rendered no messages: every block was empty for these variables")
    marks: list[CacheMark] = []
    for brk in spec.breakpoints:
        index = kept[brk.after_blocks - 1] if 0 < brk.after_blocks <= len(kept) else 0
        if index == 0 or (marks and marks[-1].index == index):
            continue
        marks.append(CacheMark(index=index, ttl=brk.ttl))
    return RenderedPrompt(
        name=spec.name, version=spec.version, messages=messages, cache_marks=marks, variables=values, nonce=nonce
    )
