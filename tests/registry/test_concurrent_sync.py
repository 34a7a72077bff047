"""Concurrent ``promptyard prompts sync`` runs against one database (the same Postgres schema, the same
SQLite file): the registry ends consistent, every run succeeds or fails with one clear error, and no
version is ever half-written."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from promptyard.errors import VersionConflict
from promptyard.prompts.records import SyncReport
from promptyard.prompts.registry import PromptRegistry
from promptyard.store.db import Database
from promptyard.store.tables.registry import PromptVersionRow
from tests.registry.helpers import make_settings, write_prompt

RUNS = 2


def _folder(root: Path, *, extra: str = "") -> Path:
    for n in range(12):
        write_prompt(root, f"p{n:02d}", "1.0.0", extra=extra)
        write_prompt(root, f"p{n:02d}", "1.1.0", extra=extra + " Be brief.")
    return root


def _stored(db_url: str) -> dict[tuple[str, str], str]:
    db = Database(db_url)
    try:
        with db.session() as s:
            rows = s.execute(select(PromptVersionRow.name, PromptVersionRow.version, PromptVersionRow.content_hash))
            return {(n, v): h for n, v, h in rows}
    finally:
        db.dispose()


def test_concurrent_cli_syncs_end_consistent(tmp_path: Path, db_url: str) -> None:
    folder = _folder(tmp_path / "prompts")
    Database(db_url).dispose()  # migrate once, so the runs race on the sync, not on creating tables
    env = {**os.environ, "PROMPTYARD_DATABASE_URL": db_url, "PROMPTYARD_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "promptyard.cli.main", "prompts", "sync", str(folder)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(RUNS)]
    outs = [(p.wait(timeout=120), p.stdout.read().decode() if p.stdout else "") for p in procs]
    winners = [out for rc, out in outs if rc == 0 and "24 added" in out]
    noops = [out for rc, out in outs if rc == 0 and "0 added, 24 unchanged" in out]
    losers = [out for rc, out in outs if rc != 0]
    assert len(winners) == 1, outs
    assert len(noops) + len(losers) == RUNS - 1, outs
    for out in losers:  # a clear error, never a traceback
        assert "another sync imported" in out, out
        assert "Traceback" not in out, out
    stored = _stored(db_url)
    assert len(stored) == 24


def test_threads_with_separate_engines_never_half_write(tmp_path: Path, db_url: str) -> None:
    """Two different folders claim the same versions with different content: exactly one wins whole."""
    a = _folder(tmp_path / "a", extra=" A.")
    b = _folder(tmp_path / "b", extra=" B.")
    Database(db_url).dispose()
    results: dict[str, object] = {}

    def run(name: str, folder: Path) -> None:
        db = Database(db_url)
        try:
            registry = PromptRegistry(db, make_settings(tmp_path, db_url))
            results[name] = registry.sync(folder, actor=name)
        except Exception as exc:
            results[name] = exc
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(n, f)) for n, f in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert len(errors) == 1, results
    assert isinstance(errors[0], VersionConflict), results
    db = Database(db_url)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(PromptVersionRow))
        sources = [row.source for row in s.scalars(select(PromptVersionRow))]
    db.dispose()
    assert total == 24
    winner, loser = ("A", "B") if not isinstance(results["a"], Exception) else ("B", "A")
    assert all(f"notes. {winner}." in src and f"notes. {loser}." not in src for src in sources)  # none mixed


def test_a_sync_that_loses_the_race_reruns_as_a_no_op(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both syncs read an empty registry before either writes (a barrier): the loser's insert clashes,
    it is rolled back, rerun from scratch, and finds everything already there."""
    import promptyard.prompts.sync as sync_module

    folder = _folder(tmp_path / "prompts")
    Database(db_url).dispose()
    barrier = threading.Barrier(2, timeout=30)
    first_pass: set[int] = set()
    real_utcnow = sync_module.utcnow

    def utcnow_after_both_read() -> object:  # called between the read and the inserts
        me = threading.get_ident()
        if me not in first_pass:
            first_pass.add(me)
            barrier.wait()
        return real_utcnow()

    monkeypatch.setattr(sync_module, "utcnow", utcnow_after_both_read)
    attempts = 0
    real_once = sync_module._sync_once

    def counted(*args: object, **kwargs: object) -> SyncReport:
        nonlocal attempts
        attempts += 1
        return real_once(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sync_module, "_sync_once", counted)
    reports: list[object] = []

    def run() -> None:
        db = Database(db_url)
        try:
            reports.append(PromptRegistry(db, make_settings(tmp_path, db_url)).sync(folder, actor="ci"))
        except Exception as exc:
            reports.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    added = sorted(len(r.added) for r in reports if isinstance(r, SyncReport))
    assert added == [0, 24], reports  # one wrote everything; the other reran and found it all unchanged
    assert attempts == 3  # the loser's first attempt was rolled back
    assert len(_stored(db_url)) == 24
