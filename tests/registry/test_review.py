"""Review flow: draft -> in_review -> approved (not by the author) -> released. SQLite and Postgres."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptyard.errors import ReviewError
from promptyard.prompts.records import LabelEvent, ReviewEvent
from promptyard.prompts.registry import PromptRegistry
from promptyard.store.db import Database
from tests.registry.helpers import make_settings


@pytest.fixture
def strict(database: Database, tmp_path: Path, db_url: str, prompts_dir: Path) -> PromptRegistry:
    reg = PromptRegistry(database, make_settings(tmp_path, db_url, require_review=True))
    reg.sync(prompts_dir, actor="alice")
    return reg


def test_full_review_flow_releases_the_version(strict: PromptRegistry) -> None:
    with pytest.raises(ReviewError, match="only accepts approved or released") as info:
        strict.set_label("greet", "production", "1.0.0", actor="alice")
    assert "review submit" in str(info.value)

    strict.review("greet", "1.0.0", "submit", actor="alice", comment="ready")
    with pytest.raises(ReviewError, match="self-approval refused"):
        strict.review("greet", "1.0.0", "approve", actor="alice")
    approved = strict.review("greet", "1.0.0", "approve", actor="bob", comment="lgtm")
    assert (approved.from_status, approved.to_status) == ("in_review", "approved")

    move = strict.set_label("greet", "production", "1.0.0", actor="alice", reason="go")
    assert move.to_version == "1.0.0"
    assert strict.get("greet", "1.0.0").status == "released"

    kinds = [
        (type(e).__name__, getattr(e, "to_status", getattr(e, "to_version", None))) for e in strict.history("greet")
    ]
    assert kinds == [
        ("ReviewEvent", "in_review"),
        ("ReviewEvent", "approved"),
        ("LabelEvent", "1.0.0"),
        ("ReviewEvent", "released"),
    ]
    reviews = [e for e in strict.history("greet") if isinstance(e, ReviewEvent)]
    assert [(e.actor, e.comment) for e in reviews[:2]] == [("alice", "ready"), ("bob", "lgtm")]


def test_unprotected_labels_take_drafts_even_with_review_on(strict: PromptRegistry) -> None:
    move = strict.set_label("greet", "staging", "1.1.0", actor="alice")
    assert move.changed
    assert strict.get("greet", "1.1.0").status == "draft"


def test_wrong_order_transitions_are_refused(strict: PromptRegistry) -> None:
    with pytest.raises(ReviewError, match="it is draft, approve needs in_review"):
        strict.review("greet", "1.0.0", "approve", actor="bob")
    strict.review("greet", "1.0.0", "submit", actor="alice")
    with pytest.raises(ReviewError, match="it is in_review, submit needs draft"):
        strict.review("greet", "1.0.0", "submit", actor="alice")
    rejected = strict.review("greet", "1.0.0", "reject", actor="bob", comment="too long")
    assert rejected.to_status == "draft"
    assert strict.get("greet", "1.0.0").status == "draft"


def test_release_needs_approval_even_without_require_review(synced: PromptRegistry) -> None:
    with pytest.raises(ReviewError):
        synced.release("greet", "1.0.0", actor="alice")
    synced.review("greet", "1.0.0", "submit", actor="alice")
    synced.review("greet", "1.0.0", "approve", actor="bob")
    move = synced.release("greet", "1.0.0", actor="alice", label="production", reason="ship")
    assert move.action == "release"
    assert synced.get("greet", "1.0.0").status == "released"
    last_label = [e for e in synced.history("greet") if isinstance(e, LabelEvent)][-1]
    assert (last_label.action, last_label.reason) == ("release", "ship")


def test_rollback_is_not_blocked_by_review(strict: PromptRegistry) -> None:
    """An emergency rollback returns to a version that already held the label."""
    for version in ("1.0.0", "1.1.0"):
        strict.review("greet", version, "submit", actor="alice")
        strict.review("greet", version, "approve", actor="bob")
        strict.set_label("greet", "production", version, actor="alice")
    back = strict.rollback("greet", "production", actor="oncall")
    assert back.to_version == "1.0.0"
