"""Budget alerts: a WARN line in the trace log, a row for the dashboard, an optional webhook.

The gateway's budget check (``gateway/budget.py``) decides *when* a threshold of
``PROMPTYARD_DAILY_BUDGET_USD`` is crossed and calls :meth:`BudgetAlerter.fire`. This
module decides *what happens*, exactly once per project, UTC day and threshold, even with
several gateway instances: the ``budget_alerts`` row is the claim (unique key), then

- a line ``<ts> WARN budget ...`` is appended to ``<home>/traces/alerts.log`` and logged
  on the ``promptyard.tracing`` logger at WARNING;
- ``PROMPTYARD_BUDGET_WEBHOOK_URL``, when set, receives a JSON POST (5 s timeout; the
  outcome is stored on the row and failures are counted in a metric).

``fire`` never blocks the request path and never raises: the work runs on one background
thread. ``fire_now`` does the same synchronously and says whether this call fired.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from promptyard.errors import StoreError
from promptyard.store.db import Database
from promptyard.store.tables.tracing import BudgetAlertRow
from promptyard.tracing.metrics import Metrics

log = logging.getLogger("promptyard.tracing")


class BudgetEventLike(Protocol):
    """What ``gateway/budget.py`` emits when a threshold is crossed."""

    @property
    def project(self) -> str: ...
    @property
    def day(self) -> str: ...
    @property
    def threshold_pct(self) -> int: ...
    @property
    def spent_usd(self) -> float: ...
    @property
    def budget_usd(self) -> float: ...
    @property
    def at(self) -> datetime: ...


class BudgetAlert(BaseModel):
    project: str
    day: date
    """The UTC day whose spend crossed the threshold."""
    threshold: float
    """Fraction of the daily budget: 0.5, 0.8, 1.0 ..."""
    spent_usd: float
    budget_usd: float
    fired_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def line(self) -> str:
        return (
            f"{self.fired_at.astimezone(UTC).isoformat(timespec='milliseconds').replace('+00:00', 'Z')} WARN budget "
            f"project={self.project} day={self.day.isoformat()} threshold={self.threshold:.0%} "
            f"spent_usd={self.spent_usd:.4f} budget_usd={self.budget_usd:.2f}"
        )

    def payload(self) -> dict[str, Any]:
        return {"type": "budget_threshold_crossed", **self.model_dump(mode="json")}


class BudgetAlerter:
    def __init__(
        self,
        *,
        log_path: Path,
        db: Database | None = None,
        webhook_url: str | None = None,
        metrics: Metrics | None = None,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.log_path = log_path
        self.db = db
        self.webhook_url = webhook_url
        self.metrics = metrics
        self._timeout_s = timeout_s
        self._transport = transport
        self._fired: set[tuple[str, date, float]] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[bool]] = []

    def fire(self, alert: BudgetAlert) -> None:
        """Queue the alert; returns at once and never raises."""
        try:
            if self._key(alert) in self._fired:
                return
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="promptyard-alerts")
                self._pending = [f for f in self._pending if not f.done()]
                self._pending.append(self._pool.submit(self._safe_fire, alert))
        except Exception as exc:  # noqa: BLE001 - an alert must never break a request; it is logged
            log.error("budget alert could not be queued: %s (%s)", exc, alert.line())

    def on_budget_event(self, event: BudgetEventLike) -> None:
        """Adapter for ``gateway.budget.BudgetEvent`` (``threshold_pct``, ``day`` as text)."""
        try:
            alert = BudgetAlert(
                project=event.project,
                day=date.fromisoformat(str(event.day)),
                threshold=event.threshold_pct / 100.0,
                spent_usd=event.spent_usd,
                budget_usd=event.budget_usd,
                fired_at=event.at,
            )
        except (ValueError, TypeError) as exc:
            log.error("unusable budget event %r: %s", event, exc)
            return
        self.fire(alert)

    def fire_now(self, alert: BudgetAlert) -> bool:
        """Fire synchronously. False when this threshold already fired today (anywhere)."""
        key = self._key(alert)
        with self._lock:
            if key in self._fired:
                return False
            self._fired.add(key)
        if not self._claim(alert):
            return False
        self._write_line(alert)
        log.warning("%s", alert.line())
        if self.metrics is not None:
            self.metrics.budget_alerts.labels(alert.project).inc()
        if self.webhook_url:
            status = self._call_webhook(alert)
            self._set_status(alert, status)
        return True

    def fired(self, day: date | None = None) -> list[BudgetAlert]:
        """Alerts stored for ``day`` (every day when unset), oldest first."""
        if self.db is None:
            return []
        with self.db.session() as s:
            q = select(BudgetAlertRow).order_by(BudgetAlertRow.fired_at)
            if day is not None:
                q = q.where(BudgetAlertRow.day == day)
            return [_to_alert(r) for r in s.scalars(q)]

    def flush(self, timeout: float = 30.0) -> bool:
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            try:
                future.result(timeout=timeout)
            except TimeoutError:
                return False
        return True

    def close(self) -> None:
        self.flush()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    # ---- internals ------------------------------------------------------------------------
    @staticmethod
    def _key(alert: BudgetAlert) -> tuple[str, date, float]:
        return (alert.project, alert.day, round(alert.threshold, 6))

    def _safe_fire(self, alert: BudgetAlert) -> bool:
        try:
            return self.fire_now(alert)
        except Exception as exc:  # noqa: BLE001 - background thread: log, never lose the line
            log.error("budget alert failed: %s (%s)", exc, alert.line())
            return False

    def _claim(self, alert: BudgetAlert) -> bool:
        if self.db is None:
            return True
        row = BudgetAlertRow(
            project=alert.project,
            day=alert.day,
            threshold=round(alert.threshold, 6),
            spent_usd=alert.spent_usd,
            budget_usd=alert.budget_usd,
            fired_at=alert.fired_at,
        )
        try:
            with self.db.session() as s:
                s.add(row)
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                return False  # another instance fired it first
            raise
        return True

    def _write_line(self, alert: BudgetAlert) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (alert.line() + "\n").encode())
        finally:
            os.close(fd)

    def _call_webhook(self, alert: BudgetAlert) -> str:
        assert self.webhook_url is not None
        try:
            with httpx.Client(timeout=self._timeout_s, transport=self._transport) as client:
                response = client.post(self.webhook_url, json=alert.payload())
            status = str(response.status_code)
            if response.is_success:
                return status
            log.error("budget webhook answered %s for %s", status, alert.line())
        except httpx.HTTPError as exc:
            status = f"error: {exc.__class__.__name__}: {exc}"[:200]
            log.error("budget webhook failed (%s) for %s", exc, alert.line())
        if self.metrics is not None:
            self.metrics.webhook_failures.inc()
        return status

    def _set_status(self, alert: BudgetAlert, status: str) -> None:
        if self.db is None:
            return
        with self.db.session() as s:
            s.execute(
                update(BudgetAlertRow)
                .where(
                    BudgetAlertRow.project == alert.project,
                    BudgetAlertRow.day == alert.day,
                    BudgetAlertRow.threshold == round(alert.threshold, 6),
                )
                .values(webhook_status=status)
            )


def _to_alert(row: BudgetAlertRow) -> BudgetAlert:
    fired_at = row.fired_at if row.fired_at.tzinfo else row.fired_at.replace(tzinfo=UTC)
    return BudgetAlert(
        project=row.project,
        day=row.day,
        threshold=row.threshold,
        spent_usd=row.spent_usd,
        budget_usd=row.budget_usd,
        fired_at=fired_at,
    )
