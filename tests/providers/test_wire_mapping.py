"""Pure mapping: Retry-After, SSE framing, error translation, Anthropic blocks and usage."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from promptyard.chat import CacheMark, ChatMessage
from promptyard.errors import BadRequest, ProviderTimeout, ProviderUnavailable, RateLimited
from promptyard.providers.anthropic import build_messages, usage_from_anthropic
from promptyard.providers.http import error_from_status, error_from_type, iter_sse, parse_retry_after
from promptyard.providers.openai import usage_from_openai


def test_retry_after_seconds_ms_and_http_date() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = datetime(2025, 11, 21, 8, 0, 0, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2025, 11, 21, 8, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == 30.0
    assert parse_retry_after({"retry-after": date}, now=now + 60) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, RateLimited), (408, ProviderTimeout), (500, ProviderUnavailable), (503, ProviderUnavailable),
     (529, ProviderUnavailable), (400, BadRequest), (401, BadRequest), (404, BadRequest), (422, BadRequest)],
)  # fmt: skip
def test_status_mapping(status: int, error: type[Exception]) -> None:
    mapped = error_from_status("openai", status, {"retry-after": "3"}, b'{"error": {"message": "nope", "type": "x"}}')
    assert type(mapped) is error
    assert mapped.status == status
    assert "nope" in mapped.message
    if isinstance(mapped, RateLimited):
        assert mapped.retry_after == 3.0


def test_error_body_that_is_not_json_is_kept_short() -> None:
    mapped = error_from_status("anthropic", 502, {}, b"<html>Bad gateway</html>" + b"x" * 1000)
    assert isinstance(mapped, ProviderUnavailable)
    assert "Bad gateway" in mapped.message
    assert len(mapped.message) < 400


@pytest.mark.parametrize(
    ("kind", "error"),
    [("overloaded_error", ProviderUnavailable), ("api_error", ProviderUnavailable),
     ("rate_limit_error", RateLimited), ("invalid_request_error", BadRequest),
     ("timeout_error", ProviderTimeout), ("something_new", ProviderUnavailable)],
)  # fmt: skip
def test_stream_error_types(kind: str, error: type[Exception]) -> None:
    assert type(error_from_type("anthropic", kind, "boom")) is error


async def test_sse_framing_handles_split_lines_crlf_comments_and_multiline_data() -> None:
    raw = (
        b": keep-alive comment\r\n"
        b'event: message_start\r\ndata: {"a":\r\ndata: 1}\r\n\r\n'
        b"data: plain\n\n"
        b"event: ping\ndata:{}\n\n"
        b"data: last-without-blank-line"
    )
    chunks = [raw[i : i + 5] for i in range(0, len(raw), 5)]

    async def body():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    events = [e async for e in iter_sse(body())]
    assert events == [
        ("message_start", b'{"a":\n1}'),
        ("", b"plain"),
        ("ping", b"{}"),
        ("", b"last-without-blank-line"),
    ]


def msgs(*pairs: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=role, content=text) for role, text in pairs]  # type: ignore[arg-type]


def test_cache_marks_land_on_the_last_block_of_each_prefix() -> None:
    messages = msgs(
        ("system", "rules"),
        ("user", "example question"),
        ("assistant", "example answer"),
        ("user", "retrieved context"),
        ("user", "the question"),
    )
    marks = [CacheMark(index=1, ttl="1h"), CacheMark(index=3, ttl="1h"), CacheMark(index=4, ttl="5m")]
    system, out = build_messages(messages, marks)
    assert system == [{"type": "text", "text": "rules", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    assert out == [
        {"role": "user", "content": [{"type": "text", "text": "example question"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "example answer", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "retrieved context", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
                {"type": "text", "text": "the question"},
            ],
        },
    ]


def breakpoints(system: list[dict], out: list[dict]) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    blocks = system + [b for m in out for b in m["content"]]
    return [(b["text"], b["cache_control"]["ttl"]) for b in blocks if "cache_control" in b]


def test_at_most_four_breakpoints_keeping_the_last() -> None:
    messages = msgs(*[("user", f"m{i}") for i in range(6)])
    marks = [CacheMark(index=i, ttl="5m") for i in range(1, 7)]
    assert breakpoints(*build_messages(messages, marks)) == [("m2", "5m"), ("m3", "5m"), ("m4", "5m"), ("m5", "5m")]


def test_a_short_ttl_before_a_longer_one_is_dropped() -> None:
    messages = msgs(("system", "a"), ("user", "b"), ("user", "c"))
    marks = [CacheMark(index=1, ttl="5m"), CacheMark(index=2, ttl="1h"), CacheMark(index=3, ttl="5m")]
    assert breakpoints(*build_messages(messages, marks)) == [("b", "1h"), ("c", "5m")]


def test_marks_out_of_range_or_on_empty_messages() -> None:
    messages = msgs(("system", "a"), ("user", ""), ("user", "q"))
    marks = [CacheMark(index=0), CacheMark(index=2, ttl="1h"), CacheMark(index=9)]
    system, out = build_messages(messages, marks)
    # the mark after the empty message falls back to the block before it
    assert breakpoints(system, out) == [("a", "1h")]
    assert out == [{"role": "user", "content": [{"type": "text", "text": "q"}]}]


def test_a_late_system_message_becomes_user_content() -> None:
    system, out = build_messages(msgs(("user", "q"), ("system", "note")), [])
    assert system == []
    assert out == [{"role": "user", "content": [{"type": "text", "text": "q"}, {"type": "text", "text": "note"}]}]


def test_anthropic_usage_counts_all_input() -> None:
    raw = {
        "input_tokens": 50,
        "cache_creation_input_tokens": 300,
        "cache_read_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        "output_tokens": 20,
    }
    usage = usage_from_anthropic(raw)
    assert usage.input_tokens == 1350
    assert (usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (1000, 100, 200)
    assert usage.output_tokens == 20


def test_anthropic_usage_without_breakdown_uses_the_request_ttl() -> None:
    raw = {"input_tokens": 5, "cache_creation_input_tokens": 40, "output_tokens": 1}
    assert usage_from_anthropic(raw).cache_write_tokens == 40
    one_hour = usage_from_anthropic(raw, default_write_ttl="1h")
    assert (one_hour.cache_write_tokens, one_hour.cache_write_1h_tokens, one_hour.input_tokens) == (0, 40, 45)


def test_openai_usage_mapping() -> None:
    usage = usage_from_openai(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 256},
        }
    )
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens, usage.reasoning_tokens) == (
        2000,
        1920,
        300,
        256,
    )
    assert (
        usage_from_openai({"prompt_tokens": 3, "completion_tokens": 1, "prompt_tokens_details": None}).input_tokens == 3
    )
