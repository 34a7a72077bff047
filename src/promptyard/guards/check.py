"""Check one text with chosen guards, outside any call: ``promptyard guard check`` and ``POST /v1/guards/check``.

Actions are reported, not enforced: the answer says what each guard found and what its
configured action would do (``blocked`` is true when a ``block`` guard triggered).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from promptyard.guards.base import GuardsConfig, GuardSpec, OutputContext, Verdict
from promptyard.guards.runner import GuardRunner

DEFAULT_INPUT = ["injection", "pii", "topics"]


class CheckRequest(BaseModel):
    text: str = Field(min_length=1, max_length=200_000)
    input: list[GuardSpec] = Field(default_factory=lambda: [GuardSpec(name=n) for n in DEFAULT_INPUT])
    """Guards that read the text as input (names or full specs)."""
    output: list[GuardSpec] = Field(default_factory=list)
    """Guards that read the text as an answer (``canary`` needs ``system_prompt``)."""
    system_prompt: str = ""


class CheckResult(BaseModel):
    verdicts: list[Verdict]
    triggered: list[str]
    """Names of the guards that triggered."""
    blocked: bool
    redacted: str | None = None
    """The text with PII placeholders, when the pii guard found any."""


def check_text(req: CheckRequest, runner: GuardRunner | None = None) -> CheckResult:
    runner = runner or GuardRunner()
    config = GuardsConfig(input=req.input, output=req.output)
    verdicts = runner.check_text(config, req.text, OutputContext(system_prompt=req.system_prompt))
    triggered = [v for v in verdicts if v.triggered or v.error]
    redacted = None
    pii = [v for v in verdicts if v.guard == "pii" and v.triggered]
    if pii:
        from promptyard.guards.runner import Redactor

        red = Redactor()
        for v in pii:
            red.add(req.text, v)
        redacted = red.apply(req.text)
    for v in verdicts:
        v.outcome = (v.action if v.triggered else "pass") if not v.error else v.outcome
    return CheckResult(
        verdicts=verdicts,
        triggered=sorted({v.guard for v in triggered}),
        blocked=any(v.outcome == "block" for v in verdicts),
        redacted=redacted,
    )
