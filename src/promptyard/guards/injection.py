"""Prompt-injection guard: attack phrases on every normalized or decoded view, then the classifier.

Score: 1.0 when a known attack phrase is found (in the normalized text or a decoded
base64/hex/rot13 payload), else the classifier's highest window score. It triggers at
``threshold`` (default: the head's, chosen on training data for FPR <= 0.03).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from promptyard.guards import phrases
from promptyard.guards.base import Action, GuardSpec, Span, Verdict
from promptyard.guards.classifier import Classifier, shared_classifier
from promptyard.guards.normalize import views


class InjectionGuard:
    name = "injection"
    default_on_error: Action = "block"

    def __init__(
        self, *, threshold: float | None = None, classifier: Callable[[], Classifier] | None = None,
        use_classifier: bool = True,
    ) -> None:  # fmt: skip
        self._classifier = classifier or shared_classifier
        self.use_classifier = use_classifier
        self._threshold = threshold

    @property
    def threshold(self) -> float:
        if self._threshold is not None:
            return self._threshold
        return self._classifier().head.threshold if self.use_classifier else 0.5

    def heuristics(self, text: str) -> Verdict | None:
        """A verdict of 1.0 when an attack phrase is in any view of the text, else None."""
        spans: list[Span] = []
        kinds: list[str] = []
        seen: set[tuple[int, int]] = set()
        for view in views(text):
            for start, end, lang in phrases.find(view.text):
                s, e = view.original(start, end, len(text))
                if (s, e) in seen:
                    continue
                seen.add((s, e))
                spans.append(Span(start=s, end=e, label=f"phrase:{lang}"))
                if view.kind != "normalized" or view.text[start:end] != text[s:e]:
                    kinds.append(view.kind)
        if not spans:
            return None
        how = f" (hidden: {', '.join(sorted(set(kinds)))})" if kinds else ""
        return Verdict(guard=self.name, triggered=True, score=1.0, spans=spans[:8],
                       reason=f"known attack phrase{how}")  # fmt: skip

    def check(self, text: str) -> Verdict:
        t0 = time.perf_counter()
        found = self.heuristics(text)
        if found is None and self.use_classifier:
            score, (s, e) = self._classifier().score(text)
            triggered = score >= self.threshold
            found = Verdict(
                guard=self.name, triggered=triggered, score=round(score, 4),
                spans=[Span(start=s, end=e, label="classifier", score=round(score, 4))] if triggered else [],
                reason="classifier score above threshold" if triggered else "",
            )  # fmt: skip
        found = found or Verdict(guard=self.name)
        found.ms = (time.perf_counter() - t0) * 1000
        return found


def create(spec: GuardSpec) -> InjectionGuard:
    return InjectionGuard(threshold=spec.threshold, use_classifier=bool(spec.options.get("classifier", True)))
