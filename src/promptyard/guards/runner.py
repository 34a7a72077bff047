"""Runs configured guards over texts and applies their actions; knows nothing of the gateway.

- ``block``: a triggered verdict raises :class:`~promptyard.errors.GuardBlocked` naming the guard;
- ``redact``: its spans become numbered placeholders (:class:`Redactor`), restorable later;
- ``flag``: recorded only.

A guard that raises gets its ``on_error`` (``block`` by default for injection and the
canary, ``flag`` otherwise): the request is blocked or the failure is recorded in the
verdict, and either way it is counted (``GuardStats.errors``). Never silently passed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from promptyard.errors import GuardBlocked
from promptyard.guards.base import (
    Action,
    GuardsConfig,
    GuardSpec,
    InputGuard,
    OutputContext,
    OutputGuard,
    Verdict,
    VerdictStore,
    create_guard,
)

log = logging.getLogger("promptyard.guards")
_SEEN_MAX = 4096
_DEFAULT_ON_ERROR: dict[str, Action] = {"injection": "block", "canary": "block"}
"""When a guard cannot even be built, its default ``on_error`` is known by name only."""


@dataclass(slots=True)
class GuardStats:
    checks: int = 0
    blocked: int = 0
    redacted: int = 0
    flagged: int = 0
    errors: int = 0
    """Guards that raised (model missing, exception): their on_error was applied."""
    cached: int = 0
    """Texts not checked again because an identical text already was (retrieved documents)."""
    store_errors: int = 0
    """Verdict-store reads or writes that failed (the texts are then checked, never let through)."""

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


def _bounded(value: str) -> str:
    """``value`` as a pattern that does not match inside a longer word ("Ann" in "Annual")."""
    head = r"(?<!\w)" if value[:1].isalnum() else ""
    tail = r"(?!\w)" if value[-1:].isalnum() else ""
    return head + re.escape(value) + tail


@dataclass
class Redactor:
    """Reversible placeholders for one call: the same value gets the same ``<LABEL_n>`` everywhere."""

    by_value: dict[str, str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return bool(self.by_value)

    def placeholder(self, value: str, label: str) -> str:
        known = self.by_value.get(value)
        if known is None:
            self.counts[label] += 1
            known = f"<{label}_{self.counts[label]}>"
            self.by_value[value] = known
            self.by_placeholder[known] = value
        return known

    def add(self, text: str, verdict: Verdict) -> None:
        for span in verdict.spans:
            value = text[span.start : span.end]
            if value.strip():
                self.placeholder(value, span.label)

    def apply(self, text: str) -> str:
        """Every known value in ``text`` replaced by its placeholder (longest values first)."""
        if not self.by_value:
            return text
        rx = re.compile("|".join(_bounded(v) for v in sorted(self.by_value, key=len, reverse=True)))
        return rx.sub(lambda m: self.by_value[m.group(0)], text)

    def apply_deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.apply(value)
        if isinstance(value, dict):
            return {k: self.apply_deep(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.apply_deep(v) for v in value]
        return value

    def restore_deep(self, value: Any) -> Any:
        """:meth:`restore` on every string inside a parsed JSON answer."""
        if isinstance(value, str):
            return self.restore(value)
        if isinstance(value, dict):
            return {k: self.restore_deep(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore_deep(v) for v in value]
        return value

    def restore(self, text: str) -> str:
        if not self.by_placeholder:
            return text
        rx = re.compile("|".join(re.escape(p) for p in self.by_placeholder))
        return rx.sub(lambda m: self.by_placeholder[m.group(0)], text)


@dataclass
class InputOutcome:
    verdicts: list[Verdict]
    redactor: Redactor


class GuardRunner:
    """Guard instances per spec (built once), verdicts with actions applied, counters."""

    def __init__(self, stats: GuardStats | None = None, *, store: VerdictStore | None = None) -> None:
        self.stats = stats or GuardStats()
        self.store = store
        self._guards: dict[str, InputGuard | OutputGuard] = {}
        self._seen: OrderedDict[str, Verdict] = OrderedDict()
        self._lock = threading.Lock()  # input guards run in worker threads
        self._fresh: dict[str, Verdict] = {}

    def guard(self, spec: GuardSpec) -> InputGuard | OutputGuard:
        key = spec.model_dump_json()
        with self._lock:
            found = self._guards.get(key)
            if found is None:
                found = self._guards[key] = create_guard(spec.name, spec)
        return found

    # -- one check -------------------------------------------------------------------
    def _check(self, spec: GuardSpec, text: str, where: str, ctx: OutputContext | None) -> Verdict:
        self.stats.checks += 1
        key = ""
        if ctx is None:
            key = verdict_key(spec, text)
            with self._lock:
                seen = self._seen.get(key)
            if seen is not None:
                self.stats.cached += 1
                outcome = spec.action if seen.triggered else "pass"
                update = {"guard": spec.name, "where": where, "ms": 0.0, "action": spec.action, "outcome": outcome}
                return seen.model_copy(update=update, deep=True)
        t0 = time.perf_counter()
        guard: InputGuard | OutputGuard | None = None
        try:
            guard = self.guard(spec)
            if ctx is not None:
                if not isinstance(guard, OutputGuard):
                    raise TypeError(f"guard {spec.name!r} cannot check output")
                verdict = guard.check_output(text, ctx)
            else:
                if not isinstance(guard, InputGuard):
                    raise TypeError(f"guard {spec.name!r} cannot check input")
                verdict = guard.check(text)
        except Exception as exc:  # noqa: BLE001 - on_error decides; counted, never silent
            self.stats.errors += 1
            default = guard.default_on_error if guard is not None else _DEFAULT_ON_ERROR.get(spec.name, "flag")
            on_error = spec.on_error or default
            log.warning("guard %s failed on %s (%s): %s", spec.name, where, type(exc).__name__, exc)
            verdict = Verdict(guard=spec.name, where=where, error=f"{type(exc).__name__}: {exc}"[:300],
                              action=on_error, outcome="block" if on_error == "block" else "error",
                              reason="the guard failed", ms=(time.perf_counter() - t0) * 1000)  # fmt: skip
            return verdict
        verdict.guard, verdict.where, verdict.action = spec.name, where, spec.action
        verdict.outcome = spec.action if verdict.triggered else "pass"
        if key:
            with self._lock:
                self._seen[key] = verdict.model_copy(deep=True)
                self._fresh[key] = self._seen[key]
                if len(self._seen) > _SEEN_MAX:
                    self._seen.popitem(last=False)
        return verdict

    def _count(self, verdicts: Iterable[Verdict]) -> None:
        for v in verdicts:
            if v.outcome == "block":
                self.stats.blocked += 1
            elif v.outcome == "redact":
                self.stats.redacted += 1
            elif v.outcome == "flag":
                self.stats.flagged += 1

    # -- many checks -----------------------------------------------------------------
    def check_inputs(
        self, specs: Sequence[GuardSpec], texts: Sequence[tuple[str, str]], *, redactor: Redactor | None = None
    ) -> InputOutcome:
        """Every spec over every ``(where, text)``. Raises GuardBlocked (verdicts on it) on a block."""
        redactor = redactor if redactor is not None else Redactor()
        self._load(specs, texts)
        verdicts: list[Verdict] = []
        for spec in specs:
            for where, text in texts:
                verdict = self._check(spec, text, where, None)
                verdicts.append(verdict)
                if verdict.triggered and spec.name == "pii":
                    redactor.add(text, verdict)  # traces and logs never hold raw PII, whatever the action
        self._save()
        self._count(verdicts)
        _raise_on_block(verdicts, "input")
        return InputOutcome(verdicts=verdicts, redactor=redactor)

    def _load(self, specs: Sequence[GuardSpec], texts: Sequence[tuple[str, str]]) -> None:
        """Stored verdicts of these texts into memory, in one read."""
        if self.store is None:
            return
        with self._lock:
            keys = [k for k in {verdict_key(s, t) for s in specs for _, t in texts} if k not in self._seen]
        if not keys:
            return
        try:
            found = self.store.get(keys)
        except Exception as exc:  # noqa: BLE001 - counted; the texts are checked instead
            self.stats.store_errors += 1
            log.warning("guard verdict store read failed: %s", exc)
            return
        with self._lock:
            self._seen.update(found)

    def _save(self) -> None:
        with self._lock:
            fresh, self._fresh = self._fresh, {}
        if self.store is None or not fresh:
            return
        try:
            self.store.put({k: v.model_copy(update={"where": "", "ms": 0.0}) for k, v in fresh.items()})
        except Exception as exc:  # noqa: BLE001 - counted; only the reuse is lost
            self.stats.store_errors += 1
            log.warning("guard verdict store write failed: %s", exc)

    def check_output(self, specs: Sequence[GuardSpec], text: str, ctx: OutputContext) -> list[Verdict]:
        verdicts = [self._check(spec, text, "answer", ctx) for spec in specs]
        self._count(verdicts)
        _raise_on_block(verdicts, "output")
        return verdicts

    def check_text(self, config: GuardsConfig, text: str, ctx: OutputContext | None = None) -> list[Verdict]:
        """Every guard of ``config`` on one text, no action raised (``promptyard guard check``)."""
        verdicts = [self._check(s, text, "text", None) for s in config.input]
        verdicts += [self._check(s, text, "text", ctx or OutputContext()) for s in config.output]
        return verdicts


def verdict_key(spec: GuardSpec, text: str) -> str:
    """Same detection settings and same text: same verdict, whatever the action."""
    return hashlib.blake2b(f"{spec.detector_key()}\0{text}".encode(), digest_size=16).hexdigest()


def summarize(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """What a trace keeps: every triggered or failed verdict, and per guard with none the highest-scoring pass."""
    kept = [v for v in verdicts if v.triggered or v.error]
    named = {v.guard for v in kept}
    best: dict[str, Verdict] = {}
    for v in verdicts:
        if v.guard not in named and (v.guard not in best or v.score > best[v.guard].score):
            best[v.guard] = v
    return kept + list(best.values())


def _raise_on_block(verdicts: Sequence[Verdict], stage: str) -> None:
    for v in verdicts:
        if v.outcome == "block":
            reason = v.reason or ("the guard failed" if v.error else "triggered")
            raise GuardBlocked(
                f"blocked by guard {v.guard!r} on {stage} ({v.where}): {reason}, score {v.score:.2f}",
                guard=v.guard, stage=stage, where=v.where, score=v.score, verdicts=list(verdicts),
            )  # fmt: skip
