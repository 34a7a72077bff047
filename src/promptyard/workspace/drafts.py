"""Drafts proposed in the browser, checked so that files stay the source of truth.

A draft is the text of a prompt file. Saving it stores an immutable version with status
``draft`` (authored by the API key's name), which then goes through the ordinary review
flow (:mod:`promptyard.prompts.review`). It is refused with a VersionConflict when:

* its base version is no longer the newest version of the prompt (a newer file was synced
  since the editor was opened): start again from the newest;
* its version is not higher than every stored version;
* a file ``<prompts_dir>/<name>/<version>.prompt`` at that version or higher already exists
  on disk with other content (a change made in files that sync has not imported yet).

An exported draft is byte-for-byte the stored text, so syncing it later is a no-op.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import IntegrityError

from promptyard.errors import InvalidInput, PromptyardError, StoreError, VersionConflict
from promptyard.prompts.files import content_hash, parse_prompt
from promptyard.prompts.lint import LintIssue, has_errors, lint
from promptyard.prompts.model import PromptSpec
from promptyard.prompts.refs import ensure_prompt, next_patch, sort_versions, version_key
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.registry import PromptVersionRow

__all__ = ["check_text", "export_path", "propose_draft", "suggest_version", "with_version", "write_export"]


def suggest_version(versions: list[str]) -> str:
    """The next patch after the highest version (``1.0.0`` for a prompt with none)."""
    if not versions:
        return "1.0.0"
    return next_patch(sort_versions(versions)[-1]) or "1.0.0"


def with_version(source: str, version: str) -> str:
    """``source`` with the front matter's ``version:`` line set to ``version``."""
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if i > 0 and line.strip() == "---":
            break
        if line.startswith("version:"):
            lines[i] = f"version: {version}"
            break
    return "\n".join(lines)


def check_text(text: str) -> tuple[PromptSpec | None, list[LintIssue]]:
    """Parse and lint a draft's text: the spec (None if it does not parse) and every issue."""
    try:
        spec = parse_prompt(text)
    except PromptyardError as exc:
        line = getattr(exc, "line", None)
        return None, [LintIssue(severity="error", code="parse", message=str(exc), line=line)]
    return spec, lint(spec, text=text)


def export_path(name: str, version: str) -> str:
    """Where the file goes in a pull request."""
    return f"prompts/{name}/{version}.prompt"


def write_export(prompts_dir: Path, name: str, version: str, text: str) -> tuple[Path, bool]:
    """Write ``text`` to ``<prompts_dir>/<name>/<version>.prompt``; ``(path, written)``.

    Identical content already there is a no-op; other content is refused (VersionConflict).
    """
    path = prompts_dir / name / f"{version}.prompt"
    if path.exists():
        if path.read_bytes() == text.encode("utf-8"):
            return path, False
        raise VersionConflict(
            f"export refused: {path.as_posix()} exists with other content",
            hint="files are the source of truth: bump the version of your draft instead",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path, True


def _refuse_newer_files(prompts_dir: Path, name: str, version: str, text: str) -> None:
    folder = prompts_dir / name
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.prompt")):
        if version_key(path.stem) < version_key(version):
            continue
        if path.stem == version and path.read_bytes().decode("utf-8", "replace") == text:
            continue
        raise VersionConflict(
            f"draft refused: the file {path.as_posix()} ({name}@{path.stem}) is at or above your version "
            f"{version} and is not what you wrote; files are the source of truth",
            hint="sync the prompt files first, then start your draft from the newest version",
        )


def propose_draft(db: Database, *, name: str, base_version: str, text: str, actor: str, prompts_dir: Path) -> str:
    """Store ``text`` as a new ``draft`` version of ``name`` edited from ``base_version``; its version."""
    spec, issues = check_text(text)
    if spec is None or has_errors(issues):
        raise InvalidInput(
            "draft refused: " + "; ".join(i.message for i in issues if i.severity == "error"),
            hint="fix the errors the editor lists, then save again",
        )
    if spec.name != name:
        raise InvalidInput(f"draft refused: the file says name {spec.name!r}, this is prompt {name!r}")
    ref = f"{name}@{spec.version}"
    try:
        with db.session() as s:
            versions = sort_versions(ensure_prompt(s, name))
            latest = versions[-1]
            if base_version != latest:
                raise VersionConflict(
                    f"draft refused: {name}@{latest} is newer than the version you edited ({base_version})",
                    hint=f"open the editor again from {latest} and redo your change there",
                )
            if spec.version in versions:
                raise VersionConflict(
                    f"draft refused: {ref} already exists and versions are immutable",
                    hint=f"use version {suggest_version(versions)}",
                )
            if version_key(spec.version) <= version_key(latest):
                raise VersionConflict(
                    f"draft refused: version {spec.version} is not higher than {latest}",
                    hint=f"use version {suggest_version(versions)}",
                )
            _refuse_newer_files(prompts_dir, name, spec.version, text)
            row = PromptVersionRow(
                name=name,
                version=spec.version,
                content_hash=content_hash(text),
                source=text,
                source_path=None,
                spec=spec.model_dump(mode="json"),
                status="draft",
                author=actor,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
        return spec.version
    except StoreError as exc:
        if isinstance(exc.__cause__, IntegrityError):
            raise VersionConflict(f"draft refused: {ref} was created at the same time", hint="reload") from exc
        raise
