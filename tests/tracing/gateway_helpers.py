"""A real Runtime + Gateway with the scripted fake provider and in-memory prompts."""

from __future__ import annotations

from promptyard.errors import PromptNotFound
from promptyard.prompts.model import MessageBlock, ModelConfig, PromptSpec, VariableSpec
from promptyard.providers.base import Usage
from promptyard.runtime import Runtime


class Prompts:
    """A PromptSource holding specs in a dict."""

    def __init__(self, *specs: PromptSpec) -> None:
        self.specs = {(s.name, s.version): s for s in specs}

    def resolve(self, name: str, *, version: str | None = None, label: str | None = None) -> PromptSpec:
        if version is None:
            versions = sorted(v for n, v in self.specs if n == name)
            version = versions[-1] if versions else None
        spec = self.specs.get((name, version or ""))
        if spec is None:
            raise PromptNotFound(f"no prompt {name}@{version}")
        return spec


def greet_spec(version: str = "1.0.0", model: str = "m1") -> PromptSpec:
    return PromptSpec(
        name="greet",
        version=version,
        model=ModelConfig(provider="fake", model=model, temperature=0.0, max_tokens=64),
        variables={"who": VariableSpec(type="string")},
        blocks=[
            MessageBlock(role="system", template="You are a friendly assistant."),
            MessageBlock(role="user", template="Say hello to {{ who }}."),
        ],
    )


class FlatPrices:
    """0.001 USD per token, for every model."""

    def cost(self, _provider: str, _model: str, usage: Usage) -> float:
        return (usage.input_tokens + usage.output_tokens) / 1000.0


def wire(rt: Runtime, prompts: Prompts) -> None:
    """Make ``rt.gateway`` use in-memory prompts and flat prices (everything else is real)."""
    rt.__dict__["registry"] = prompts
    rt.__dict__["prices"] = FlatPrices()
