"""The one Jinja environment for prompt templates: sandboxed, strict, compiled once.

Every message block goes through :func:`load_block`, which parses the source, refuses
templates that reach for Python internals *before anything runs* (a static walk of the
syntax tree), compiles it and caches the result keyed by the block text. The parser
(``files.py``), the renderer and the linter all share that cache, so a block is parsed
and compiled once per process however often it is rendered.

The environment is :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`: a dynamic attempt the static walk cannot see (an
attribute name built at run time) still fails at render time with ``SecurityError``,
and an unknown name fails instead of rendering as an empty string.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, meta, nodes
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from promptyard.prompts.sanitize import WrappedText

__all__ = [
    "UNSAFE_ATTRIBUTES",
    "CompiledBlock",
    "PromptEnvironment",
    "UnsafeConstruct",
    "environment",
    "find_unsafe",
    "is_unsafe_name",
    "load_block",
]

UNSAFE_ATTRIBUTES = frozenset(
    {
        "mro",
        "func_globals",
        "func_code",
        "func_closure",
        "func_defaults",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "ag_await",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_back",
        "f_code",
        "tb_frame",
        "tb_next",
        "co_code",
        "im_class",
        "im_func",
        "im_self",
    }
)
"""Attribute names that only ever lead to interpreter internals (besides anything starting with ``_``)."""

# Filters whose first positional argument (or ``attribute=``) names an attribute, possibly dotted.
_ATTRIBUTE_FILTERS = frozenset(
    {"attr", "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min", "max"}
)
# A str.format replacement field that walks into an underscore attribute or item: "{0.__class__}".
_FORMAT_FIELD_RE = re.compile(r"\{[^{}]*[.\[]\s*_")
_UNSUPPORTED = {
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
}


_DICT_ATTRIBUTES = frozenset(dir(dict))
_LOOP_ATTRIBUTES = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0", "previtem", "nextitem"}
)


class PromptEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with fast paths for the lookups prompt templates do most.

    ``doc.title`` on a plain ``dict`` (whose ``title`` is not a dict method) and
    ``loop.index`` give exactly what the sandbox's own lookup gives, without its
    exception round trip and safety checks (dict items and loop counters are always
    safe). Everything else goes through the sandbox unchanged.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        kind = type(obj)
        if kind is dict:
            if attribute not in _DICT_ATTRIBUTES and attribute in obj:
                return obj[attribute]
        elif kind is LoopContext:
            if attribute in _LOOP_ATTRIBUTES:
                return getattr(obj, attribute)
        elif kind is WrappedText and attribute == "unwrapped":
            return obj.unwrapped
        return super().getattr(obj, attribute)


def _make_environment() -> PromptEnvironment:
    env = PromptEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        cache_size=0,  # compiled blocks are cached by load_block, keyed by their text
    )
    # lipsum is random text: it would make the "stable" prefix differ on every render.
    env.globals.pop("lipsum", None)
    return env


environment = _make_environment()
"""The shared sandboxed environment. Do not add globals or filters that expose Python objects."""


def is_unsafe_name(name: str) -> bool:
    """True for attribute or item names a prompt template may never touch."""
    return name.startswith("_") or name in UNSAFE_ATTRIBUTES


@dataclass(frozen=True)
class UnsafeConstruct:
    """Something a template may not do. ``line`` is relative to the block (1-based)."""

    line: int
    what: str
    unsupported: bool = False
    """True for tags that are not allowed (include, import, extends) rather than unsafe."""


def _unsafe_path(value: object) -> str | None:
    if isinstance(value, str):
        for part in value.split("."):
            if is_unsafe_name(part):
                return part
    return None


def _unsafe_format(node: nodes.Expr) -> str | None:
    """The format string of ``'{0.__class__}'.format(...)`` when it walks into internals."""
    if isinstance(node, nodes.Const) and isinstance(node.value, str) and _FORMAT_FIELD_RE.search(node.value):
        return node.value
    return None


def find_unsafe(ast: nodes.Template) -> list[UnsafeConstruct]:
    """Walk the syntax tree and list every access to internals and every unsupported tag."""
    found: list[UnsafeConstruct] = []
    for node in ast.find_all(nodes.Node):
        line = node.lineno or 1
        if isinstance(node, nodes.Getattr):
            if is_unsafe_name(node.attr):
                found.append(UnsafeConstruct(line, f"attribute access to {node.attr!r}"))
            elif node.attr in ("format", "format_map") and (fmt := _unsafe_format(node.node)):
                found.append(UnsafeConstruct(line, f"a format string reaching for internals: {fmt!r}"))
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if isinstance(node.arg.value, str) and is_unsafe_name(node.arg.value):
                found.append(UnsafeConstruct(line, f"item access to {node.arg.value!r}"))
        elif isinstance(node, nodes.Name) and node.name.startswith("__"):
            found.append(UnsafeConstruct(line, f"the name {node.name!r}"))
        elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
            candidates: list[nodes.Expr] = list(node.args[:1])
            candidates += [kw.value for kw in node.kwargs if kw.key == "attribute"]
            for arg in candidates:
                bad = _unsafe_path(arg.value) if isinstance(arg, nodes.Const) else None
                if bad:
                    found.append(UnsafeConstruct(line, f"the filter {node.name!r} reaching for {bad!r}"))
        else:
            for kind, label in _UNSUPPORTED.items():
                if isinstance(node, kind):
                    found.append(UnsafeConstruct(line, f"{label} (a block must be self-contained)", unsupported=True))
    return found


@dataclass(frozen=True)
class CompiledBlock:
    """A parsed, checked and compiled message template."""

    template: Template | None
    """The compiled template; ``None`` when ``unsafe`` is not empty (never compiled, never run)."""
    ast: nodes.Template
    names: frozenset[str]
    """Names the template reads from its context (loop and ``set`` targets excluded; globals included)."""
    unsafe: tuple[UnsafeConstruct, ...]
    """Refused constructs, in source order."""


@functools.lru_cache(maxsize=4096)
def load_block(source: str) -> CompiledBlock:
    """Parse, check and compile ``source`` once; raises ``jinja2.TemplateSyntaxError``.

    A template with unsafe constructs is returned with ``unsafe`` filled in and no
    compiled template (compilation folds constants, so it is not even compiled), for
    callers to report with their own file and line.
    """
    ast = environment.parse(source)
    unsafe = tuple(find_unsafe(ast))
    names = frozenset(meta.find_undeclared_variables(ast))
    template = None if unsafe else environment.from_string(ast)
    return CompiledBlock(template=template, ast=ast, names=names, unsafe=unsafe)
