"""Reading dataset files (JSONL or CSV) into :class:`DatasetItem` rows.

A row holds inputs for the prompt, reference answers, relevant document ids, tags and
optional checks. Recognised fields (anything else is an input when ``inputs`` is absent):

=====================  ====================================================================
``id``                 item id (default: ``line-<n>``); must be unique in the file
``inputs``             object of prompt variables (JSONL; CSV: JSON text)
``expected``           reference answer(s); aliases ``answers``, ``answer``, ``expected_output``
``expected_doc_ids``   relevant document ids; aliases ``gold_doc_id``, ``gold_doc_ids``
``tags``               list of tags
``contains``           string(s) the output must contain
``regex``              pattern the output must match
``json_schema``        JSON Schema the output must satisfy
``should_abstain``     whether abstaining is the right answer
``human_score``        a human 1-5 label (for the judge agreement report)
``metadata``           free-form object
=====================  ====================================================================

In CSV, list fields are separated by ``|`` and object fields hold JSON text. Every problem
is reported at once, each with its line number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from promptyard.errors import InvalidInput
from promptyard.evals.model import DatasetItem, ItemChecks

DatasetFormat = Literal["jsonl", "csv"]

ALIASES: dict[str, str] = {
    "answers": "expected",
    "answer": "expected",
    "expected_output": "expected",
    "gold_doc_id": "expected_doc_ids",
    "gold_doc_ids": "expected_doc_ids",
}
RESERVED = {
    "id",
    "inputs",
    "expected",
    "expected_doc_ids",
    "tags",
    "contains",
    "regex",
    "json_schema",
    "should_abstain",
    "human_score",
    "metadata",
    *ALIASES,
}
_LIST_FIELDS = {"expected", "expected_doc_ids", "tags", "contains"}
_JSON_FIELDS = {"inputs", "json_schema", "metadata"}
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}


class InvalidDataset(InvalidInput):
    """A dataset file or its rows are malformed, or rows lack what the prompt needs.

    ``problems`` lists every one of them, each naming its line.
    """

    code = "invalid_dataset"

    def __init__(self, message: str, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__(f"{message} ({len(self.problems)} problem(s))", hint=hint)


def detect_format(path: Path) -> DatasetFormat:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    raise InvalidInput(f"{path}: unknown dataset format {suffix!r}", hint="use a .jsonl or .csv file")


def read_dataset_file(path: Path | str, *, fmt: DatasetFormat | None = None) -> list[DatasetItem]:
    """Parse a dataset file; :class:`InvalidDataset` lists every bad row with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read dataset file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    fmt = fmt or detect_format(path)
    if fmt == "csv":
        rows = _csv_rows(text, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    else:
        rows = _jsonl_rows(text)
    return parse_rows(rows, source=str(path))


def _jsonl_rows(text: str) -> list[tuple[int, dict[str, Any] | str]]:
    rows: list[tuple[int, dict[str, Any] | str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((lineno, f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        rows.append(
            (lineno, value if isinstance(value, dict) else f"expected a JSON object, got {type(value).__name__}")
        )
    return rows


def _csv_rows(text: str, *, delimiter: str) -> list[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[int, dict[str, Any] | str]] = []
    try:
        for row in reader:
            lineno = reader.line_num
            if None in row:
                rows.append((lineno, "more cells than header columns"))
                continue
            if not any((v or "").strip() for v in row.values()):
                continue
            rows.append((lineno, _decode_csv_row(row)))
    except csv.Error as exc:
        rows.append((reader.line_num, f"malformed CSV: {exc}"))
    return rows


def _decode_csv_row(row: dict[str, str | None]) -> dict[str, Any] | str:
    out: dict[str, Any] = {}
    for key, raw in row.items():
        value = raw or ""
        canon = ALIASES.get(key, key)
        if canon in _JSON_FIELDS:
            if not value.strip():
                continue
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                return f"column {key!r}: invalid JSON ({exc.msg})"
        elif canon in _LIST_FIELDS:
            out[key] = [part.strip() for part in value.split("|") if part.strip()]
        else:
            out[key] = value
    return out


def parse_rows(rows: Iterable[tuple[int, dict[str, Any] | str]], *, source: str = "<rows>") -> list[DatasetItem]:
    """Turn ``(line, row)`` pairs into items. A ``str`` row is an already-detected problem."""
    items: list[DatasetItem] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for lineno, row in rows:
        if isinstance(row, str):
            problems.append(f"line {lineno}: {row}")
            continue
        try:
            item = parse_row(row, lineno)
        except ValueError as exc:
            problems.append(f"line {lineno}: {exc}")
            continue
        if item.item_id in seen:
            problems.append(f"line {lineno}: duplicate id {item.item_id!r} (first on line {seen[item.item_id]})")
            continue
        seen[item.item_id] = lineno
        items.append(item)
    if problems:
        raise InvalidDataset(f"{source}: invalid dataset rows", problems, hint="fix the rows listed and add it again")
    if not items:
        raise InvalidDataset(f"{source}: the dataset has no rows", ["no rows found"])
    return items


def parse_row(row: dict[str, Any], lineno: int) -> DatasetItem:
    """One row to an item; ValueError says what is wrong."""
    canon: dict[str, Any] = {}
    for key, value in row.items():
        name = ALIASES.get(key, key)
        if name in canon and key != name:
            raise ValueError(f"both {name!r} and its alias {key!r} are set")
        canon[name] = value
    if "inputs" in canon:
        inputs = canon["inputs"]
        if not isinstance(inputs, dict):
            raise ValueError("'inputs' must be an object")
    else:
        inputs = {k: v for k, v in row.items() if k not in RESERVED}
    item_id = canon.get("id")
    if item_id is None or item_id == "":
        item_id = f"line-{lineno}"
    if isinstance(item_id, bool) or not isinstance(item_id, str | int):
        raise ValueError("'id' must be a string or an integer")
    json_schema = canon.get("json_schema")
    if json_schema is not None and not isinstance(json_schema, dict):
        raise ValueError("'json_schema' must be an object")
    regex = canon.get("regex") or None
    if regex is not None:
        if not isinstance(regex, str):
            raise ValueError("'regex' must be a string")
        try:
            re.compile(regex)
        except re.error as exc:
            raise ValueError(f"'regex' is not a valid pattern: {exc}") from exc
    metadata = canon.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("'metadata' must be an object")
    return DatasetItem(
        item_id=str(item_id),
        line=lineno,
        inputs=inputs,
        expected=_str_list(canon.get("expected"), "expected"),
        expected_doc_ids=_str_list(canon.get("expected_doc_ids"), "expected_doc_ids"),
        tags=_str_list(canon.get("tags"), "tags"),
        checks=ItemChecks(
            contains=_str_list(canon.get("contains"), "contains"),
            regex=regex,
            json_schema=json_schema,
            should_abstain=_bool(canon.get("should_abstain")),
        ),
        human_score=_score(canon.get("human_score")),
        metadata=metadata,
    )


def _str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    raise ValueError(f"{field!r} must be a string or a list of strings")


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"'should_abstain' must be true or false, got {value!r}")


def _score(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'human_score' must be an integer from 1 to 5, got {value!r}") from None
    if isinstance(value, bool) or not score.is_integer() or not 1 <= score <= 5:
        raise ValueError(f"'human_score' must be an integer from 1 to 5, got {value!r}")
    return int(score)


def content_hash(items: Sequence[DatasetItem]) -> str:
    """sha256 of the items' canonical JSON (ids, inputs and expectations; not line numbers)."""
    digest = hashlib.sha256()
    for item in items:
        data = item.model_dump(mode="json", exclude={"line"})
        digest.update(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def missing_variables(items: Sequence[DatasetItem], required: Iterable[str]) -> list[str]:
    """A problem per row that lacks a required variable, naming its line and id."""
    needed = sorted(set(required))
    problems: list[str] = []
    for item in items:
        missing = [name for name in needed if item.inputs.get(name) is None]
        if missing:
            where = f"line {item.line}" if item.line else f"item {item.item_id!r}"
            names = ", ".join(repr(m) for m in missing)
            problems.append(f"{where} (id {item.item_id!r}): missing variable(s) {names}")
    return problems
