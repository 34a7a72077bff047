"""Prompt references (``name@version`` / ``name@label``), version ordering and "what exists" lookups.

Lookups that fail raise :class:`PromptNotFound` naming what does exist, so every caller
(Python, CLI, HTTP 404) tells the user the known prompts, versions or labels.
"""

from __future__ import annotations

from typing import NamedTuple

import semver
from sqlalchemy import select
from sqlalchemy.orm import Session

from promptyard.errors import InvalidInput, PromptNotFound
from promptyard.store.tables.registry import PromptLabelRow, PromptVersionRow


class Ref(NamedTuple):
    """A parsed reference: exactly one of ``version`` / ``label`` is set, or neither for a bare name."""

    name: str
    version: str | None
    label: str | None


def is_version(text: str) -> bool:
    return bool(semver.Version.is_valid(text))


def split_ref(ref: str) -> Ref:
    """``summarize_email@1.1.0`` -> version ref, ``summarize_email@production`` -> label ref, ``x`` -> bare name."""
    name, sep, tail = ref.partition("@")
    name = name.strip()
    if not name:
        raise InvalidInput(f"invalid prompt reference {ref!r}", hint="use NAME, NAME@VERSION or NAME@LABEL")
    if not sep:
        return Ref(name, None, None)
    tail = tail.strip()
    if not tail:
        raise InvalidInput(
            f"invalid prompt reference {ref!r}: nothing after '@'", hint="use NAME@VERSION or NAME@LABEL"
        )
    if is_version(tail):
        return Ref(name, tail, None)
    return Ref(name, None, tail)


def version_key(version: str) -> tuple[int, semver.Version | str]:
    """Sort key in semver order; anything unparsable sorts first, by text."""
    try:
        return (1, semver.Version.parse(version))
    except ValueError:
        return (0, version)


def sort_versions(versions: list[str]) -> list[str]:
    return sorted(versions, key=version_key)


def next_patch(version: str) -> str | None:
    try:
        return str(semver.Version.parse(version).bump_patch())
    except ValueError:
        return None


def known_prompts(session: Session) -> list[str]:
    return list(session.scalars(select(PromptVersionRow.name).distinct().order_by(PromptVersionRow.name)))


def known_versions(session: Session, name: str) -> list[str]:
    rows = session.scalars(select(PromptVersionRow.version).where(PromptVersionRow.name == name))
    return sort_versions(list(rows))


def known_labels(session: Session, name: str) -> dict[str, str]:
    rows = session.execute(
        select(PromptLabelRow.label, PromptLabelRow.version)
        .where(PromptLabelRow.name == name)
        .order_by(PromptLabelRow.label)
    )
    return {row[0]: row[1] for row in rows}


def prompt_not_found(session: Session, name: str) -> PromptNotFound:
    names = known_prompts(session)
    hint = None if names else "the registry is empty: run 'promptyard prompts sync'"
    return PromptNotFound(f"no prompt named {name!r}", available=names, hint=hint)


def ensure_prompt(session: Session, name: str) -> list[str]:
    """The prompt's versions in semver order; PromptNotFound naming the known prompts when it has none."""
    versions = known_versions(session, name)
    if not versions:
        raise prompt_not_found(session, name)
    return versions


def version_not_found(session: Session, name: str, version: str) -> PromptNotFound:
    versions = ensure_prompt(session, name)
    return PromptNotFound(f"prompt {name!r} has no version {version!r}", available=versions)


def label_not_found(session: Session, name: str, label: str) -> PromptNotFound:
    ensure_prompt(session, name)
    labels = known_labels(session, name)
    if not labels:
        return PromptNotFound(
            f"prompt {name!r} has no label {label!r}",
            hint=f"it has no labels yet: set one with 'promptyard prompts label {name} {label} VERSION'",
        )
    return PromptNotFound(
        f"prompt {name!r} has no label {label!r}",
        available=[f"{lab} -> {ver}" for lab, ver in labels.items()],
    )
