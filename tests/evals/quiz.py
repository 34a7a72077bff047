"""A deterministic provider whose answer quality depends on the prompt text.

* A QA prompt whose system message says "Reply with the exact answer." answers
  ``question N?`` with ``answer N``; any other wording answers only every third question
  right and says "I am not sure" otherwise (the deliberately worse version).
* ``rag_answer`` answers ``answer N [dN]`` when document ``dN`` is in its context and
  abstains otherwise.
* The judge rubric ("You grade answers") gets ``{"score": 5}`` when the graded answer
  equals the reference, ``{"score": 1}`` otherwise, and text that is not JSON when the
  answer contains ``BROKEN`` (a judge failure).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from promptyard.providers.base import CompletionRequest, CompletionResponse, StreamEvent, Timings, Usage

_QUESTION = re.compile(r"question (\d+)\?")
_TAGGED = r"<{tag}-[0-9a-f]+>(.*?)</{tag}-[0-9a-f]+>"


def _tagged(tag: str, text: str) -> str:
    match = re.search(_TAGGED.format(tag=tag), text, re.DOTALL)
    return match.group(1) if match else ""


class QuizProvider:
    def __init__(self, name: str = "quiz") -> None:
        self.name = name
        self.requests: list[CompletionRequest] = []

    def answer(self, request: CompletionRequest) -> str:
        system = " ".join(m.content for m in request.messages if m.role == "system")
        user = "\n".join(m.content for m in request.messages if m.role == "user")
        if "You grade answers" in system:
            answer, reference = _tagged("answer", user), _tagged("reference", user)
            if "BROKEN" in answer:
                return "I refuse to answer in JSON."
            score = 5 if answer.strip() == reference.strip() else 1
            return json.dumps({"score": score, "reason": "same as reference" if score == 5 else "differs"})
        if "You answer questions using only the documents" in system:
            return self.rag_answer(user)
        match = _QUESTION.search(user)
        if match is None:
            return "no question found"
        n = int(match.group(1))
        if "Reply with the exact answer." in system or n % 3 == 0:
            return f"answer {n}"
        return "I am not sure"

    @staticmethod
    def rag_answer(user: str) -> str:
        """``answer N [dN]`` when document dN is in the context; q7 also cites a made-up ``[doc_99]``."""
        match = _QUESTION.search(user.rsplit("Question:", 1)[-1])
        n = int(match.group(1)) if match else -1
        if f"[d{n}]" not in user:
            return "I don't have information about that"
        extra = " [doc_99]" if n == 7 else ""
        return f"answer {n} [d{n}]{extra}"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.requests.append(request)
        text = self.answer(request)
        return CompletionResponse(
            text=text,
            usage=Usage(
                input_tokens=sum(len(m.content.split()) for m in request.messages), output_tokens=len(text.split())
            ),
            timings=Timings(ttft_ms=1.0, total_ms=1.0),
            provider=self.name,
            model=request.model,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        response = await self.complete(request)
        yield StreamEvent(delta=response.text)
        yield StreamEvent(finish_reason="stop", usage=response.usage)

    async def aclose(self) -> None:
        return None


def qa_prompt(version: str, system: str) -> str:
    return f"""---
name: qa
version: {version}
description: Answer a quiz question.
model: {{provider: quiz, model: quiz-1, temperature: 0.0, max_tokens: 20}}
variables:
  question: {{type: string, untrusted: true}}
---
[system]
{system}

[user]
{{{{ question }}}}
"""


def judge_prompt(repo_root_text: str) -> str:
    """A shipped prompt file (the judge rubric, rag_answer), pointed at the quiz provider."""
    return repo_root_text.replace("provider: local", "provider: quiz").replace(
        "model: smollm2-135m-instruct", "model: quiz-judge"
    )
