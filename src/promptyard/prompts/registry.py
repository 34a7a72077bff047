"""The prompt registry: immutable versions, release labels, rollback, review and history.

The runtime API always names a version or a label: there is no implicit "latest".
``resolve`` is on the gateway's hot path and is served from memory:

* versions are immutable, so a resolved ``name@version`` spec is cached for the life of
  the process;
* a label's target is cached for ``PROMPTYARD_LABEL_CACHE_TTL_S`` seconds (default 2) and
  dropped at once when this process moves the label. Another instance sharing the same
  Postgres sees a move within that TTL, or within 0.1 s when a Redis is shared
  (:mod:`promptyard.prompts.notify`). ``0`` turns label caching off;
* while the database is unreachable, a label resolves to its last known target (counted,
  logged); one never resolved here fails with 503 naming the database.

Cached :class:`PromptSpec` objects are shared: treat them as read-only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from promptyard import dependencies
from promptyard.errors import DependencyUnavailable, InvalidInput
from promptyard.prompts.labels import LabelMove, move_label, previous, to
from promptyard.prompts.model import PromptSpec
from promptyard.prompts.notify import POLL_S, RETRY_S, LabelVersion
from promptyard.prompts.records import (
    LabelAction,
    LabelEvent,
    LabelInfo,
    PromptSummary,
    PromptVersion,
    ReviewEvent,
    SyncReport,
    VersionBrief,
    check_label_name,
)
from promptyard.prompts.refs import (
    ensure_prompt,
    known_labels,
    label_not_found,
    sort_versions,
    version_key,
    version_not_found,
)
from promptyard.prompts.review import ReviewAction, transition
from promptyard.prompts.sync import load_files, sync_files
from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.store.tables.registry import LabelEventRow, PromptLabelRow, PromptVersionRow, ReviewEventRow

#: Called before a label moves: (prompt, label, to_version, current_version, action); raises to refuse.
LabelGate = Callable[[str, str, str, str | None, LabelAction], None]


class PromptRegistry:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        gate: LabelGate | None = None,
        notifier: LabelVersion | None = None,
    ) -> None:
        self.gate = gate
        """Checks before a move (``experiments/gates.py``: no hand moves under a split, eval gates)."""
        self._db = db
        self._settings = settings
        self._clock = clock
        self._label_ttl = settings.label_cache_ttl_s
        self._specs: dict[tuple[str, str], PromptSpec] = {}
        self._labels: dict[tuple[str, str], tuple[float, str]] = {}
        self._known: dict[tuple[str, str], str] = {}
        """Last label target read from the database: served while the database is unreachable."""
        self._notifier = notifier
        """Label moves made elsewhere (other instances, the CLI): see :mod:`promptyard.prompts.notify`."""
        self._seen_version: int | None = None
        self._next_poll = 0.0

    # ---- sync -------------------------------------------------------------------
    def sync(self, prompts_dir: Path | str, *, actor: str) -> SyncReport:
        """Import every prompt file under ``prompts_dir`` as an immutable version.

        All or nothing: every file is parsed and checked first; a bad file, a duplicate
        ``name@version`` or changed content under a synced version (VersionConflict: bump
        the version) refuses the whole sync and writes nothing. Identical content is a no-op.
        """
        directory = Path(prompts_dir)
        files = load_files(directory)
        return sync_files(self._db, files, directory=directory.as_posix(), actor=actor)

    # ---- reads --------------------------------------------------------------------
    def list_prompts(self) -> list[PromptSummary]:
        """Every prompt with its versions (semver order) and labels."""
        with self._db.session() as s:
            rows = s.execute(select(PromptVersionRow.name, PromptVersionRow.version, PromptVersionRow.spec)).all()
            labels = s.execute(select(PromptLabelRow.name, PromptLabelRow.label, PromptLabelRow.version)).all()
        by_name: dict[str, list[tuple[str, str]]] = {}
        for name, version, spec in rows:
            by_name.setdefault(name, []).append((version, str(spec.get("description", ""))))
        out: list[PromptSummary] = []
        for name in sorted(by_name):
            entries = sorted(by_name[name], key=lambda e: version_key(e[0]))
            out.append(
                PromptSummary(
                    name=name,
                    description=entries[-1][1],
                    versions=[v for v, _ in entries],
                    labels={lab: ver for n, lab, ver in sorted(labels) if n == name},
                )
            )
        return out

    def versions(self, name: str) -> list[VersionBrief]:
        """The versions of ``name`` in semver order (oldest first)."""
        with self._db.session() as s:
            ensure_prompt(s, name)
            rows = s.scalars(select(PromptVersionRow).where(PromptVersionRow.name == name)).all()
            briefs = [
                VersionBrief(
                    version=r.version,
                    content_hash=r.content_hash,
                    status=r.status,
                    author=r.author,
                    created_at=r.created_at,
                    changelog=str(r.spec.get("changelog", "")),
                )
                for r in rows
            ]
        return sorted(briefs, key=lambda b: version_key(b.version))

    def labels(self, name: str) -> list[LabelInfo]:
        """Where each label of ``name`` points."""
        with self._db.session() as s:
            ensure_prompt(s, name)
            rows = s.scalars(select(PromptLabelRow).where(PromptLabelRow.name == name).order_by(PromptLabelRow.label))
            return [_label_info(r) for r in rows]

    def label(self, name: str, label: str) -> LabelInfo:
        with self._db.session() as s:
            row = s.get(PromptLabelRow, (name, label))
            if row is None:
                raise label_not_found(s, name, label)
            return _label_info(row)

    def get(self, name: str, version: str) -> PromptVersion:
        """One stored version with its source and spec. PromptNotFound names the versions that exist."""
        with self._db.session() as s:
            row = s.scalar(
                select(PromptVersionRow).where(PromptVersionRow.name == name, PromptVersionRow.version == version)
            )
            if row is None:
                raise version_not_found(s, name, version)
            spec = self._specs.get((name, version))
            if spec is None:
                spec = self._specs[(name, version)] = PromptSpec.model_validate(row.spec)
            return PromptVersion(
                name=row.name,
                version=row.version,
                content_hash=row.content_hash,
                status=row.status,
                author=row.author,
                created_at=row.created_at,
                source_path=row.source_path,
                source=row.source,
                spec=spec,
            )

    def lookup(self, name: str, *, version: str | None = None, label: str | None = None) -> PromptVersion:
        """Like :meth:`get`, addressed by exactly one of version or label."""
        _exactly_one(version, label)
        if label is not None:
            version = self.label(name, label).version
        assert version is not None
        return self.get(name, version)

    def resolve(self, name: str, *, version: str | None = None, label: str | None = None) -> PromptSpec:
        """The spec for ``name`` at exactly one of ``version`` or ``label``; a dict lookup when cached."""
        if label is None:
            if version is not None:
                spec = self._specs.get((name, version))
                if spec is not None:
                    return spec
        elif version is None:
            if self._notifier is not None and self._clock() >= self._next_poll:
                self._poll_moves()
            hit = self._labels.get((name, label))
            if hit is not None and hit[0] > self._clock():
                spec = self._specs.get((name, hit[1]))
                if spec is not None:
                    return spec
        return self._resolve_slow(name, version, label)

    def _poll_moves(self) -> None:
        """Drop cached label targets when a label moved anywhere since the last look."""
        assert self._notifier is not None
        seen = self._notifier.current()
        now = self._clock()
        if seen is None:
            self._next_poll = now + RETRY_S
            return
        self._next_poll = now + POLL_S
        if seen != self._seen_version:
            self._labels.clear()
            self._seen_version = seen

    def _moved(self, name: str, label: str) -> None:
        self._labels.pop((name, label), None)
        if self._notifier is not None:
            self._notifier.bump()

    def _resolve_slow(self, name: str, version: str | None, label: str | None) -> PromptSpec:
        _exactly_one(version, label)
        if label is not None:
            try:
                version = self.label(name, label).version
            except DependencyUnavailable as exc:  # the database is down: the last known target
                version = self._stale_target(name, label, exc)
            self._known[(name, label)] = version
            if self._label_ttl > 0:
                self._labels[(name, label)] = (self._clock() + self._label_ttl, version)
        assert version is not None
        spec = self._specs.get((name, version))
        if spec is not None:
            return spec
        return self.get(name, version).spec

    def _stale_target(self, name: str, label: str, exc: DependencyUnavailable) -> str:
        known = self._known.get((name, label))
        if known is None:
            raise exc
        dependencies.served_stale("label lookup", exc)
        return known

    # ---- label moves ------------------------------------------------------------
    def set_label(
        self,
        name: str,
        label: str,
        version: str,
        *,
        actor: str,
        reason: str | None = None,
        action: LabelAction = "set",
    ) -> LabelMove:
        """Point ``label`` at ``version`` (the release). Records who, when, from, to and why."""
        check_label_name(label)
        self._check_gate(name, label, version, action)
        move = move_label(
            self._db,
            self._settings,
            name=name,
            label=label,
            target=to(version),
            action=action,
            actor=actor,
            reason=reason,
        )
        self._moved(name, label)
        return move

    def rollback(self, name: str, label: str, *, actor: str, reason: str | None = None) -> LabelMove:
        """Move ``label`` back to the version it pointed at before its last move.

        Rolling back twice undoes the first rollback (the last move is then the rollback).
        """
        move = move_label(
            self._db,
            self._settings,
            name=name,
            label=label,
            target=previous(name, label),
            action="rollback",
            actor=actor,
            reason=reason,
        )
        self._moved(name, label)
        return move

    # ---- review -----------------------------------------------------------------
    def review(
        self, name: str, version: str, action: ReviewAction, *, actor: str, comment: str | None = None
    ) -> ReviewEvent:
        """Apply ``submit`` / ``approve`` / ``reject`` (see :mod:`promptyard.prompts.review`)."""
        return transition(self._db, name=name, version=version, action=action, actor=actor, comment=comment)

    def release(
        self, name: str, version: str, *, actor: str, label: str = "production", reason: str | None = None
    ) -> LabelMove:
        """Point ``label`` at an approved (or released) version and mark it released."""
        check_label_name(label)
        self._check_gate(name, label, version, "release")
        move = move_label(
            self._db,
            self._settings,
            name=name,
            label=label,
            target=to(version),
            action="release",
            actor=actor,
            reason=reason,
            require_approved=True,
        )
        self._moved(name, label)
        return move

    # ---- audit ------------------------------------------------------------------
    def history(self, name: str) -> list[LabelEvent | ReviewEvent]:
        """Label moves and review events of ``name``, oldest first."""
        with self._db.session() as s:
            ensure_prompt(s, name)
            label_rows = s.scalars(select(LabelEventRow).where(LabelEventRow.name == name)).all()
            review_rows = s.scalars(select(ReviewEventRow).where(ReviewEventRow.name == name)).all()
            keyed: list[tuple[datetime, int, int, LabelEvent | ReviewEvent]] = []
            for r in label_rows:
                event = LabelEvent(
                    name=r.name,
                    label=r.label,
                    action=r.action,
                    from_version=r.from_version,
                    to_version=r.to_version,
                    actor=r.actor,
                    reason=r.reason,
                    at=r.at,
                )
                keyed.append((event.at, 0, r.id, event))
            for rv in review_rows:
                review = ReviewEvent(
                    name=rv.name,
                    version=rv.version,
                    from_status=rv.from_status,
                    to_status=rv.to_status,
                    actor=rv.actor,
                    comment=rv.comment,
                    at=rv.at,
                )
                keyed.append((review.at, 1, rv.id, review))
        keyed.sort(key=lambda k: (k[0], k[1], k[2]))
        return [k[3] for k in keyed]

    def known_labels(self, name: str) -> dict[str, str]:
        with self._db.session() as s:
            ensure_prompt(s, name)
            return known_labels(s, name)

    def _check_gate(self, name: str, label: str, version: str, action: LabelAction) -> None:
        if self.gate is None:
            return
        with self._db.session() as s:
            row = s.get(PromptLabelRow, (name, label))
            current = row.version if row is not None else None
        self.gate(name, label, version, current, action)

    def clear_cache(self) -> None:
        """Forget cached specs and label targets (tests, or after restoring a database)."""
        self._specs.clear()
        self._labels.clear()


def _exactly_one(version: str | None, label: str | None) -> None:
    if (version is None) == (label is None):
        raise InvalidInput(
            "name exactly one of version or label",
            hint="there is no implicit 'latest': pin a version (1.1.0) or a label (production)",
        )


def _label_info(row: PromptLabelRow) -> LabelInfo:
    return LabelInfo(
        name=row.name, label=row.label, version=row.version, updated_by=row.updated_by, updated_at=row.updated_at
    )


__all__ = ["LabelMove", "PromptRegistry", "sort_versions"]
