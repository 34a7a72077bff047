"""Output validation: JSON (optionally against a JSON Schema), required sections, length.

A :class:`OutputCheck` is compiled once per prompt version (the schema validator is
built once) and run on every answer. Its problems are fed back to the model by the
pipeline (validate-and-retry) and, after the last retry, carried by
:class:`~promptyard.errors.OutputValidationError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import jsonschema
import orjson

from promptyard.chat import ChatMessage
from promptyard.errors import ConfigError
from promptyard.prompts.model import OutputRules

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)
_MAX_PROBLEMS = 10


@dataclass(slots=True)
class CheckResult:
    parsed: Any
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def estimate_tokens(text: str) -> int:
    """Rough token count (4 characters a token) for when the provider reported none."""
    return math.ceil(len(text) / 4)


class OutputCheck:
    """The compiled output rules of one prompt version (or one chat response format)."""

    def __init__(
        self,
        *,
        json_output: bool = False,
        json_schema: dict[str, Any] | None = None,
        required_sections: list[str] | None = None,
        min_tokens: int | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.json_output = json_output or json_schema is not None
        self.required_sections = list(required_sections or [])
        self.min_tokens = min_tokens
        self.max_tokens = max_tokens
        self._validator: jsonschema.protocols.Validator | None = None
        if json_schema is not None:
            cls = jsonschema.validators.validator_for(json_schema)
            try:
                cls.check_schema(json_schema)
            except jsonschema.SchemaError as exc:
                raise ConfigError(f"invalid output JSON Schema: {exc.message}") from exc
            self._validator = cls(json_schema)

    @classmethod
    def from_rules(cls, rules: OutputRules, *, json_output: bool) -> OutputCheck | None:
        """``None`` when the rules check nothing (the common case costs nothing)."""
        if not (json_output or rules.json_schema or rules.required_sections or rules.min_tokens or rules.max_tokens):
            return None
        return cls(
            json_output=json_output,
            json_schema=rules.json_schema,
            required_sections=rules.required_sections,
            min_tokens=rules.min_tokens,
            max_tokens=rules.max_tokens,
        )

    def check(self, text: str, output_tokens: int = 0) -> CheckResult:
        problems: list[str] = []
        parsed: Any = None
        if self.json_output:
            parsed, json_problems = self._check_json(text)
            problems.extend(json_problems)
        for section in self.required_sections:
            if section not in text:
                problems.append(f"missing required section {section!r}")
        if self.min_tokens is not None or self.max_tokens is not None:
            tokens = output_tokens or estimate_tokens(text)
            if self.min_tokens is not None and tokens < self.min_tokens:
                problems.append(f"too short: {tokens} tokens, at least {self.min_tokens} required")
            if self.max_tokens is not None and tokens > self.max_tokens:
                problems.append(f"too long: {tokens} tokens, at most {self.max_tokens} allowed")
        return CheckResult(parsed, problems)

    def _check_json(self, text: str) -> tuple[Any, list[str]]:
        body = text
        fenced = _FENCE.match(text)
        if fenced:
            body = fenced.group(1)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return None, [f"output is not valid JSON: {exc}"]
        if self._validator is None:
            return parsed, []
        problems = []
        errors = sorted(self._validator.iter_errors(parsed), key=lambda err: list(err.absolute_path))
        for err in errors[:_MAX_PROBLEMS]:
            where = "$" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            problems.append(f"{where}: {err.message}")
        if len(errors) > _MAX_PROBLEMS:
            problems.append(f"... and {len(errors) - _MAX_PROBLEMS} more schema errors")
        return parsed, problems


def feedback_messages(bad_output: str, problems: list[str]) -> list[ChatMessage]:
    """The two messages appended to the conversation to ask the model to fix its answer."""
    listed = "\n".join(f"- {p}" for p in problems)
    return [
        ChatMessage(role="assistant", content=bad_output),
        ChatMessage(
            role="user",
            content=(
                "Your previous answer is invalid:\n"
                f"{listed}\n"
                "Answer again, fixing every problem above. Reply with the corrected answer only."
            ),
        ),
    ]
