"""What the registry returns: versions, labels, audit events and sync reports.

These are plain pydantic records, shared by the Python API, the CLI and the HTTP API,
so all three show the same fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from promptyard.errors import InvalidInput
from promptyard.prompts.model import PromptSpec

ReviewStatus = Literal["draft", "in_review", "approved", "released"]
LabelAction = Literal["set", "rollback", "release", "promote", "split", "split_end", "canary_step", "canary_rollback"]
#: Actions that move the label row; the others (splits, canary steps) only annotate the audit log.
MOVE_ACTIONS: tuple[LabelAction, ...] = ("set", "rollback", "release", "promote")


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: A timestamp, always timezone-aware UTC whichever database it came from.
UTCTime = Annotated[datetime, AfterValidator(_as_utc)]

#: Label names: lower-case words, digits, ``-``, ``_`` and ``.``; they may not look like a version.
LABEL_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")


def check_label_name(label: str) -> str:
    """Return ``label`` if it is a valid label name, else raise InvalidInput saying why."""
    if not LABEL_RE.match(label):
        raise InvalidInput(
            f"invalid label name {label!r}",
            hint="labels start with a lower-case letter and use a-z, 0-9, '-', '_' or '.' (e.g. production, staging)",
        )
    return label


class PromptVersion(BaseModel):
    """One immutable version of a prompt, as stored."""

    name: str
    version: str
    content_hash: str
    """sha256 of the prompt file text."""
    status: ReviewStatus
    author: str
    """Who synced it."""
    created_at: UTCTime
    source_path: str | None = None
    source: str
    """The prompt file text exactly as synced."""
    spec: PromptSpec

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class LabelInfo(BaseModel):
    """Where a label points now."""

    name: str
    label: str
    version: str
    updated_by: str
    updated_at: UTCTime


class PromptSummary(BaseModel):
    """A prompt with its versions (semver order, oldest first) and labels."""

    name: str
    description: str = ""
    """Description of the highest version."""
    versions: list[str]
    labels: dict[str, str] = Field(default_factory=dict)
    """label -> version."""


class VersionBrief(BaseModel):
    """A version without its source: for listings."""

    version: str
    content_hash: str
    status: ReviewStatus
    author: str
    created_at: UTCTime
    changelog: str = ""


class LabelEvent(BaseModel):
    """One label move in the audit log: who, when, from, to, why."""

    kind: Literal["label"] = "label"
    name: str
    label: str
    action: LabelAction
    from_version: str | None
    to_version: str | None
    actor: str
    reason: str | None = None
    at: UTCTime


class ReviewEvent(BaseModel):
    """One review status change in the audit log."""

    kind: Literal["review"] = "review"
    name: str
    version: str
    from_status: ReviewStatus
    to_status: ReviewStatus
    actor: str
    comment: str | None = None
    at: UTCTime


HistoryEvent = Annotated[LabelEvent | ReviewEvent, Field(discriminator="kind")]


class SyncReport(BaseModel):
    """What a sync did. ``added`` and ``unchanged`` hold ``name@version`` refs."""

    directory: str
    added: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.added)
