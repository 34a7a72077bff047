"""Turn free text into keyword-engine queries that can never be a syntax error.

A query is cut into word tokens (``\\w+``); quotes, ``*``, ``-``, ``NEAR``, parentheses
and every other operator character are dropped, and the remaining terms are OR-ed. Common
English stop words are left out (they slow the search and add noise) unless nothing else
is left.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 64

STOPWORDS = frozenset(
    " ".join(
        [
            "a about above after again against all am an and any are as at be because been before being below",
            "between both but by can could did do does doing down during each few for from further had has have",
            "having he her here hers herself him himself his how i if in into is it its itself just me more most",
            "my myself no nor not now of off on once only or other our ours ourselves out over own same she",
            "should so some such than that the their theirs them themselves then there these they this those",
            "through to too under until up very was we were what when where which while who whom why will with",
            "would you your yours yourself yourselves",
        ]
    ).split()
)


def terms(query: str) -> list[str]:
    """Distinct lower-case word terms, stop words removed (kept when they are all there is)."""
    words = [w.lower() for w in _WORD.findall(query)]
    seen: dict[str, None] = {}
    for w in words:
        if w not in STOPWORDS:
            seen.setdefault(w, None)
    if not seen:
        for w in words:
            seen.setdefault(w, None)
    return list(seen)[:MAX_TERMS]


def fts5_match(query: str) -> str | None:
    """An FTS5 MATCH expression: every term as a quoted string, OR-ed. None when there is no term."""
    found = terms(query)
    if not found:
        return None
    return " OR ".join(f'"{t}"' for t in found)


def tsquery_text(query: str) -> str | None:
    """Text for Postgres ``to_tsquery``: terms joined by ``|``. None when there is no term."""
    found = terms(query)
    if not found:
        return None
    return " | ".join(found)
