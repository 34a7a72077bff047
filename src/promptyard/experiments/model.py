"""Experiment records shared by the Python API, the CLI and the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from promptyard.errors import InvalidInput
from promptyard.prompts.records import UTCTime

Unit = Literal["user", "session", "api_key"]
ExperimentKind = Literal["ab", "canary"]
ExperimentStatus = Literal["running", "stopped", "promoted", "rolled_back"]

#: Metrics an experiment can analyse: ``feedback.thumbs_up`` and ``error_rate`` are rates,
#: the rest means. ``score.<evaluator>`` reads the online evaluators' scores.
RATE_METRICS = ("feedback.thumbs_up", "error_rate")
MEAN_METRICS = ("feedback.rating", "latency", "p95_latency", "cost")


def check_metric(metric: str) -> str:
    if metric in RATE_METRICS or metric in MEAN_METRICS or metric.startswith("score."):
        return metric
    known = ", ".join((*RATE_METRICS, *MEAN_METRICS, "score.<evaluator>"))
    raise InvalidInput(f"unknown metric {metric!r}", hint=f"use one of {known}")


class Arm(BaseModel):
    version: str
    weight: float = Field(ge=0)


def parse_arms(text: str) -> list[Arm]:
    """``1.0.0=50,1.1.0=50`` to arms; weights need not sum to 100 (they are normalised)."""
    arms: list[Arm] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        version, sep, weight = part.partition("=")
        if not sep:
            raise InvalidInput(f"arm {part!r} has no weight", hint="write VERSION=WEIGHT, e.g. 1.0.0=50,1.1.0=50")
        try:
            arms.append(Arm(version=version.strip(), weight=float(weight)))
        except ValueError:
            raise InvalidInput(f"arm {part!r}: weight {weight!r} is not a non-negative number") from None
    return check_arms(arms)


def check_arms(arms: list[Arm]) -> list[Arm]:
    versions = [a.version for a in arms]
    if len(arms) < 2 or len(set(versions)) != len(versions):
        raise InvalidInput("a split needs at least two distinct versions", hint="e.g. --arms 1.0.0=50,1.1.0=50")
    if sum(a.weight for a in arms) <= 0:
        raise InvalidInput("the arms' weights must not all be 0")
    return arms


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``2h`` or plain seconds to seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    value = text.strip().lower()
    scale = units.get(value[-1:])
    number = value[:-1] if scale is not None else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a duration", hint="write 90s, 15m or 2h") from None
    if seconds < 0:
        raise InvalidInput(f"duration {text!r} is negative")
    return seconds


class ExperimentSpec(BaseModel):
    """What ``experiments start`` takes."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    prompt: str
    label: str = "production"
    arms: list[Arm]
    unit: Unit = "user"
    primary: str = "feedback.thumbs_up"
    guardrails: list[str] = Field(default_factory=lambda: ["error_rate", "p95_latency", "cost"])
    min_samples: int = Field(default=0, ge=0)

    @field_validator("arms")
    @classmethod
    def _arms(cls, value: list[Arm]) -> list[Arm]:
        return check_arms(value)

    @field_validator("primary")
    @classmethod
    def _primary(cls, value: str) -> str:
        return check_metric(value)

    @field_validator("guardrails")
    @classmethod
    def _guardrails(cls, value: list[str]) -> list[str]:
        return [check_metric(v) for v in value]


class Experiment(BaseModel):
    """A stored experiment or canary."""

    id: int
    name: str
    kind: ExperimentKind
    prompt: str
    label: str
    arms: list[Arm]
    unit: Unit
    primary: str
    guardrails: list[str]
    min_samples: int
    status: ExperimentStatus
    config: dict[str, Any] = Field(default_factory=dict)
    created_by: str
    created_at: UTCTime
    ended_at: UTCTime | None = None
    end_reason: str | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    def weight_of(self, version: str) -> float:
        total = sum(a.weight for a in self.arms)
        return next((a.weight for a in self.arms if a.version == version), 0.0) / total if total else 0.0


class Assignment(BaseModel):
    """Which arm a call got: the trace records all three."""

    experiment: str
    version: str
    unit: str | None
