"""``promptyard doctor``, ``run`` and ``serve`` with a working and a broken local runtime, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def promptyard(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promptyard.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTYARD_")}
    return {
        **base,
        "PROMPTYARD_HOME": str(tmp_path / "home"),
        "PROMPTYARD_PROMPTS_DIR": str(ROOT / "prompts"),
        "PROMPTYARD_EMBEDDER": "fake",
        "PROMPTYARD_CACHE_BACKEND": "memory",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "COLUMNS": "200",
    }


@pytest.fixture
def corrupt(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + os.urandom(4096))
    return {**env, "PROMPTYARD_LOCAL_MODEL_PATH": str(path)}


def lines(text: str) -> dict[str, str]:
    """``name -> line`` of doctor's output (the first word after the mark)."""
    found = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[0] in {"✓", "✗", "!", "-"}:
            found[parts[1] if parts[1] != "local" else "local model"] = line
    return found


def test_doctor_on_the_embedded_default_is_green(env: dict[str, str]) -> None:
    done = promptyard("doctor", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    found = lines(done.stdout)
    assert set(found) == {"cpu", "local model", "database", "redis", "embedder", "prompts"}
    assert found["local model"].startswith("✓")
    assert "answered" in found["local model"]
    assert found["database"].startswith("✓")
    assert found["redis"].startswith("-")  # not used by the embedded default
    assert found["prompts"].startswith("✓")


def test_doctor_names_a_corrupt_model_and_the_fix(corrupt: dict[str, str]) -> None:
    done = promptyard("doctor", env=corrupt)
    assert done.returncode == 1
    found = lines(done.stdout)
    assert found["local model"].startswith("✗")
    assert "loading the model file" in found["local model"]
    assert "fix:" in done.stdout
    assert "PROMPTYARD_LOCAL_MODEL_PATH" in done.stdout
    assert found["prompts"].startswith("✓")  # the other checks still ran


def test_doctor_reports_an_unreachable_database_and_redis(env: dict[str, str]) -> None:
    down = {
        **env,
        "PROMPTYARD_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
        "PROMPTYARD_CACHE_BACKEND": "redis",
        "PROMPTYARD_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    done = promptyard("doctor", env=down)
    assert done.returncode == 1
    found = lines(done.stdout)
    assert found["database"].startswith("✗")
    assert "not reachable" in found["database"]
    assert found["redis"].startswith("✗")
    assert "answer cache" in found["redis"]
    assert "PROMPTYARD_REDIS_URL" in done.stdout


def test_doctor_sees_a_migrated_postgres(env: dict[str, str], pg_url: str) -> None:
    from promptyard.store.db import Database, head_revision

    Database(pg_url).dispose()  # migrate it
    done = promptyard("doctor", env={**env, "PROMPTYARD_DATABASE_URL": pg_url})
    assert f"at revision {head_revision()}" in lines(done.stdout)["database"]


def test_run_with_a_corrupt_model_is_a_clear_error_not_a_crash(corrupt: dict[str, str]) -> None:
    assert promptyard("prompts", "sync", env=corrupt).returncode == 0
    done = promptyard("run", "summarize_email@1.0.0", "--var", "email_body=Send the Q3 report.", env=corrupt)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "the local model runtime (llama.cpp) failed while loading the model file" in done.stderr
    assert "PROMPTYARD_LOCAL_MODEL_PATH" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_with_a_corrupt_model_refuses_to_start(corrupt: dict[str, str]) -> None:
    done = promptyard("serve", "--port", "1", env=corrupt, timeout=60)
    assert done.returncode == 1
    assert "loading the model file" in done.stderr
    assert "hint:" in done.stderr
