"""PII guard: validated patterns (:mod:`.pii_patterns`) plus names (:mod:`.names`, or :mod:`.ner`).

Names of people, places and organisations come from spaCy when a model is installed
(:mod:`.ner`), otherwise from the shipped gazetteers and context rules (:mod:`.names`).

With ``action: redact`` the runner replaces every span with a numbered placeholder
(``<EMAIL_1>``, ``<PERSON_2>``) before the provider sees the text; ``restore: true`` puts
the values back into the answer for the caller. Traces and logs only ever hold placeholders.
Options: ``entities`` (labels to look for; default all), ``ner`` (false: patterns and names after
an honorific only, no word lists and no model).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from promptyard.guards import names as names_mod
from promptyard.guards import ner as ner_mod
from promptyard.guards import pii_patterns
from promptyard.guards.base import Action, GuardSpec, OutputContext, Span, Verdict

ALL = (
    "EMAIL", "PHONE", "ADDRESS", "CREDIT_CARD", "IBAN", "SSN", "IP", "SECRET", "URL", "DATE", "DRIVER_LICENSE",
    "PERSON", "LOCATION", "ORGANIZATION", "TITLE",
)  # fmt: skip


class PIIGuard:
    name = "pii"
    default_on_error: Action = "flag"

    def __init__(
        self, *, entities: tuple[str, ...] = ALL, use_ner: bool = True,
        ner: Callable[[], ner_mod.NER | None] = ner_mod.load,
    ) -> None:  # fmt: skip
        self.entities = frozenset(entities)
        self.use_ner = use_ner
        self._ner = ner

    def spans(self, text: str) -> tuple[list[tuple[int, int, str]], bool]:
        """Non-overlapping PII spans, and whether the NER model ran."""
        found = pii_patterns.find(text)
        if not self.use_ner:  # patterns, and names after an honorific only ("Mr. Babbage")
            for start, end, label in ner_mod.honorific_names(text):
                if all(end <= s or start >= e for s, e, _ in found):
                    found.append((start, end, label))
            return sorted(f for f in found if f[2] in self.entities), False
        for _start, end, label in list(found):
            if label == "ADDRESS":
                found.extend(names_mod.address_tail(text, end, found))
        model = self._ner()
        names = model(text) if model is not None else names_mod.find(text, found)
        for start, end, label in names:
            if all(end <= s or start >= e for s, e, _ in found):
                found.append((start, end, label))
        return sorted(f for f in found if f[2] in self.entities), model is not None

    def check(self, text: str) -> Verdict:
        t0 = time.perf_counter()
        found, ner_ran = self.spans(text)
        labels = sorted({label for _, _, label in found})
        reason = f"found {', '.join(labels)}" if found else ""
        if self.use_ner and not ner_ran:
            reason = (reason + "; " if reason else "") + "names by gazetteer and context (no NER model installed)"
        return Verdict(
            guard=self.name, triggered=bool(found), score=1.0 if found else 0.0,
            spans=[Span(start=s, end=e, label=label) for s, e, label in found], reason=reason,
            ms=(time.perf_counter() - t0) * 1000,
        )  # fmt: skip

    def check_output(self, text: str, ctx: OutputContext) -> Verdict:
        return self.check(text)


def create(spec: GuardSpec) -> PIIGuard:
    entities = spec.options.get("entities")
    return PIIGuard(entities=tuple(entities) if entities else ALL, use_ner=bool(spec.options.get("ner", True)))
