"""Dataset files (JSONL, CSV), row problems with line numbers, and versioned storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptyard.errors import InvalidInput, NotFound
from promptyard.evals.dataset_store import DatasetStore, split_dataset_ref
from promptyard.evals.datasets import InvalidDataset, read_dataset_file
from promptyard.store.db import Database


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_rows_with_aliases_checks_and_flat_inputs(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.jsonl",
        '{"id": "q1", "question": "Who won?", "answers": ["Denver Broncos", "Broncos"], "gold_doc_id": "sb50",'
        ' "tags": ["nfl"], "human_score": 4}\n'
        "\n"
        '{"inputs": {"ticket": "double charge"}, "expected": "billing", "contains": "billing",'
        ' "regex": "^\\\\{", "json_schema": {"type": "object"}, "should_abstain": false}\n',
    )
    first, second = read_dataset_file(path)
    assert first.item_id == "q1"
    assert first.line == 1
    assert first.inputs == {"question": "Who won?"}
    assert first.expected == ["Denver Broncos", "Broncos"]
    assert first.expected_doc_ids == ["sb50"]
    assert first.tags == ["nfl"]
    assert first.human_score == 4
    assert second.item_id == "line-3"
    assert second.line == 3
    assert second.inputs == {"ticket": "double charge"}
    assert second.checks.contains == ["billing"]
    assert second.checks.regex == "^\\{"
    assert second.checks.json_schema == {"type": "object"}
    assert second.checks.should_abstain is False


def test_csv_rows_split_lists_and_decode_json(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.csv",
        "id,question,expected,expected_doc_ids,tags,should_abstain,metadata\n"
        'a,"Where, exactly?",Santa Clara|Levi\'s Stadium,d1|d2,geo,no,"{""src"": ""dev""}"\n'
        "b,Unknown?,,,,yes,\n",
    )
    a, b = read_dataset_file(path)
    assert a.inputs == {"question": "Where, exactly?"}
    assert a.expected == ["Santa Clara", "Levi's Stadium"]
    assert a.expected_doc_ids == ["d1", "d2"]
    assert a.metadata == {"src": "dev"}
    assert a.checks.should_abstain is False
    assert a.line == 2
    assert b.line == 3
    assert b.expected == []
    assert b.checks.should_abstain is True


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.jsonl",
        '{"id": "ok", "q": "fine"}\n'
        "{not json\n"
        "[1, 2]\n"
        '{"id": "ok", "q": "again"}\n'
        '{"human_score": 9}\n'
        '{"regex": "(unclosed"}\n',
    )
    with pytest.raises(InvalidDataset) as info:
        read_dataset_file(path)
    problems = info.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "duplicate id 'ok' (first on line 1)" in problems[2]
    assert "human_score" in problems[3]


def test_unknown_format_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown dataset format"):
        read_dataset_file(write(tmp_path / "x.txt", "hello"))
    with pytest.raises(InvalidInput, match="cannot read"):
        read_dataset_file(tmp_path / "missing.jsonl")
    with pytest.raises(InvalidDataset, match="no rows"):
        read_dataset_file(write(tmp_path / "empty.jsonl", "\n\n"))


def test_versions_are_immutable_and_only_bump_on_change(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    store = DatasetStore(db)
    path = write(tmp_path / "d.jsonl", '{"id": "1", "q": "a", "expected": "x"}\n')
    first = store.add_file("support-qa", path, actor="ana")
    assert first.created
    assert first.dataset.version == 1
    assert first.dataset.item_count == 1
    again = store.add_file("support-qa", path, actor="ana")
    assert not again.created
    assert again.dataset.version == 1
    write(path, '{"id": "1", "q": "a", "expected": "x"}\n{"id": "2", "q": "b", "expected": "y"}\n')
    second = store.add_file("support-qa", path, actor="ben")
    assert second.created
    assert second.dataset.version == 2
    assert [v.version for v in store.versions("support-qa")] == [1, 2]
    info, items = store.items("support-qa@1")
    assert info.version == 1
    assert [i.item_id for i in items] == ["1"]
    assert [i.item_id for i in store.items("support-qa")[1]] == ["1", "2"]
    assert [d.ref for d in store.list_datasets()] == ["support-qa@2"]
    with pytest.raises(NotFound) as missing:
        store.get("support-qa@7")
    assert missing.value.available == ["1", "2"]
    with pytest.raises(NotFound) as unknown:
        store.get("nope")
    assert unknown.value.available == ["support-qa"]
    db.dispose()


def test_dataset_refs_and_names() -> None:
    assert split_dataset_ref("squad") == ("squad", None)
    assert split_dataset_ref("squad@v3") == ("squad", 3)
    with pytest.raises(InvalidInput):
        split_dataset_ref("squad@latest")
