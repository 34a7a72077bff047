"""``format``: the answer is non-empty and keeps the prompt's output rules (JSON when the
prompt asks for JSON, required sections present); the share of rules kept."""

from __future__ import annotations

import json

from promptyard.prompts.model import PromptSpec
from promptyard.settings import Settings
from promptyard.tracing.model import Trace


class FormatCheck:
    name = "format"

    def score(self, trace: Trace, spec: PromptSpec | None) -> float | None:
        answer = trace.answer or ""
        kept = [bool(answer.strip())]
        if spec is not None:
            if spec.model.response_format == "json" or spec.output.json_schema is not None:
                try:
                    json.loads(answer)
                    kept.append(True)
                except ValueError:
                    kept.append(False)
            kept.extend(section in answer for section in spec.output.required_sections)
        return sum(kept) / len(kept)


def create(settings: Settings) -> FormatCheck:
    return FormatCheck()
