"""Split template text into plain and template segments, so pages can highlight variables.

The page escapes every segment (Jinja autoescape); this module never produces HTML.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

__all__ = ["Segment", "segments"]

_TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.DOTALL)
_NAME = re.compile(r"^\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)")


class Segment(BaseModel):
    kind: Literal["text", "var", "tag"]
    text: str
    name: str | None = None
    """The variable's name, for ``var`` segments."""


def segments(template: str) -> list[Segment]:
    """``{{ x }}`` becomes a ``var`` segment (named ``x``), ``{% ... %}`` and ``{# #}`` a ``tag``."""
    out: list[Segment] = []
    for i, part in enumerate(_TAG.split(template)):
        if not part:
            continue
        if i % 2 == 0:
            out.append(Segment(kind="text", text=part))
        elif part.startswith("{{"):
            m = _NAME.match(part)
            out.append(Segment(kind="var", text=part, name=m.group(1) if m else None))
        else:
            out.append(Segment(kind="tag", text=part))
    return out
