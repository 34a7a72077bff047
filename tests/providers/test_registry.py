"""ProviderRegistry: lazy instances through the entry-point registry, configured providers."""

from __future__ import annotations

import pytest

from promptyard import plugins
from promptyard.errors import UnknownModel
from promptyard.providers.anthropic import AnthropicProvider
from promptyard.providers.openai import OpenAIProvider
from promptyard.providers.registry import GROUP, ProviderRegistry, parse_model
from promptyard.runtime import Runtime
from promptyard.settings import Settings, load_settings
from promptyard.testing import FakeProvider


def bare(**overrides: object) -> Settings:
    defaults: dict[str, object] = {"openai_api_key": None, "anthropic_api_key": None}
    defaults.update(overrides)
    return load_settings(**defaults)


def test_parse_model() -> None:
    assert parse_model("openai/gpt-4o") == ("openai", "gpt-4o")
    assert parse_model("openai/meta-llama/Llama-3-8B") == ("openai", "meta-llama/Llama-3-8B")
    for bad in ("gpt-4o", "/gpt-4o", "openai/", ""):
        with pytest.raises(UnknownModel, match="provider/model"):
            parse_model(bad)


def test_only_local_is_configured_by_default() -> None:
    assert ProviderRegistry(bare()).configured() == ["local"]


def test_keys_or_base_urls_configure_the_http_providers() -> None:
    with_key = ProviderRegistry(bare(openai_api_key="sk-1"))
    assert with_key.configured() == ["local", "openai"]
    with_url = ProviderRegistry(bare(anthropic_base_url="http://127.0.0.1:9999"))
    assert with_url.configured() == ["anthropic", "local"]


def test_fake_is_configured_only_while_registered(fake: FakeProvider) -> None:
    registry = ProviderRegistry(bare())
    assert "fake" in registry.configured()
    assert registry.get("fake") is fake
    plugins.unregister(GROUP, "fake")
    assert "fake" not in ProviderRegistry(bare()).configured()


def test_instances_are_created_once() -> None:
    registry = ProviderRegistry(bare(openai_api_key="sk-1", anthropic_api_key="sk-ant"))
    first = registry.get("openai")
    assert isinstance(first, OpenAIProvider)
    assert registry.get("openai") is first
    assert isinstance(registry.get("anthropic"), AnthropicProvider)


def test_unknown_or_unconfigured_provider_lists_the_configured_ones() -> None:
    registry = ProviderRegistry(bare())
    with pytest.raises(UnknownModel) as unknown:
        registry.get("mistral")
    assert unknown.value.available == ["local"]
    assert "unknown provider 'mistral'" in str(unknown.value)
    with pytest.raises(UnknownModel) as unconfigured:
        registry.resolve("openai/gpt-4o")
    assert "PROMPTYARD_OPENAI_API_KEY" in str(unconfigured.value)
    assert "configured: local" in str(unconfigured.value)


async def test_resolve_and_close(fake: FakeProvider) -> None:
    registry = ProviderRegistry(bare())
    provider, model = registry.resolve("fake/primary")
    assert provider is fake
    assert model == "primary"
    await registry.aclose()
    assert fake.closed
    assert registry.instances() == {}


async def test_a_failing_close_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeProvider):
        async def aclose(self) -> None:
            raise RuntimeError("socket already gone")

    plugins.register(GROUP, "broken", lambda settings: Broken(name="broken"))
    try:
        registry = ProviderRegistry(bare())
        registry.get("broken")
        await registry.aclose()
    finally:
        plugins.unregister(GROUP, "broken")
    assert "closing provider broken failed" in caplog.text


async def test_runtime_owns_and_closes_its_providers(fake: FakeProvider) -> None:
    runtime = Runtime(bare())
    assert runtime.providers is runtime.providers
    assert runtime.providers.get("fake") is fake
    await runtime.aclose()
    assert fake.closed
