"""POST /v1/prompts/{name}/run, plain and streaming."""

from __future__ import annotations

import httpx
import orjson

from promptyard.gateway.base import GatewayResult, PromptCall
from tests.interfaces.standin import StandInGateway


def events(text: str) -> list[tuple[str, object]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], orjson.loads(lines["data"])))
    return out


async def test_run_returns_gateway_result(client: httpx.AsyncClient, gateway: StandInGateway) -> None:
    body = {"label": "production", "variables": {"name": "Ada"}, "end_user": "u1", "bypass_cache": True}
    resp = await client.post("/v1/prompts/greet/run", json=body)
    assert resp.status_code == 200, resp.text
    result = GatewayResult.model_validate_json(resp.content)
    assert result.prompt == "greet@1.0.0"
    assert result.text.endswith("{'name': 'Ada'}")
    assert resp.headers["x-promptyard-trace-id"] == result.trace_id
    call = gateway.calls[-1]
    assert isinstance(call, PromptCall)
    assert (call.name, call.label, call.version, call.context.end_user, call.context.bypass_cache) == (
        "greet",
        "production",
        None,
        "u1",
        True,
    )
    assert call.context.api_key_id is not None


async def test_run_stream_sends_deltas_then_result(client: httpx.AsyncClient, gateway: StandInGateway) -> None:
    resp = await client.post("/v1/prompts/greet/run", json={"version": "1.0.0", "stream": True})
    assert resp.status_code == 200
    evs = events(resp.text)
    assert evs[-1][0] == "result"
    deltas = "".join(d["delta"] for kind, d in evs[:-1] if kind == "delta")  # type: ignore[index]
    result = GatewayResult.model_validate(evs[-1][1])
    assert deltas == result.text
    assert len(gateway.recorder.traces) == 1
    assert gateway.recorder.traces[0].status == "ok"


async def test_run_needs_exactly_one_selector(client: httpx.AsyncClient) -> None:
    for body in ({}, {"label": "production", "version": "1.0.0"}):
        resp = await client.post("/v1/prompts/greet/run", json=body)
        assert resp.status_code == 422
        assert "exactly one" in "\n".join(resp.json()["error"]["problems"])


async def test_run_rejects_unknown_fields_and_bad_types(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/prompts/greet/run", json={"label": "production", "variables": [1], "colour": "red"})
    assert resp.status_code == 422
    problems = "\n".join(resp.json()["error"]["problems"])
    assert "body.variables" in problems
    assert "body.colour" in problems


async def test_run_unknown_prompt_404_even_when_streaming(client: httpx.AsyncClient) -> None:
    for stream in (False, True):
        resp = await client.post("/v1/prompts/nope/run", json={"label": "production", "stream": stream})
        assert resp.status_code == 404
        assert resp.json()["error"]["type"] == "prompt_not_found"


async def test_run_requires_app_role(client: httpx.AsyncClient, runtime: object) -> None:
    resp = await client.post("/v1/prompts/greet/run", json={"label": "production"}, headers={"Authorization": ""})
    assert resp.status_code == 401
