"""Labels: release, rollback, audit log, lookups naming what exists. Runs on SQLite and Postgres."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from promptyard.errors import InvalidInput, PromptNotFound
from promptyard.prompts.records import LabelEvent
from promptyard.prompts.registry import PromptRegistry
from promptyard.store.db import Database
from promptyard.store.tables.registry import LabelEventRow
from tests.registry.helpers import make_settings


def test_label_rollback_and_history(synced: PromptRegistry) -> None:
    first = synced.set_label("greet", "production", "1.0.0", actor="alice", reason="first release")
    assert (first.from_version, first.to_version, first.changed) == (None, "1.0.0", True)
    move = synced.set_label("greet", "production", "1.1.0", actor="bob", reason="shorter answers")
    assert (move.from_version, move.to_version) == ("1.0.0", "1.1.0")
    assert synced.resolve("greet", label="production").version == "1.1.0"

    back = synced.rollback("greet", "production", actor="carol", reason="complaints")
    assert (back.from_version, back.to_version, back.action) == ("1.1.0", "1.0.0", "rollback")
    assert synced.label("greet", "production").version == "1.0.0"
    assert synced.resolve("greet", label="production").version == "1.0.0"

    events = [e for e in synced.history("greet") if isinstance(e, LabelEvent)]
    assert [(e.action, e.from_version, e.to_version, e.actor, e.reason) for e in events] == [
        ("set", None, "1.0.0", "alice", "first release"),
        ("set", "1.0.0", "1.1.0", "bob", "shorter answers"),
        ("rollback", "1.1.0", "1.0.0", "carol", "complaints"),
    ]
    assert all(e.at.tzinfo is not None for e in events)
    assert events[0].at <= events[1].at <= events[2].at


def test_rollback_twice_undoes_the_rollback(synced: PromptRegistry) -> None:
    synced.set_label("greet", "production", "1.0.0", actor="a")
    synced.set_label("greet", "production", "1.1.0", actor="a")
    synced.rollback("greet", "production", actor="a")
    again = synced.rollback("greet", "production", actor="a")
    assert (again.from_version, again.to_version) == ("1.0.0", "1.1.0")


def test_rollback_of_a_new_label_is_refused(synced: PromptRegistry) -> None:
    synced.set_label("greet", "staging", "1.1.0", actor="a")
    with pytest.raises(InvalidInput, match="no earlier version"):
        synced.rollback("greet", "staging", actor="a")
    assert synced.label("greet", "staging").version == "1.1.0"
    with pytest.raises(PromptNotFound, match="no label 'canary'"):
        synced.rollback("greet", "canary", actor="a")


def test_moving_a_label_to_where_it_is_records_nothing(synced: PromptRegistry) -> None:
    synced.set_label("greet", "production", "1.0.0", actor="a")
    same = synced.set_label("greet", "production", "1.0.0", actor="b")
    assert not same.changed
    assert len(synced.history("greet")) == 1


def test_unknown_things_name_what_exists(synced: PromptRegistry) -> None:
    synced.set_label("greet", "production", "1.0.0", actor="a")
    with pytest.raises(PromptNotFound) as info:
        synced.resolve("gret", label="production")
    assert info.value.available == ["greet", "notes"]
    with pytest.raises(PromptNotFound) as info:
        synced.resolve("greet", version="9.9.9")
    assert info.value.available == ["1.0.0", "1.1.0"]
    with pytest.raises(PromptNotFound) as info:
        synced.resolve("greet", label="prod")
    assert info.value.available == ["production -> 1.0.0"]
    with pytest.raises(PromptNotFound) as info:
        synced.set_label("greet", "production", "2.0.0", actor="a")
    assert info.value.available == ["1.0.0", "1.1.0"]
    with pytest.raises(PromptNotFound, match="no prompt named 'nope'"):
        synced.history("nope")


def test_no_implicit_latest(synced: PromptRegistry) -> None:
    with pytest.raises(InvalidInput, match="exactly one of version or label"):
        synced.resolve("greet")
    with pytest.raises(InvalidInput, match="exactly one"):
        synced.resolve("greet", version="1.0.0", label="production")


def test_label_names_are_checked(synced: PromptRegistry) -> None:
    for bad in ("Production", "1.0.0", "has space", ""):
        with pytest.raises(InvalidInput):
            synced.set_label("greet", bad, "1.0.0", actor="a")


def test_empty_registry_says_to_sync(registry: PromptRegistry) -> None:
    with pytest.raises(PromptNotFound, match="prompts sync"):
        registry.resolve("greet", version="1.0.0")


def test_concurrent_label_moves_keep_a_consistent_audit_chain(
    synced: PromptRegistry, database: Database, tmp_path: Path, db_url: str
) -> None:
    """Several registries (as if several processes) move one label at once: no lost or crossed moves."""
    synced.set_label("greet", "production", "1.0.0", actor="setup")
    workers, moves_each = 6, 8
    barrier = threading.Barrier(workers)
    changed: list[int] = [0] * workers
    failures: list[BaseException] = []

    def work(i: int) -> None:
        other = PromptRegistry(database, make_settings(tmp_path, db_url))
        barrier.wait()
        try:
            for j in range(moves_each):
                target = "1.1.0" if (i + j) % 2 == 0 else "1.0.0"
                if other.set_label("greet", "production", target, actor=f"w{i}").changed:
                    changed[i] += 1
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert not any(t.is_alive() for t in threads)

    with database.session() as s:
        rows = s.scalars(
            select(LabelEventRow).where(LabelEventRow.label == "production").order_by(LabelEventRow.id)
        ).all()
        chain = [(r.from_version, r.to_version) for r in rows]
    assert len(chain) == 1 + sum(changed)
    for (_, prev_to), (next_from, _) in itertools.pairwise(chain):
        assert next_from == prev_to  # each move starts where the previous one ended
    assert all(frm != to for frm, to in chain)
    synced.clear_cache()
    assert synced.label("greet", "production").version == chain[-1][1]
