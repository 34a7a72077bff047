"""Gateway fixtures: the scripted FakeProvider through the real ProviderRegistry, in-memory
prompts rendered by the real renderer, a manual clock and a sleep that never sleeps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from promptyard.errors import PromptNotFound
from promptyard.gateway.caches.memory import MemoryAnswerCache
from promptyard.gateway.pipeline import Gateway
from promptyard.prompts.model import MessageBlock, ModelConfig, OutputRules, PromptSpec, VariableSpec
from promptyard.providers.base import Usage
from promptyard.providers.fake import FakeProvider
from promptyard.providers.registry import ProviderRegistry
from promptyard.settings import Settings
from promptyard.testing.cache_contract import ManualClock
from promptyard.tracing.model import MemoryRecorder

GROUP = "promptyard.providers"


class Prompts:
    """A PromptSource holding specs in a dict (the registry has its own tests)."""

    def __init__(self) -> None:
        self.specs: dict[tuple[str, str], PromptSpec] = {}
        self.labels: dict[tuple[str, str], str] = {}

    def add(self, spec: PromptSpec, *, label: str | None = None) -> PromptSpec:
        self.specs[(spec.name, spec.version)] = spec
        if label:
            self.labels[(spec.name, label)] = spec.version
        return spec

    def resolve(self, name: str, *, version: str | None = None, label: str | None = None) -> PromptSpec:
        if label is not None:
            version = self.labels.get((name, label))
        spec = self.specs.get((name, version or ""))
        if spec is None:
            raise PromptNotFound(f"prompt {name!r} has no version or label {version or label!r}")
        return spec


def make_spec(
    name: str = "greet",
    version: str = "1.0.0",
    *,
    model: ModelConfig | None = None,
    output: OutputRules | None = None,
    user: str = "Say hello to {{ who }}.",
) -> PromptSpec:
    return PromptSpec(
        name=name,
        version=version,
        model=model or ModelConfig(provider="fake", model="m1"),
        variables={"who": VariableSpec(type="string")},
        output=output or OutputRules(),
        blocks=[
            MessageBlock(role="system", template="You are a friendly assistant."),
            MessageBlock(role="user", template=user),
        ],
    )


class Sleeps:
    """Records backoff delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path, max_retries=2, retry_base_s=0.1, retry_max_s=8.0, output_retries=1, cache_ttl_s=300.0
    )


@pytest.fixture
def prompts() -> Prompts:
    p = Prompts()
    p.add(make_spec(), label="production")
    return p


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


def flat_cost(_provider: str, _model: str, usage: Usage) -> float:
    """0.001 USD per token: easy to check."""
    return (usage.input_tokens + usage.output_tokens) / 1000.0


@pytest.fixture
def make_gateway(
    fake: FakeProvider,
    settings: Settings,
    prompts: Prompts,
    clock: ManualClock,
    sleeps: Sleeps,
    recorder: MemoryRecorder,
) -> Callable[..., Gateway]:
    def build(**overrides: Any) -> Gateway:
        gw_settings = overrides.pop("settings", settings)
        kwargs: dict[str, Any] = {
            "providers": ProviderRegistry(gw_settings),
            "settings": gw_settings,
            "prompts": prompts,
            "cache": MemoryAnswerCache(clock=clock),
            "tracer": recorder,
            "cost": flat_cost,
            "sleep": sleeps,
            "rand": lambda: 0.5,
            "clock": clock,
        }
        kwargs.update(overrides)
        return Gateway(**kwargs)

    return build


@pytest.fixture
def gateway(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway()
