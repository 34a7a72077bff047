"""OpenAI-compatible /v1/chat/completions and /v1/models over ASGI."""

from __future__ import annotations

import httpx
import orjson

from promptyard.gateway.base import ChatCall, PromptCall
from promptyard.runtime import Runtime
from tests.interfaces.standin import StandInGateway

CHAT = {"model": "fake/echo", "messages": [{"role": "user", "content": "hi"}]}


def sse_data(text: str) -> list[str]:
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


async def test_completion_has_openai_shape(client: httpx.AsyncClient, gateway: StandInGateway) -> None:
    resp = await client.post("/v1/chat/completions", json={**CHAT, "temperature": 0.5, "max_tokens": 9, "stop": "x"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "fake/echo"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": gateway.text, "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] == 7
    assert usage["total_tokens"] == 7 + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 3}
    assert body["promptyard"]["trace_id"] == resp.headers["x-promptyard-trace-id"]
    call = gateway.calls[-1]
    assert isinstance(call, ChatCall)
    assert (call.temperature, call.max_tokens, call.stop) == (0.5, 9, ["x"])


async def test_prompt_model_passes_variables_and_end_user(client: httpx.AsyncClient, gateway: StandInGateway) -> None:
    body = {
        "model": "prompt:greet@production",
        "messages": [],
        "user": "u-openai",
        "promptyard": {"variables": {"name": "Ada"}, "bypass_cache": True},
    }
    resp = await client.post("/v1/chat/completions", json=body)
    assert resp.status_code == 200, resp.text
    call = gateway.calls[-1]
    assert isinstance(call, PromptCall)
    assert (call.name, call.label, call.version) == ("greet", "production", None)
    assert call.variables == {"name": "Ada"}
    assert call.context.end_user == "u-openai"
    assert call.context.bypass_cache is True
    assert resp.json()["promptyard"]["prompt"] == "greet@1.0.0"

    resp = await client.post(
        "/v1/chat/completions",
        json={**body, "model": "prompt:greet@1.0.0", "promptyard": {"end_user": "u-extra"}},
    )
    call = gateway.calls[-1]
    assert isinstance(call, PromptCall)
    assert (call.version, call.label, call.context.end_user) == ("1.0.0", None, "u-extra")


async def test_stream_chunks_match_openai(client: httpx.AsyncClient, gateway: StandInGateway) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    resp = await client.post("/v1/chat/completions", json=body)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = sse_data(resp.text)
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == gateway.text
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1
    assert finish[0]["choices"][0]["finish_reason"] == "stop"
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == 7
    assert last["usage"]["prompt_tokens_details"]["cached_tokens"] == 3
    assert all(c["usage"] is None for c in chunks[:-1])


async def test_stream_without_usage_option_has_no_usage_chunk(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    chunks = [orjson.loads(e) for e in sse_data(resp.text)[:-1]]
    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)


async def test_unknown_model_is_400_listing_configured(client: httpx.AsyncClient) -> None:
    for stream in (False, True):
        resp = await client.post("/v1/chat/completions", json={**CHAT, "model": "nope/x", "stream": stream})
        assert resp.status_code == 400, resp.text
        err = resp.json()["error"]
        assert err["type"] == "unknown_model"
        assert "fake/echo" in err["available"]


async def test_unknown_prompt_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/chat/completions", json={**CHAT, "model": "prompt:missing@production"})
    assert resp.status_code == 404
    assert resp.json()["error"]["available"] == ["greet"]


async def test_bad_prompt_reference_is_422(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/chat/completions", json={**CHAT, "model": "prompt:greet"})
    assert resp.status_code == 422
    assert "NAME@LABEL" in resp.json()["error"]["message"]


async def test_malformed_body_is_422_with_field_errors(client: httpx.AsyncClient) -> None:
    bad = {"model": "fake/echo", "messages": [{"role": "wizard", "content": "x"}], "temperature": 9, "n": 2}
    resp = await client.post("/v1/chat/completions", json=bad)
    assert resp.status_code == 422
    problems = resp.json()["error"]["problems"]
    joined = "\n".join(problems)
    assert "body.messages.0.role" in joined
    assert "body.temperature" in joined
    assert "body.n" in joined
    resp = await client.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 422
    resp = await client.post("/v1/chat/completions", json={"messages": []})
    assert resp.status_code == 422
    assert any("body.model" in p for p in resp.json()["error"]["problems"])


async def test_empty_messages_for_raw_chat_is_422(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/chat/completions", json={"model": "fake/echo", "messages": []})
    assert resp.status_code == 422
    assert "messages" in resp.json()["error"]["message"]


async def test_auth_is_required(client: httpx.AsyncClient, runtime: Runtime) -> None:
    resp = await client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": ""})
    assert resp.status_code == 401
    viewer = runtime.keys.create("v", "viewer").secret
    resp = await client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {viewer}"})
    assert resp.status_code == 403
    resp = await client.get("/v1/models", headers={"Authorization": f"Bearer {viewer}"})
    assert resp.status_code == 200


async def test_content_parts_and_developer_role(client: httpx.AsyncClient, gateway: StandInGateway) -> None:
    body = {
        "model": "fake/echo",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        ],
    }
    resp = await client.post("/v1/chat/completions", json=body)
    assert resp.status_code == 200
    call = gateway.calls[-1]
    assert isinstance(call, ChatCall)
    assert [(m.role, m.content) for m in call.messages] == [("system", "be brief"), ("user", "ab")]


async def test_models_lists_provider_models_and_prompt_labels(client: httpx.AsyncClient, registry_prompt: None) -> None:
    from promptyard.testing.registration import registered_provider

    with registered_provider():
        resp = await client.get("/v1/models")
    assert resp.status_code == 200
    body = resp.json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert "local/smollm2-135m-instruct" in ids
    assert "fake/*" in ids
    assert not any(i.startswith("openai/") for i in ids)  # no key, default base URL: not configured
    assert ids[-1] == "prompt:greet@production"
    assert {m["object"] for m in body["data"]} == {"model"}


async def test_response_format_json_schema_reaches_the_gateway(
    client: httpx.AsyncClient, gateway: StandInGateway
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    body = {**CHAT, "response_format": {"type": "json_schema", "json_schema": {"name": "thing", "schema": schema}}}
    resp = await client.post("/v1/chat/completions", json=body)
    assert resp.status_code == 200, resp.text
    call = gateway.calls[-1]
    assert isinstance(call, ChatCall)
    assert call.response_format is not None
    assert (call.response_format.type, call.response_format.name) == ("json_schema", "thing")
    assert call.response_format.json_schema == schema
    missing = await client.post("/v1/chat/completions", json={**CHAT, "response_format": {"type": "json_schema"}})
    assert missing.status_code == 422
    assert "json_schema.schema" in missing.json()["error"]["message"]
