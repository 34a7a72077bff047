"""Front matter of a prompt file: splitting it off, loading its YAML, finding lines.

The YAML is read with YAML 1.2 booleans (only ``true``/``false``): under PyYAML's
default YAML 1.1 rules the fallback key ``on:`` would silently become ``True``.
Duplicate keys are refused instead of silently overriding each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promptyard.errors import PromptFileError
from promptyard.guards.base import GuardsConfig, GuardSpec
from promptyard.prompts.model import Fallback, ModelConfig, OutputRules, PromptSpec, VariableSpec

__all__ = ["FrontMatter", "allowed_keys", "load_yaml", "split_front_matter", "yaml_line"]


@dataclass(frozen=True)
class FrontMatter:
    """A prompt file split in two. Line numbers are 1-based lines of the file."""

    yaml_text: str
    yaml_start: int
    """File line of the first YAML line (the line after the opening ``---``)."""
    body_lines: list[str]
    body_start: int
    """File line of the first body line (the line after the closing ``---``)."""


def split_front_matter(text: str, *, path: str | None = None) -> FrontMatter:
    """Split ``text`` at its ``---`` lines. Newlines may be ``\\n`` or ``\\r\\n``."""
    normalized = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = normalized.split("\n")
    if lines[0].strip() != "---":
        raise PromptFileError(
            "a prompt file starts with a '---' line opening its front matter",
            path=path,
            line=1,
            hint="put the YAML front matter (name, version, ...) between two '---' lines at the top",
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return FrontMatter(
                yaml_text="\n".join(lines[1:index]),
                yaml_start=2,
                body_lines=lines[index + 1 :],
                body_start=index + 2,
            )
    raise PromptFileError("the front matter is never closed", path=path, line=1, hint="add a '---' line after it")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _check_duplicates(node: Node, fm: FrontMatter, path: str | None) -> None:
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                if key.value in seen:
                    raise PromptFileError(
                        f"duplicate key {key.value!r}", path=path, line=fm.yaml_start + key.start_mark.line
                    )
                seen.add(key.value)
            _check_duplicates(value, fm, path)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _check_duplicates(item, fm, path)


def load_yaml(fm: FrontMatter, *, path: str | None = None) -> tuple[Node | None, dict[str, Any]]:
    """Load the front matter; returns the YAML node tree (for line lookups) and the data."""
    loader = _Loader(fm.yaml_text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_duplicates(root, fm, path)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = fm.yaml_start + mark.line if mark is not None else fm.yaml_start
        problem = exc.problem or exc.context or "malformed YAML"
        raise PromptFileError(
            f"YAML error in the front matter: {problem}",
            path=path,
            line=line,
            hint="check indentation and quoting; values containing ': ' or starting with '{' need quotes",
        ) from None
    except yaml.YAMLError as exc:
        raise PromptFileError(f"YAML error in the front matter: {exc}", path=path, line=fm.yaml_start) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PromptFileError(
            "the front matter must be a YAML mapping (key: value lines)",
            path=path,
            line=fm.yaml_start,
            hint="at least name: and version:",
        )
    return root, data


def yaml_line(root: Node | None, loc: tuple[int | str, ...], yaml_start: int, *, key: bool = False) -> int | None:
    """File line of the value at ``loc`` (of its key when ``key``); the nearest parent if it is absent."""
    if root is None:
        return yaml_start
    node: Node = root
    for position, part in enumerate(loc):
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                    if key and position == len(loc) - 1:
                        return yaml_start + key_node.start_mark.line
                    node = value_node
                    break
            else:
                break
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            break
    return yaml_start + node.start_mark.line


_SHAPES: dict[tuple[str, ...], type[BaseModel]] = {
    (): PromptSpec,
    ("model",): ModelConfig,
    ("output",): OutputRules,
    ("variables", "*"): VariableSpec,
    ("model", "fallbacks", "*"): Fallback,
    ("guards",): GuardsConfig,
    ("guards", "input", "*"): GuardSpec,
    ("guards", "output", "*"): GuardSpec,
}


def allowed_keys(prefix: tuple[int | str, ...]) -> frozenset[str] | None:
    """The keys allowed in the mapping at ``prefix`` (for "unknown key" hints)."""
    shape = tuple(
        "*" if isinstance(part, int) or (index == 1 and prefix[0] == "variables") else str(part)
        for index, part in enumerate(prefix)
    )
    model = _SHAPES.get(shape)
    return frozenset(model.model_fields) if model is not None else None
