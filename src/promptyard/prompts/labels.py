"""Label moves (release, rollback) with an audit row each, safe under concurrency.

A move is a compare-and-swap: read where the label points, then
``UPDATE ... WHERE version = <what we read>`` (or ``INSERT`` for a new label). If another
process moved the label in between, the update touches no row (or the insert hits the
primary key) and the move is retried from a fresh read. This works the same on SQLite
(writes are serialized) and Postgres (the row lock makes the second writer re-check
its ``WHERE`` after the first commits), so the audit log is always a chain: each event's
``from_version`` is the previous event's ``to_version``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from promptyard.errors import InvalidInput, ReviewError, StoreError
from promptyard.prompts.records import MOVE_ACTIONS, LabelAction, LabelEvent
from promptyard.prompts.refs import label_not_found, version_not_found
from promptyard.settings import Settings
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.registry import LabelEventRow, PromptLabelRow, PromptVersionRow, ReviewEventRow

MAX_ATTEMPTS = 20

#: Chooses the target version given the session and where the label points now (None: unset).
TargetFn = Callable[[Session, str | None], str]


class LabelMove(LabelEvent):
    """The result of a move. ``changed`` is false when the label already pointed there (nothing recorded)."""

    changed: bool = True


class _Raced(Exception):
    """Another writer moved the label between our read and our write."""


def move_label(
    db: Database,
    settings: Settings,
    *,
    name: str,
    label: str,
    target: TargetFn,
    action: LabelAction,
    actor: str,
    reason: str | None,
    require_approved: bool = False,
) -> LabelMove:
    """Point ``label`` at the version ``target`` picks, record the move, retry on races.

    Protected labels (``settings.protected_labels`` with ``settings.require_review``) only
    accept approved or released versions; ``require_approved`` applies that to any label.
    A rollback is not guarded: it returns the label to a version that already held it.
    """
    for _ in range(MAX_ATTEMPTS):
        try:
            return _attempt(db, settings, name, label, target, action, actor, reason, require_approved)
        except _Raced:
            continue
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                continue  # two processes created the same label at once: re-read and move again
            raise
    raise StoreError(
        f"label {name}:{label} kept changing under concurrent moves; gave up after {MAX_ATTEMPTS} attempts",
        hint="try again",
    )


def _attempt(
    db: Database,
    settings: Settings,
    name: str,
    label: str,
    target: TargetFn,
    action: LabelAction,
    actor: str,
    reason: str | None,
    require_approved: bool,
) -> LabelMove:
    with db.session() as s:
        row = s.get(PromptLabelRow, (name, label))
        current = row.version if row is not None else None
        to_version = target(s, current)
        vrow = s.scalar(
            select(PromptVersionRow).where(PromptVersionRow.name == name, PromptVersionRow.version == to_version)
        )
        if vrow is None:
            raise version_not_found(s, name, to_version)
        if action != "rollback":
            _check_review(settings, vrow, label, require_approved)
        now = utcnow()
        if current == to_version:
            return LabelMove(
                name=name,
                label=label,
                action=action,
                from_version=current,
                to_version=to_version,
                actor=actor,
                reason=reason,
                at=now,
                changed=False,
            )
        if row is None:
            s.add(PromptLabelRow(name=name, label=label, version=to_version, updated_by=actor, updated_at=now))
            s.flush()
        else:
            result = cast(
                CursorResult[Any],
                s.execute(
                    update(PromptLabelRow)
                    .where(
                        PromptLabelRow.name == name, PromptLabelRow.label == label, PromptLabelRow.version == current
                    )
                    .values(version=to_version, updated_by=actor, updated_at=now)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount != 1:
                raise _Raced()
        s.add(
            LabelEventRow(
                name=name,
                label=label,
                from_version=current,
                to_version=to_version,
                action=action,
                actor=actor,
                reason=reason,
                at=now,
            )
        )
        if vrow.status == "approved" and (action == "release" or label in settings.protected_labels):
            vrow.status = "released"
            s.add(
                ReviewEventRow(
                    name=name,
                    version=to_version,
                    from_status="approved",
                    to_status="released",
                    actor=actor,
                    comment=f"released as {label}",
                    at=now,
                )
            )
        return LabelMove(
            name=name,
            label=label,
            action=action,
            from_version=current,
            to_version=to_version,
            actor=actor,
            reason=reason,
            at=now,
        )


def _check_review(settings: Settings, vrow: PromptVersionRow, label: str, require_approved: bool) -> None:
    guarded = require_approved or (settings.require_review and label in settings.protected_labels)
    if guarded and vrow.status not in ("approved", "released"):
        ref = f"{vrow.name}@{vrow.version}"
        raise ReviewError(
            f"{ref} is {vrow.status}; label {label!r} only accepts approved or released versions",
            hint=f"'promptyard prompts review submit {vrow.name} {vrow.version}', then someone other than "
            f"{vrow.author} runs 'promptyard prompts review approve {vrow.name} {vrow.version}'",
        )


def to(version: str) -> TargetFn:
    """Target: a fixed version."""

    def pick(_s: Session, _current: str | None) -> str:
        return version

    return pick


def previous(name: str, label: str) -> TargetFn:
    """Target: the version the label pointed at before its last move (rollback)."""

    def pick(s: Session, current: str | None) -> str:
        if current is None:
            raise label_not_found(s, name, label)
        last = s.scalar(
            select(LabelEventRow)
            .where(LabelEventRow.name == name, LabelEventRow.label == label, LabelEventRow.action.in_(MOVE_ACTIONS))
            .order_by(LabelEventRow.id.desc())
            .limit(1)
        )
        if last is None or last.to_version != current:
            raise InvalidInput(f"label {name}:{label} has no recorded move to {current}; nothing to roll back to")
        if last.from_version is None:
            raise InvalidInput(
                f"label {name}:{label} was created at {current}; there is no earlier version to roll back to",
                hint=f"point it elsewhere with 'promptyard prompts label {name} {label} VERSION'",
            )
        return last.from_version

    return pick
