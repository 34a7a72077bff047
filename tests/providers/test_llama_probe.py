"""The start-up probe turns a native crash, a hang or a corrupt GGUF into a clear error with the fix."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from promptyard.errors import LocalRuntimeBroken
from promptyard.providers import llama_probe
from promptyard.providers.local_models import find_gguf

SYSTEM_INFO = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | AVX512 = 0 | OPENMP = 1 |"


def child(*lines: str, then: str = "") -> list[str]:
    """A stand-in probe child that prints ``lines`` and then runs ``then``."""
    body = "".join(f"print({line!r}, flush=True)\n" for line in lines) + then
    return [sys.executable, "-c", body]


@pytest.fixture
def corrupt_gguf(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(range(256)) * 64)
    return path


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts with an empty pass cache, in memory and on disk."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(llama_probe, "_passed", {})
    return tmp_path / "cache"


def test_build_features_are_read_from_llama_system_info() -> None:
    assert llama_probe.build_features(SYSTEM_INFO) == ["SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA"]


def test_missing_features_compare_the_build_with_this_cpu() -> None:
    features = ["AVX", "AVX2", "AVX512", "AVX512_VNNI"]
    assert llama_probe.missing_features(features, {"avx", "avx2"}) == ["AVX512", "AVX512_VNNI"]
    assert llama_probe.missing_features(features, None) == []


def test_a_segfault_names_the_signal_the_stage_and_the_missing_cpu_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_probe, "cpu_flags", lambda: {"avx", "avx2", "fma", "f16c"})
    crash = child(
        "stage import",
        "system CPU : AVX = 1 | AVX2 = 1 | AVX512 = 1 |",
        "stage generate",
        then="import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
    )
    report = llama_probe.probe(Path("model.gguf"), command=crash)
    assert not report.ok
    assert report.error == "the local model runtime (llama.cpp) crashed with SIGSEGV while generating a few tokens"
    assert report.missing_features == ["AVX512"]
    assert report.hint is not None
    assert "uses AVX512, which this CPU does not have" in report.hint
    assert "make clean && make run" in report.hint


def test_a_hang_is_cut_off_at_the_timeout() -> None:
    hang = child("stage import", "stage load", then="import time; time.sleep(60)")
    report = llama_probe.probe(Path("model.gguf"), command=hang, timeout_s=1.0)
    assert not report.ok
    assert report.error == "the local model runtime (llama.cpp) did not finish loading the model file within 1s"
    assert report.seconds < 10


def test_a_python_error_in_the_child_is_quoted() -> None:
    failing = child("stage import", then="raise ImportError('libggml.so: cannot open shared object file')")
    report = llama_probe.probe(Path("model.gguf"), command=failing)
    assert report.error is not None
    assert "failed while loading the llama.cpp libraries" in report.error
    assert "libggml.so: cannot open shared object file" in report.error


@pytest.mark.slow
def test_a_corrupt_gguf_fails_at_load_with_the_fix(corrupt_gguf: Path) -> None:
    report = llama_probe.probe(corrupt_gguf)
    assert not report.ok
    assert report.stage == "load"
    assert report.hint is not None
    assert str(corrupt_gguf) in report.hint
    assert "PROMPTYARD_LOCAL_MODEL_PATH" in report.hint
    if platform.machine() == "x86_64":  # the portable build, read from the real library: x86-64-v3, no AVX-512
        assert {"AVX", "AVX2", "FMA", "F16C"} <= set(report.build_features)
        assert not [f for f in report.build_features if f.startswith("AVX512")]


@pytest.mark.slow
def test_ensure_raises_and_never_caches_a_failure(corrupt_gguf: Path, own_cache: Path) -> None:
    with pytest.raises(LocalRuntimeBroken) as caught:
        llama_probe.ensure_local_runtime(corrupt_gguf)
    assert caught.value.code == "local_runtime_broken"
    assert not caught.value.retryable
    assert not list(own_cache.rglob("*.json"))


@pytest.mark.slow
def test_the_shipped_model_passes_once_then_comes_from_the_cache(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = find_gguf()
    report = llama_probe.ensure_local_runtime(model, "cached")
    assert report is not None
    assert report.ok
    assert report.text.strip()
    assert len(list(own_cache.rglob("*.json"))) == 1

    monkeypatch.setattr(llama_probe, "_passed", {})
    calls: list[Path] = []
    monkeypatch.setattr(llama_probe, "probe", lambda path, **_: calls.append(path))
    again = llama_probe.ensure_local_runtime(model, "cached")
    assert again is not None
    assert again.ok
    assert calls == []  # read from the cache file, no second child process


def test_off_never_probes(monkeypatch: pytest.MonkeyPatch, corrupt_gguf: Path) -> None:
    monkeypatch.setattr(llama_probe, "probe", lambda *a, **k: pytest.fail("probed"))
    assert llama_probe.ensure_local_runtime(corrupt_gguf, "off") is None
