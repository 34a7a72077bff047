"""The optional review flow: draft -> in_review -> approved -> released.

* ``submit``: draft -> in_review (anyone, usually the author).
* ``approve``: in_review -> approved, by someone other than the author (self-approval is refused).
* ``reject``: in_review -> draft (changes requested).
* released: set when an approved version first receives a protected label, or through
  :meth:`PromptRegistry.release <promptyard.prompts.registry.PromptRegistry.release>`.

With ``PROMPTYARD_REQUIRE_REVIEW=true`` the labels in ``PROMPTYARD_PROTECTED_LABELS``
only accept approved or released versions. Every change lands in ``review_events``.
Transitions are compare-and-swap updates, so two reviewers acting at once cannot both
win: the second gets a ReviewError naming the new status.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from sqlalchemy import CursorResult, select, update

from promptyard.errors import ReviewError
from promptyard.prompts.records import ReviewEvent, ReviewStatus
from promptyard.prompts.refs import version_not_found
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.registry import PromptVersionRow, ReviewEventRow

ReviewAction = Literal["submit", "approve", "reject"]

TRANSITIONS: dict[ReviewAction, tuple[ReviewStatus, ReviewStatus]] = {
    "submit": ("draft", "in_review"),
    "approve": ("in_review", "approved"),
    "reject": ("in_review", "draft"),
}

_NEXT_STEP: dict[str, str] = {
    "draft": "submit it for review first ('promptyard prompts review submit NAME VERSION')",
    "in_review": "it is waiting for a reviewer ('promptyard prompts review approve|reject NAME VERSION')",
    "approved": "it is approved: release it ('promptyard prompts review release NAME VERSION')",
    "released": "it is already released",
}


def transition(
    db: Database,
    *,
    name: str,
    version: str,
    action: ReviewAction,
    actor: str,
    comment: str | None = None,
) -> ReviewEvent:
    """Apply one review action to ``name@version`` and record it."""
    from_status, to_status = TRANSITIONS[action]
    ref = f"{name}@{version}"
    with db.session() as s:
        row = s.scalar(
            select(PromptVersionRow).where(PromptVersionRow.name == name, PromptVersionRow.version == version)
        )
        if row is None:
            raise version_not_found(s, name, version)
        if row.status != from_status:
            raise ReviewError(
                f"cannot {action} {ref}: it is {row.status}, {action} needs {from_status}",
                hint=_NEXT_STEP.get(row.status),
            )
        if action == "approve" and actor == row.author:
            raise ReviewError(
                f"self-approval refused: {actor} authored {ref}",
                hint="someone other than the author must approve it (set PROMPTYARD_ACTOR to who runs the command)",
            )
        result = cast(
            CursorResult[Any],
            s.execute(
                update(PromptVersionRow)
                .where(PromptVersionRow.id == row.id, PromptVersionRow.status == from_status)
                .values(status=to_status)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            raise ReviewError(f"cannot {action} {ref}: its status changed at the same time", hint="check and retry")
        now = utcnow()
        s.add(
            ReviewEventRow(
                name=name,
                version=version,
                from_status=from_status,
                to_status=to_status,
                actor=actor,
                comment=comment,
                at=now,
            )
        )
        return ReviewEvent(
            name=name,
            version=version,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            comment=comment,
            at=now,
        )
