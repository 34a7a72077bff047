"""promptyard.client against the app: AsyncClient over ASGI, Client over a live uvicorn server."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from promptyard import errors
from promptyard.client import AsyncClient, Client, error_from_body
from tests.interfaces.conftest import LiveServer
from tests.interfaces.standin import StandInGateway


@pytest.fixture
async def aclient(app: FastAPI, app_key: str) -> AsyncClient:
    return AsyncClient("http://testserver", api_key=app_key, transport=httpx.ASGITransport(app=app))


async def test_async_run_stream_chat(aclient: AsyncClient, gateway: StandInGateway) -> None:
    async with aclient:
        result = await aclient.run("greet", label="production", variables={"who": "Ada"}, end_user="u9")
        assert result.prompt == "greet@1.0.0"
        assert gateway.calls[-1].context.end_user == "u9"

        stream = await aclient.stream("greet", version="1.0.0")
        async with stream:
            text = "".join([d async for d in stream])
        assert stream.result is not None
        assert text == stream.result.text

        chat = await aclient.chat("fake/echo", [{"role": "user", "content": "hi"}], temperature=0.1, bypass_cache=True)
        assert chat.text == gateway.text
        assert chat.usage.cache_read_tokens == 3
        assert chat.trace_id
        assert gateway.calls[-1].context.bypass_cache is True


async def test_async_errors_map_back(aclient: AsyncClient, gateway: StandInGateway) -> None:
    async with aclient:
        with pytest.raises(errors.PromptNotFound) as info:
            await aclient.run("missing", label="production")
        assert info.value.available == ["greet"]
        with pytest.raises(errors.PromptNotFound):
            await aclient.stream("missing", label="production")
        with pytest.raises(errors.UnknownModel) as unknown:
            await aclient.chat("nope/x", [{"role": "user", "content": "hi"}])
        assert "fake/echo" in unknown.value.available
        assert unknown.value.hint == "configured: fake/echo"
        with pytest.raises(errors.InvalidInput) as bad:
            await aclient.chat("fake/echo", [{"role": "robot", "content": "hi"}])
        assert any("role" in p for p in bad.value.problems)


async def test_async_render_and_list(aclient: AsyncClient, registry_prompt: None) -> None:
    async with aclient:
        rendered = await aclient.render("greet", label="production", variables={"who": "Ada"})
        assert rendered.version == "1.0.0"
        assert rendered.messages[-1].content == "Say hello to Ada."
        prompts = await aclient.list_prompts()
        assert [(p.name, p.labels) for p in prompts] == [("greet", {"production": "1.0.0"})]
        with pytest.raises(errors.VariableValidationError) as info:
            await aclient.render("greet", label="production", variables={})
        assert info.value.problems


def test_sync_client_against_live_server(
    live: LiveServer, app_key: str, gateway: StandInGateway, registry_prompt: None
) -> None:
    with Client(live.url, api_key=app_key) as py:
        result = py.run("greet", label="production", variables={"who": "Ada"})
        assert result.provider == "fake"
        with py.stream("greet", label="production") as stream:
            deltas = list(stream)
        assert stream.result is not None
        assert "".join(deltas) == stream.result.text
        assert py.chat("fake/echo", [{"role": "user", "content": "hi"}]).text == gateway.text
        assert py.render("greet", version="1.0.0", variables={"who": "B"}).messages[0].role == "system"
        assert py.list_prompts()[0].name == "greet"
        with pytest.raises(errors.PromptNotFound):
            py.stream("missing", label="production")
    with Client(live.url, api_key="py_wrong_key") as bad, pytest.raises(errors.AuthError):
        bad.run("greet", label="production")


def test_error_from_body_keeps_retry_after_and_class() -> None:
    body = {"error": {"message": "slow down", "type": "rate_limited", "code": "rate_limited"}}
    exc = error_from_body(body, 429, "7")
    assert isinstance(exc, errors.RateLimitExceeded)
    assert exc.retry_after == 7.0
    exc2 = error_from_body(
        {"error": {"message": "x (try later)", "type": "provider_unavailable", "hint": "try later"}}, 503
    )
    assert isinstance(exc2, errors.ProviderUnavailable)
    assert (exc2.message, exc2.hint, str(exc2)) == ("x", "try later", "x (try later)")
    assert type(error_from_body("<html>", 500)) is errors.PromptyardError
