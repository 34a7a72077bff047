"""Import prompt files into the registry as immutable versions, all or nothing.

Every file is parsed and checked before anything is written: a file that does not
parse, two files claiming the same ``name@version``, or a changed file under a version
that is already synced refuses the whole sync and leaves the store unchanged. The
writes then happen in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from promptyard.errors import PromptFileError, StoreError, VersionConflict
from promptyard.prompts.files import PromptFile, discover
from promptyard.prompts.records import SyncReport
from promptyard.prompts.refs import next_patch
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.registry import PromptVersionRow


def load_files(prompts_dir: Path) -> list[PromptFile]:
    """Parse every prompt file under ``prompts_dir``; raise on the first bad one (file and line)."""
    if not prompts_dir.is_dir():
        raise PromptFileError(
            "prompt directory not found",
            path=str(prompts_dir),
            hint="pass the folder that holds <name>/<version>.prompt files, or set PROMPTYARD_PROMPTS_DIR",
        )
    files = discover(prompts_dir)
    _refuse_duplicates(files)
    return files


def _refuse_duplicates(files: Sequence[PromptFile]) -> None:
    seen: dict[tuple[str, str], PromptFile] = {}
    for f in files:
        key = (f.spec.name, f.spec.version)
        if key in seen:
            raise PromptFileError(
                f"{f.spec.name}@{f.spec.version} is also declared in {seen[key].path}",
                path=str(f.path),
                hint="each version lives in exactly one file; bump the version in one of them",
            )
        seen[key] = f


def _short(digest: str) -> str:
    return digest[:12]


def sync_files(db: Database, files: Sequence[PromptFile], *, directory: str, actor: str) -> SyncReport:
    """Write new versions from ``files`` in one transaction; refuse everything on any conflict.

    Concurrent syncs of the same files (several CI jobs, two shells) never half-write: each
    runs in one transaction, and the one that loses the race (a unique-key clash on Postgres,
    a busy snapshot on SQLite) is rolled back and run again from scratch, where it finds the
    winner's versions and is a no-op (or refuses with VersionConflict if its content differs).
    """
    if not files:
        return SyncReport(directory=directory)
    names = sorted({f.spec.name for f in files})
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _sync_once(db, files, names, directory=directory, actor=actor)
        except StoreError as exc:
            if not _lost_race(exc) or attempt == _ATTEMPTS:
                if _lost_race(exc):
                    raise VersionConflict(
                        "another sync imported some of these versions at the same time; nothing was written",
                        hint="run the sync again",
                    ) from exc
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


_ATTEMPTS = 5


def _lost_race(exc: StoreError) -> bool:
    cause = exc.__cause__
    if isinstance(cause, IntegrityError):
        return True
    return isinstance(cause, OperationalError) and "locked" in str(cause).lower()


def _sync_once(
    db: Database, files: Sequence[PromptFile], names: list[str], *, directory: str, actor: str
) -> SyncReport:
    report = SyncReport(directory=directory)
    with db.session() as s:
        existing = {
            (name, version): digest
            for name, version, digest in s.execute(
                select(PromptVersionRow.name, PromptVersionRow.version, PromptVersionRow.content_hash).where(
                    PromptVersionRow.name.in_(names)
                )
            )
        }
        conflicts: list[str] = []
        new: list[PromptFile] = []
        for f in files:
            key = (f.spec.name, f.spec.version)
            stored = existing.get(key)
            if stored is None:
                new.append(f)
            elif stored == f.content_hash:
                report.unchanged.append(f.spec.ref)
            else:
                bump = next_patch(f.spec.version)
                conflicts.append(
                    f"{f.path}: {f.spec.ref} is already synced with different content "
                    f"(stored sha256 {_short(stored)}, file {_short(f.content_hash)})"
                    + (f"; save the change as version {bump} or higher" if bump else "")
                )
        if conflicts:
            raise VersionConflict(
                "sync refused, nothing was written: " + "; ".join(conflicts),
                hint="synced versions are immutable: bump the version in the front matter and save the "
                "change as a new file (prompts/<name>/<new version>.prompt)",
            )
        now = utcnow()
        for f in new:
            s.add(
                PromptVersionRow(
                    name=f.spec.name,
                    version=f.spec.version,
                    content_hash=f.content_hash,
                    source=f.text,
                    source_path=_display_path(f.path),
                    spec=f.spec.model_dump(mode="json"),
                    status="draft",
                    author=actor,
                    created_at=now,
                )
            )
            report.added.append(f.spec.ref)
    return report


def _display_path(path: Path | str) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()
