"""Banned topics and toxicity: a small word-list check, for input or output.

The built-in list covers slurs-free abuse, threats of violence, self-harm instructions and
weapon or drug synthesis requests, in English and German; ``options.topics`` adds
``{name: [regex, ...]}`` of your own (e.g. competitors, legal advice). Score 1.0 on a match.
This is a floor, not a toxicity model: it says what it matched.
"""

from __future__ import annotations

# ruff: noqa: E501 - one pattern a line reads better than split strings
import re
import time

from promptyard.guards.base import Action, GuardSpec, OutputContext, Span, Verdict
from promptyard.guards.normalize import normalize

BUILTIN: dict[str, list[str]] = {
    "violence": [r"\b(?:i(?:'ll| will| am going to)|we(?:'ll| will)) (?:kill|murder|shoot|stab|hurt) (?:you|him|her|them)\b",
                 r"\bich (?:werde|bringe) (?:dich|euch) um\b"],
    "self_harm": [r"\b(?:how to|ways to|best way to) (?:kill|hurt|harm) (?:myself|yourself)\b",
                  r"\b(?:commit|committing) suicide\b(?! prevention)"],
    "weapons": [r"\b(?:how to|instructions? (?:to|for)) (?:make|build|synthesi[sz]e) (?:a |an )?(?:bomb|explosive|nerve agent|"
                r"pipe bomb|bioweapon|chemical weapon)s?\b"],
    "drugs": [r"\b(?:how to|instructions? (?:to|for)) (?:make|cook|synthesi[sz]e) (?:meth|methamphetamine|fentanyl|heroin)\b"],
    "abuse": [r"\byou(?:'re| are) (?:a |an )?(?:fucking |stupid |worthless )+(?:idiot|moron|piece of shit|loser)\b",
              r"\b(?:fuck you|go to hell|kys)\b", r"\bdu (?:bist )?(?:ein )?(?:dummes? )?(?:arschloch|idiot|wichser)\b"],
}  # fmt: skip


class TopicsGuard:
    name = "topics"
    default_on_error: Action = "flag"

    def __init__(self, topics: dict[str, list[str]] | None = None, *, builtin: bool = True) -> None:
        table = {**(BUILTIN if builtin else {}), **(topics or {})}
        self.patterns = [(name, re.compile(p, re.IGNORECASE)) for name, ps in table.items() for p in ps]

    def check(self, text: str) -> Verdict:
        t0 = time.perf_counter()
        view = normalize(text)
        spans: list[Span] = []
        for name, rx in self.patterns:
            for m in rx.finditer(view.text):
                s, e = view.original(m.start(), m.end(), len(text))
                spans.append(Span(start=s, end=e, label=name))
        topics = sorted({s.label for s in spans})
        return Verdict(guard=self.name, triggered=bool(spans), score=1.0 if spans else 0.0, spans=spans,
                       reason=f"banned topic: {', '.join(topics)}" if spans else "",
                       ms=(time.perf_counter() - t0) * 1000)  # fmt: skip

    def check_output(self, text: str, ctx: OutputContext) -> Verdict:
        return self.check(text)


def create(spec: GuardSpec) -> TopicsGuard:
    topics = spec.options.get("topics")
    return TopicsGuard(dict(topics) if isinstance(topics, dict) else None,
                       builtin=bool(spec.options.get("builtin", True)))  # fmt: skip
