"""A real crash: ``promptyard eval run`` killed with SIGKILL halfway, then run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from promptyard.cli.main import app
from promptyard.runtime import Runtime
from promptyard.store.tables.evals import EvalResultRow
from tests.evals.conftest import QA_ROWS

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, sys
sys.path.insert(0, {root!r})
from promptyard import plugins
from tests.evals.quiz import QuizProvider

class Slow(QuizProvider):
    async def complete(self, request):
        await asyncio.sleep(0.25)
        return await super().complete(request)

slow = Slow()
plugins.register("promptyard.providers", "quiz", lambda _settings: slow)
from promptyard.cli.main import app
app(["eval", "run", "--prompt", "qa@1.0.0", "--dataset", "qa", "--concurrency", "2"])
"""


def result_rows(rt: Runtime) -> tuple[int, int]:
    with rt.db.session() as s:
        rows = s.scalar(select(func.count()).select_from(EvalResultRow)) or 0
        distinct = s.scalar(select(func.count(func.distinct(EvalResultRow.item_id)))) or 0
    return rows, distinct


def test_killed_run_resumes_with_the_same_items_and_no_duplicates(eval_home: Path) -> None:
    assert CliRunner().invoke(app, ["datasets", "add", "qa", "qa.jsonl"]).exit_code == 0
    rt = Runtime()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT))],
        cwd=eval_home,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while result_rows(rt)[0] < 4:
            assert child.poll() is None, "the child ended before it could be killed"
            assert time.monotonic() < deadline, "no results appeared"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    done, _ = result_rows(rt)
    assert 4 <= done < QA_ROWS
    [killed] = rt.evals.runs.list_runs()
    assert killed.status == "running"  # nobody could mark it: the process died

    result = CliRunner().invoke(app, ["eval", "run", "--prompt", "qa@1.0.0", "--dataset", "qa"])
    assert result.exit_code == 0, result.output
    assert f"resumed ({done} items were done)" in result.stdout
    [run] = rt.evals.runs.list_runs()
    assert run.run_id == killed.run_id
    assert run.status == "completed"
    assert (run.aggregates or {})["items"] == QA_ROWS
    assert result_rows(rt) == (QA_ROWS, QA_ROWS)
    rt.db.dispose()
