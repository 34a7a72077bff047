"""Tokens per second of all-MiniLM-L6-v2 on each engine this machine can run, one process.

    .venv/bin/python bench/embed_engines.py                 # batches of 32 x 256 tokens
    .venv/bin/python bench/embed_engines.py --seq 128 --batch 64

The question it answers: how much faster than the PyTorch model sentence-transformers runs
can the embedding step get on this CPU? Each engine runs the same random token batch
(warm-up once, then the median of ``--repeat`` runs) with every core. ONNX variants are
built from the export that ``ingest`` caches in ``.promptyard/cache/onnx`` (made on first
use); the quantization and fusion variants are written next to it. The last ONNX row is
the shipped ingest path: one single-threaded session per core taking calls of at most
``BATCH_TOKENS`` tokens. OpenVINO and CTranslate2 are not
promptyard dependencies: they are measured when importable (``--with-extras``), else skipped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
Run = Callable[[], object]


def timed(run: Run, repeat: int) -> float:
    run()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def ort_session(path: Path, threads: int) -> object:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def ort_variants(folder: Path, model_dir: Path) -> dict[str, Path]:
    """The shipped graphs plus the quantizations and fusions they were chosen over."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    from promptyard.rag.embedders.onnx_export import export_float

    plain = folder / "model.onnx"
    fused = folder / "bench-fused.onnx"  # the classic masked graph after the BERT fusions
    if not fused.is_file():
        masked = folder / "bench-masked.onnx"
        export_float(model_dir, masked, attention_mask=True)
        optimizer.optimize_model(str(masked), model_type="bert", num_heads=12, hidden_size=384).save_model_to_file(
            str(fused)
        )
    options: dict[str, tuple[Path, dict[str, object]]] = {
        "int8 per-tensor": (plain, {"per_channel": False}),
        "int8 per-channel, reduce_range": (plain, {"per_channel": True, "reduce_range": True}),
        "uint8 weights per-channel": (plain, {"per_channel": True, "weight_type": QuantType.QUInt8}),
        "int8 after BERT fusions (QAttention, masked)": (fused, {"per_channel": True}),
    }
    out = {
        "float32 (shipped for onnx)": plain,
        "float32 after BERT fusions (masked)": fused,
        "int8 per-channel (shipped)": folder / "model-int8.onnx",
    }
    for i, (name, (source, kwargs)) in enumerate(options.items()):
        target = folder / f"bench-variant-{i}.onnx"
        if not target.is_file():
            args = {"weight_type": QuantType.QInt8, **kwargs, "extra_options": {"DefaultTensorType": 1}}
            quantize_dynamic(str(source), str(target), **args)  # type: ignore[arg-type]
        out[name] = target
    return out


def feed_for(session: object, ids: np.ndarray) -> dict[str, np.ndarray]:
    names = [i.name for i in session.get_inputs()]  # type: ignore[attr-defined]
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)} if "attention_mask" in names else {"input_ids": ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=256, help="Tokens per text, 16 to 256 (MiniLM's window).")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--with-extras", action="store_true", help="Also try OpenVINO and CTranslate2 if importable.")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from promptyard.rag.embedders.local import BATCH_TOKENS, LocalEmbedder, default_model_dir
    from promptyard.rag.embedders.onnx_export import ensure_onnx

    model_dir = default_model_dir()
    int8_path = ensure_onnx(model_dir, ROOT / ".promptyard" / "cache", int8=True)
    ensure_onnx(model_dir, ROOT / ".promptyard" / "cache", int8=False)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, (args.batch, args.seq), dtype=np.int64)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = np.ones_like(ids)
    tokens = ids.size
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    flags = next((ln.split(":", 1)[1].split() for ln in cpuinfo if ln.startswith("flags")), [])
    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    print(f"CPU: {cpu}, {args.threads} threads, {' '.join(isa)}; batch {args.batch} x {args.seq} tokens")

    results: list[tuple[str, float]] = []

    def report(name: str, seconds: float) -> None:
        results.append((name, tokens / seconds))
        print(f"  {name:<64} {tokens / seconds:>8,.0f} tokens/s", flush=True)

    import torch
    from transformers import AutoModel

    torch.set_num_threads(args.threads)
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    t_ids, t_mask = torch.from_numpy(ids), torch.from_numpy(mask)

    def torch_run(m: torch.nn.Module) -> Run:
        def run() -> object:
            with torch.inference_mode():
                return m(input_ids=t_ids, attention_mask=t_mask, token_type_ids=torch.zeros_like(t_ids))

        return run

    report("PyTorch float32 (what sentence-transformers runs)", timed(torch_run(model), args.repeat))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    report("PyTorch dynamic int8 (fbgemm)", timed(torch_run(quantized), args.repeat))

    for name, path in ort_variants(int8_path.parent, model_dir).items():
        sess = ort_session(path, args.threads)
        report(f"ONNX Runtime {name}", timed(lambda s=sess: s.run(None, feed_for(s, ids)), args.repeat))

    # The shipped ingest path, through the embedder itself: one single-threaded session per
    # thread, each taking calls of at most BATCH_TOKENS tokens (texts of `--seq` tokens).
    shipped = LocalEmbedder(cache_dir=ROOT / ".promptyard" / "cache", threads=args.threads, read_tokens=args.seq)
    texts = [" ".join(["the"] * (args.seq - 2))] * args.batch  # "the" is one token; plus [CLS] and [SEP]
    assert len(shipped.tokenizer.encode(texts[:1])[0]) == args.seq
    rows = max(1, BATCH_TOKENS // args.seq)
    label = f"ONNX Runtime int8, {args.threads} one-thread sessions, {rows}-row calls (shipped)"
    report(label, timed(lambda: shipped.embed(texts), args.repeat))

    if args.with_extras:
        try:
            import openvino as ov

            core = ov.Core()
            compiled = core.compile_model(core.read_model(str(int8_path.parent / "model.onnx")), "CPU")
            request = compiled.create_infer_request()
            report("OpenVINO float32", timed(lambda: request.infer({"input_ids": ids}), args.repeat))
        except ImportError:
            print("  OpenVINO: not importable, skipped")
        try:
            import ctranslate2
            from ctranslate2.converters import TransformersConverter

            target = int8_path.parent / "ct2-int8"
            if not target.is_dir():
                TransformersConverter(str(model_dir)).convert(str(target), quantization="int8")
            encoder = ctranslate2.Encoder(str(target), device="cpu", compute_type="int8", intra_threads=args.threads)
            batch = ids.tolist()
            report("CTranslate2 int8", timed(lambda: encoder.forward_batch(batch), args.repeat))
        except ImportError:
            print("  CTranslate2: not importable, skipped")

    base = results[0][1]
    print()
    for name, rate in results:
        print(f"  {name:<64} {rate / base:5.2f}x PyTorch float32")


if __name__ == "__main__":
    main()
