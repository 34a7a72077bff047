"""Export a sentence-transformers BERT model to ONNX once, optionally with int8 weights.

The export runs at first use and lands in ``<home>/cache/onnx/<key>/``; later processes
load the file directly. The key covers the model files, the torch version and the export
layout, so a new model, exporter or layout makes a new file. Writers take a file lock and
rename atomically, so two processes starting at once never read half a file.

The graph takes ``input_ids`` only, without an attention mask: the embedder only ever
runs batches of texts of one length, so there is no padding to mask, and each layer
saves adding a (batch, heads, seq, seq) mask before its softmax.

Quantization is dynamic and per channel: per-tensor int8 moved MiniLM embeddings to a
mean cosine of 0.936 from the float model on SciFact abstracts (too lossy), per channel
keeps 0.993. The graph is quantized as exported, not after ONNX Runtime's BERT fusions:
their fused ``QAttention`` ran 4% slower on an AVX2 CPU than separate int8 Q, K and V
projections with float attention (docs/benchmarks.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from promptyard.errors import ConfigError

log = logging.getLogger(__name__)

FLOAT_NAME = "model.onnx"
INT8_NAME = "model-int8.onnx"
EXPORT_LAYOUT = "input_ids-only/unfused"
"""Part of the cache key: changing how the graph is exported makes a new file."""


def cache_key(model_dir: Path) -> str:
    import torch

    h = hashlib.sha256()
    h.update(torch.__version__.encode())
    h.update(EXPORT_LAYOUT.encode())
    for name in sorted(os.listdir(model_dir)):
        path = model_dir / name
        if path.is_file():
            st = path.stat()
            h.update(f"{name}:{st.st_size}".encode())
    return h.hexdigest()[:16]


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def export_float(model_dir: Path, target: Path, *, attention_mask: bool = False) -> None:
    """Write the float32 graph. ``attention_mask=True`` adds the usual mask input: the layout
    ONNX Runtime's BERT fusions expect (``bench/embed_engines.py`` compares against it)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class _Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
            out = self.inner(input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(input_ids))
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    ids = torch.tensor([[101, 7592, 2088, 2088, 102], [101, 7592, 7592, 2088, 102]])
    names = ["input_ids", "attention_mask"] if attention_mask else ["input_ids"]
    axes = {name: {0: "batch", 1: "seq"} for name in [*names, "last_hidden_state"]}
    tmp = target.with_suffix(".tmp")
    # The tracer warns about a kv-cache length check that is constant for an encoder: harmless.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Encoder(model),
            (ids, torch.ones_like(ids)) if attention_mask else (ids,),
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(".tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs pre-processing advice on the root logger
    try:
        quantize_dynamic(
            str(source),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": 1},  # onnx.TensorProto.FLOAT
        )
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


def ensure_onnx(model_dir: Path, cache_root: Path, *, int8: bool) -> Path:
    """Path of the ONNX file for ``model_dir``, exporting (and quantizing) it on first use."""
    directory = cache_root / "onnx" / cache_key(model_dir)
    wanted = directory / (INT8_NAME if int8 else FLOAT_NAME)
    if wanted.is_file():
        return wanted
    with _locked(directory):
        if wanted.is_file():
            return wanted
        try:
            float_path = directory / FLOAT_NAME
            if not float_path.is_file():
                log.info("exporting %s to ONNX in %s (once)", model_dir, directory)
                export_float(model_dir, float_path)
            if int8:
                log.info("quantizing %s to int8 (once)", float_path)
                _quantize(float_path, wanted)
        except ImportError as exc:
            raise ConfigError(
                f"cannot export the embedding model to ONNX: {exc}",
                hint="install 'onnx', or set PROMPTYARD_EMBEDDING_BACKEND=torch",
            ) from exc
    return wanted
