"""Versioned datasets in the database.

``add`` stores a new version only when the content changed (its hash differs from every
stored version of that name); adding identical content again returns the existing version.
Versions are numbered 1, 2, 3... per name and never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select

from promptyard.errors import InvalidInput, NotFound
from promptyard.evals.datasets import DatasetFormat, content_hash, read_dataset_file
from promptyard.evals.model import DatasetInfo, DatasetItem
from promptyard.store.db import Database
from promptyard.store.tables.evals import EvalDatasetItemRow, EvalDatasetRow

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")


class DatasetAdded(BaseModel):
    dataset: DatasetInfo
    created: bool
    """False when identical content was already stored (no new version)."""


def split_dataset_ref(ref: str) -> tuple[str, int | None]:
    """``squad`` -> (squad, None: the latest), ``squad@2`` or ``squad@v2`` -> (squad, 2)."""
    name, sep, tail = ref.partition("@")
    if not sep:
        return name.strip(), None
    tail = tail.strip().removeprefix("v")
    if not tail.isdigit():
        raise InvalidInput(f"invalid dataset reference {ref!r}", hint="use NAME or NAME@VERSION (a number)")
    return name.strip(), int(tail)


def check_name(name: str) -> str:
    if not name or name[0] not in "abcdefghijklmnopqrstuvwxyz0123456789" or not set(name) <= _NAME_CHARS:
        raise InvalidInput(
            f"invalid dataset name {name!r}", hint="use lower-case letters, digits, '-', '_' and '.' (e.g. support-qa)"
        )
    return name


class DatasetStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_file(self, name: str, path: Path | str, *, actor: str, fmt: DatasetFormat | None = None) -> DatasetAdded:
        """Parse ``path`` and store it as ``name``; a new version only if the content changed."""
        check_name(name)
        items = read_dataset_file(path, fmt=fmt)
        return self.add_items(name, items, actor=actor, source=str(path))

    def add_items(
        self, name: str, items: Sequence[DatasetItem], *, actor: str, source: str | None = None
    ) -> DatasetAdded:
        check_name(name)
        if not items:
            raise InvalidInput(f"dataset {name!r} would be empty", hint="give it at least one row")
        ids = [item.item_id for item in items]
        if len(set(ids)) != len(ids):
            raise InvalidInput(f"dataset {name!r} has duplicate item ids")
        digest = content_hash(items)
        with self._db.session() as s:
            existing = s.scalar(
                select(EvalDatasetRow).where(EvalDatasetRow.name == name, EvalDatasetRow.content_hash == digest)
            )
            if existing is not None:
                return DatasetAdded(dataset=_info(existing), created=False)
            latest = s.scalar(select(func.max(EvalDatasetRow.version)).where(EvalDatasetRow.name == name))
            row = EvalDatasetRow(
                name=name,
                version=(latest or 0) + 1,
                content_hash=digest,
                source=source,
                item_count=len(items),
                created_by=actor,
            )
            s.add(row)
            s.flush()
            s.add_all(
                EvalDatasetItemRow(
                    dataset_id=row.id, position=i, item_id=item.item_id, data=item.model_dump(mode="json")
                )
                for i, item in enumerate(items)
            )
            s.flush()
            return DatasetAdded(dataset=_info(row), created=True)

    def list_datasets(self) -> list[DatasetInfo]:
        """The latest version of every dataset, by name."""
        with self._db.session() as s:
            latest = (
                select(EvalDatasetRow.name, func.max(EvalDatasetRow.version).label("v"))
                .group_by(EvalDatasetRow.name)
                .subquery()
            )
            rows = s.scalars(
                select(EvalDatasetRow)
                .join(latest, (EvalDatasetRow.name == latest.c.name) & (EvalDatasetRow.version == latest.c.v))
                .order_by(EvalDatasetRow.name)
            ).all()
            return [_info(r) for r in rows]

    def versions(self, name: str) -> list[DatasetInfo]:
        with self._db.session() as s:
            rows = s.scalars(
                select(EvalDatasetRow).where(EvalDatasetRow.name == name).order_by(EvalDatasetRow.version)
            ).all()
            if not rows:
                raise self._not_found(name)
            return [_info(r) for r in rows]

    def get(self, ref: str) -> DatasetInfo:
        """``NAME`` (latest version) or ``NAME@VERSION``; NotFound names what exists."""
        name, version = split_dataset_ref(ref)
        return self._row_info(name, version)[1]

    def items(self, ref: str) -> tuple[DatasetInfo, list[DatasetItem]]:
        """The dataset version and its items in file order."""
        name, version = split_dataset_ref(ref)
        dataset_id, info = self._row_info(name, version)
        with self._db.session() as s:
            rows = s.scalars(
                select(EvalDatasetItemRow.data)
                .where(EvalDatasetItemRow.dataset_id == dataset_id)
                .order_by(EvalDatasetItemRow.position)
            ).all()
        return info, [DatasetItem.model_validate(r) for r in rows]

    def dataset_id(self, name: str, version: int) -> int:
        return self._row_info(name, version)[0]

    def _row_info(self, name: str, version: int | None) -> tuple[int, DatasetInfo]:
        with self._db.session() as s:
            query = select(EvalDatasetRow).where(EvalDatasetRow.name == name)
            if version is None:
                query = query.order_by(EvalDatasetRow.version.desc()).limit(1)
            else:
                query = query.where(EvalDatasetRow.version == version)
            row = s.scalar(query)
            if row is not None:
                return row.id, _info(row)
            if version is not None:
                known = [str(v) for v in s.scalars(select(EvalDatasetRow.version).where(EvalDatasetRow.name == name))]
                if known:
                    raise NotFound(f"dataset {name!r} has no version {version}", available=known)
        raise self._not_found(name)

    def _not_found(self, name: str) -> NotFound:
        with self._db.session() as s:
            names = sorted(set(s.scalars(select(EvalDatasetRow.name))))
        hint = None if names else "no datasets yet: add one with 'promptyard datasets add NAME FILE'"
        return NotFound(f"no dataset named {name!r}", available=names, hint=hint)


def _info(row: EvalDatasetRow) -> DatasetInfo:
    return DatasetInfo(
        name=row.name,
        version=row.version,
        content_hash=row.content_hash,
        item_count=row.item_count,
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
    )
