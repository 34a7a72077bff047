"""The guard seam: input guards (variables, chat messages, retrieved documents) and output guards (answers).

A guard looks at one text and returns a :class:`Verdict`: a score in ``[0, 1]``, the spans
it found, a reason, and whether it triggered. What happens then (``block``, ``redact`` or
``flag``) is the configured action, applied by the runner (:mod:`promptyard.guards.runner`),
never by the guard. One adapter per file in this package, found through the
``promptyard.guards`` entry points; tests register fakes with :func:`promptyard.plugins.register`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from promptyard import plugins

GROUP = "promptyard.guards"

Action = Literal["block", "redact", "flag"]
GuardMode = Literal["serial", "parallel"]
Outcome = Literal["pass", "flag", "redact", "block", "error"]


class Span(BaseModel):
    """Characters ``[start, end)`` of the text checked. Never the text itself (it may be PII)."""

    start: int
    end: int
    label: str
    score: float = 1.0


class Verdict(BaseModel):
    """What one guard said about one text (``where``: a variable name, ``messages[2]``, ``answer``)."""

    guard: str
    triggered: bool = False
    score: float = 0.0
    spans: list[Span] = []
    reason: str = ""
    action: Action = "flag"
    outcome: Outcome = "pass"
    where: str = ""
    error: str | None = None
    ms: float = 0.0


class OutputContext(BaseModel):
    """What an output guard may compare the answer with."""

    system_prompt: str = ""
    canary: str | None = None


@runtime_checkable
class InputGuard(Protocol):
    """Checks a text before it reaches the provider."""

    name: str
    default_on_error: Action

    def check(self, text: str) -> Verdict: ...


@runtime_checkable
class OutputGuard(Protocol):
    """Checks an answer before it reaches the caller."""

    name: str
    default_on_error: Action

    def check_output(self, text: str, ctx: OutputContext) -> Verdict: ...


class VerdictStore(Protocol):
    """Verdicts kept across processes, by key (a hash of the guard's detection settings and the text)."""

    def get(self, keys: Sequence[str]) -> dict[str, Verdict]: ...

    def put(self, verdicts: Mapping[str, Verdict]) -> None: ...


class GuardSpec(BaseModel):
    """One configured guard: ``{name: injection, action: block, threshold: 0.5}`` or just ``injection``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    action: Action = "flag"
    threshold: float | None = None
    """Score at or above which the verdict triggers (unset: the guard's own)."""
    on_error: Action | None = None
    """When the guard itself fails (unset: ``block`` for injection, ``flag`` for others)."""
    restore: bool = False
    """``redact`` only: put the original values back into the answer for the caller."""
    options: dict[str, Any] = Field(default_factory=dict)

    def detector_key(self) -> str:
        """What decides a verdict (not the action): verdicts are reused across specs that share it."""
        return self.model_dump_json(include={"name", "threshold", "options"})

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class GuardsConfig(BaseModel):
    """The ``guards:`` front matter of a prompt (and each per-key policy)."""

    model_config = ConfigDict(extra="forbid")

    mode: GuardMode = "serial"
    """``parallel``: block/flag input guards run while the provider is called, and cancel it on block."""
    input: list[GuardSpec] = Field(default_factory=list)
    output: list[GuardSpec] = Field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.input or self.output)

    def merged(self, other: GuardsConfig | None) -> GuardsConfig:
        """A new config: ``other``'s guards added to these (a guard named in both takes ``other``'s
        settings); parallel when either is."""
        if other is None:
            return self.model_copy(deep=True)

        def merge(a: list[GuardSpec], b: list[GuardSpec]) -> list[GuardSpec]:
            names = {s.name for s in b}
            return [s for s in a if s.name not in names] + b

        mode: GuardMode = "parallel" if "parallel" in (self.mode, other.mode) else "serial"
        return GuardsConfig(mode=mode, input=merge(self.input, other.input), output=merge(self.output, other.output))


def create_guard(name: str, spec: GuardSpec) -> InputGuard | OutputGuard:
    """The guard ``name`` from the ``promptyard.guards`` entry points, built with its spec's options."""
    guard: InputGuard | OutputGuard = plugins.get(GROUP, name)(spec)
    return guard


def guard_names() -> list[str]:
    return plugins.names(GROUP)
