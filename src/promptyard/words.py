"""Content words of a text: what the RAG context trimmer and the cited-extractive decoder compare.

Words are runs of letters and digits (``[^\\W_]+``), casefolded; :data:`STOP_WORDS` are the
function words left out when two texts are compared by the words they share. The keyword
store has its own, longer list for queries (``rag/stores/query_text.py``).
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+")

STOP_WORDS = frozenset(
    WORD.findall(
        "a an the of in on at to for by with from and or as is was were be been are it its this that these "
        "those which who whom whose what when where why how did does do has have had than then there their "
        "they he she his her also not no"
    )
)


def words(text: str) -> set[str]:
    """The distinct casefolded words of ``text``."""
    return {w.casefold() for w in WORD.findall(text)}


def content_words(text: str) -> set[str]:
    """The distinct casefolded words of ``text`` that are not stop words."""
    return words(text) - STOP_WORDS
