"""The pipeline's guard step: input guards before the answer cache and the provider, output guards after.

Which guards run: ``PROMPTYARD_GUARDS_DEFAULT``, then the prompt's ``guards:`` front matter,
then ``PROMPTYARD_GUARDS_BY_KEY`` for the calling key (later ones win for a guard named twice).
Input guards read each variable of a prompt call (nested values by path, so every retrieved
document is checked on its own) or each non-system message of a chat call. ``redact``
guards rewrite the messages the provider receives; with ``mode: parallel`` the other input
guards run while the provider is called, and cancel the call when they block. Output guards
read the answer (also a cached one) and the system prompt, with the leak canary in it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from promptyard.chat import ChatMessage
from promptyard.errors import GuardBlocked
from promptyard.gateway.base import CallContext
from promptyard.gateway.engine import Generated
from promptyard.gateway.plan import Plan
from promptyard.guards.base import GuardsConfig, GuardSpec, OutputContext, Verdict
from promptyard.guards.canary import canary_line, canary_token
from promptyard.guards.runner import GuardRunner, Redactor, summarize
from promptyard.settings import Settings

if TYPE_CHECKING:
    from promptyard.gateway.pipeline import Gateway

T = TypeVar("T")
_MAX_TEXTS = 200


@dataclass
class GuardRun:
    """One call's guards: config, verdicts so far, placeholders, the canary."""

    config: GuardsConfig
    verdicts: list[Verdict] = field(default_factory=list)
    redactor: Redactor = field(default_factory=Redactor)
    canary: str | None = None
    system_prompt: str = ""
    pending: list[GuardSpec] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def restore(self) -> bool:
        return any(s.name == "pii" and s.action == "redact" and s.restore for s in self.config.input)

    def trace_verdicts(self) -> list[Verdict]:
        return summarize(self.verdicts)


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if value.strip():
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")


def input_texts(plan: Plan) -> list[tuple[str, str]]:
    """``(where, text)`` for each variable string of a prompt call, each non-system message of a chat."""
    if plan.kind == "chat":
        found = [(f"messages[{i}]", m.content) for i, m in enumerate(plan.request.messages) if m.role != "system"]
    else:
        found = list(_texts(plan.inputs, ""))
    return found[:_MAX_TEXTS]


class GuardStep:
    def __init__(self, settings: Settings, runner: GuardRunner | None = None) -> None:
        self.settings = settings
        self.runner = runner or GuardRunner()

    def config_for(self, prompt: GuardsConfig | None, ctx: CallContext) -> GuardsConfig | None:
        """Default, then the prompt's, then the key's guards; None when there are none (the common, free case)."""
        by_key = self.settings.guards_by_key
        key = by_key.get(ctx.api_key_id) if by_key and ctx.api_key_id else None
        default = self.settings.guards_default
        if default is None and key is None:
            return prompt if prompt is not None and prompt.active else None
        config = (default or GuardsConfig()).merged(prompt).merged(key)
        return config if config.active else None

    def start(self, config: GuardsConfig | None) -> GuardRun | None:
        return GuardRun(config=config) if config is not None else None

    async def before(self, run: GuardRun | None, plan: Plan) -> None:
        """Serial input guards (raising GuardBlocked), redaction, the canary; the rest left in ``pending``."""
        if run is None:
            return
        config = run.config
        messages = list(plan.request.messages)
        run.system_prompt = "\n".join(m.content for m in messages if m.role == "system")
        if config.input:
            run.texts = input_texts(plan)
            parallel = config.mode == "parallel"
            serial = [s for s in config.input if not parallel or s.action == "redact"]
            run.pending = [s for s in config.input if parallel and s.action != "redact"]
            if serial:
                await self._inputs(run, serial)
            if run.redactor and any(s.name == "pii" and s.action == "redact" for s in serial):
                messages = [ChatMessage(role=m.role, content=run.redactor.apply(m.content)) for m in messages]
        if any(s.name == "canary" for s in config.output):
            run.canary = canary_token(plan.prompt_ref or f"chat:{plan.target.model}")
            line = canary_line(run.canary)
            at = next((i for i, m in enumerate(messages) if m.role == "system"), None)
            if at is None:
                messages.insert(0, ChatMessage(role="system", content=line.strip()))
            else:
                messages[at] = ChatMessage(role="system", content=messages[at].content + line)
        if messages != plan.request.messages:
            plan.request = plan.request.model_copy(update={"messages": messages})

    @staticmethod
    def holds_stream(run: GuardRun | None) -> bool:
        """A stream with output guards or placeholders to restore is sent in one piece once checked."""
        return run is not None and bool(run.config.output or run.restore)

    async def before_stream(self, run: GuardRun | None, plan: Plan) -> None:
        """Streams run every input guard first (no parallel mode)."""
        await self.before(run, plan)
        if run is not None and run.pending:
            pending, run.pending = run.pending, []
            await self._inputs(run, pending)

    async def _inputs(self, run: GuardRun, specs: list[GuardSpec]) -> None:
        try:
            outcome = await asyncio.to_thread(self.runner.check_inputs, specs, run.texts, redactor=run.redactor)
        except GuardBlocked as exc:
            run.verdicts.extend(v for v in exc.verdicts if isinstance(v, Verdict))
            raise
        run.verdicts.extend(outcome.verdicts)

    async def alongside(self, run: GuardRun | None, work: Awaitable[T]) -> T:
        """``work`` (the cache lookup and provider call) with the pending input guards beside it.

        A block cancels ``work`` and raises; otherwise ``work``'s result once both are done.
        """
        if run is None or not run.pending:
            return await work
        task: asyncio.Future[T] = asyncio.ensure_future(work)
        try:
            await self._inputs(run, run.pending)
        except BaseException:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        return await task

    async def finish(self, gw: Gateway, plan: Plan, run: GuardRun | None, gen: Generated) -> tuple[Generated, str]:
        """:meth:`after`; an answer it blocks is dropped from the answer cache, never served again."""
        try:
            return self.after(run, gen)
        except GuardBlocked:
            await forget(gw, plan)
            raise

    @staticmethod
    def parsed(run: GuardRun | None, parsed: Any) -> Any:
        """The parsed JSON answer for the caller: placeholders restored when allowed."""
        return run.redactor.restore_deep(parsed) if run is not None and run.restore and parsed is not None else parsed

    def after(self, run: GuardRun | None, gen: Generated) -> tuple[Generated, str]:
        """Output guards on the answer. Returns the answer for the trace (no raw PII) and for the caller."""
        if run is None:
            return gen, gen.text
        text = gen.text
        out = Redactor()
        redact_output = False
        if run.config.output:
            ctx = OutputContext(system_prompt=run.system_prompt, canary=run.canary)
            try:
                verdicts = self.runner.check_output(run.config.output, text, ctx)
            except GuardBlocked as exc:
                run.verdicts.extend(v for v in exc.verdicts if isinstance(v, Verdict))
                raise
            run.verdicts.extend(verdicts)
            for v in verdicts:
                if v.guard == "pii" and v.triggered:
                    out.add(text, v)
                    redact_output = redact_output or v.action == "redact"
        traced = out.apply(run.redactor.apply(text))
        caller = out.apply(text) if redact_output else text
        if run.restore:
            caller = run.redactor.restore(caller)
        return dataclasses.replace(gen, text=traced), caller


log = logging.getLogger("promptyard.gateway")


async def forget(gw: Gateway, plan: Plan) -> None:
    """Drop the cached answer of ``plan`` after an output guard blocked it (failures counted, never raised)."""
    if plan.cache_key is None or gw.cache is None:
        return
    try:
        await gw.cache.delete(plan.cache_key)
    except Exception as exc:  # noqa: BLE001
        gw.stats.cache_errors += 1
        log.warning("answer cache delete failed (%s): %s", type(exc).__name__, exc)
