"""Budget alerts: once per project, day and threshold, a WARN line, a row, a webhook."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from promptyard.store.db import Database
from promptyard.tracing.alerts import BudgetAlert, BudgetAlerter
from promptyard.tracing.metrics import Metrics

DAY = date(2026, 3, 14)


def alert(threshold: float = 0.8, spent: float = 8.5, day: date = DAY) -> BudgetAlert:
    return BudgetAlert(
        project="default",
        day=day,
        threshold=threshold,
        spent_usd=spent,
        budget_usd=10.0,
        fired_at=datetime(2026, 3, 14, 15, 30, tzinfo=UTC),
    )


class Hook:
    def __init__(self, status: int = 204) -> None:
        self.bodies: list[dict[str, object]] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(self.status)


def test_each_threshold_fires_once_per_day_across_instances(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hook = Hook()
    log_path = tmp_path / "traces" / "alerts.log"
    metrics = Metrics()

    def make() -> BudgetAlerter:
        return BudgetAlerter(
            log_path=log_path,
            db=db,
            webhook_url="http://hooks.local/budget",
            metrics=metrics,
            transport=httpx.MockTransport(hook),
        )

    first, second = make(), make()  # two gateway instances sharing one database
    caplog.set_level(logging.WARNING, "promptyard.tracing")
    assert first.fire_now(alert(0.8)) is True
    assert first.fire_now(alert(0.8, spent=9.0)) is False
    assert second.fire_now(alert(0.8)) is False  # claimed by the other instance
    assert second.fire_now(alert(1.0, spent=10.2)) is True
    assert first.fire_now(alert(0.8, day=date(2026, 3, 15))) is True  # a new day
    lines = log_path.read_text().splitlines()
    head = "2026-03-14T15:30:00.000Z WARN budget project=default"
    assert lines == [
        f"{head} day=2026-03-14 threshold=80% spent_usd=8.5000 budget_usd=10.00",
        f"{head} day=2026-03-14 threshold=100% spent_usd=10.2000 budget_usd=10.00",
        f"{head} day=2026-03-15 threshold=80% spent_usd=8.5000 budget_usd=10.00",
    ]
    assert caplog.text.count("WARN budget") == 3
    assert [(b["threshold"], b["day"]) for b in hook.bodies] == [
        (0.8, "2026-03-14"),
        (1.0, "2026-03-14"),
        (0.8, "2026-03-15"),
    ]
    assert hook.bodies[0]["type"] == "budget_threshold_crossed"
    stored = first.fired(DAY)
    assert [(a.threshold, a.spent_usd) for a in stored] == [(0.8, 8.5), (1.0, 10.2)]
    assert b'promptyard_budget_alerts_total{project="default"} 3.0' in metrics.render()


def test_webhook_failure_is_recorded_and_counted(db: Database, tmp_path: Path) -> None:
    metrics = Metrics()
    alerter = BudgetAlerter(
        log_path=tmp_path / "alerts.log",
        db=db,
        webhook_url="http://hooks.local/x",
        metrics=metrics,
        transport=httpx.MockTransport(Hook(status=500)),
    )
    assert alerter.fire_now(alert()) is True
    from sqlalchemy import select

    from promptyard.store.tables.tracing import BudgetAlertRow

    with db.session() as s:
        assert s.scalar(select(BudgetAlertRow.webhook_status)) == "500"
    assert b"promptyard_budget_webhook_failures_total 1.0" in metrics.render()


def test_fire_is_background_and_adapts_gateway_events(db: Database, tmp_path: Path) -> None:
    from promptyard.gateway.budget import BudgetEvent

    alerter = BudgetAlerter(log_path=tmp_path / "alerts.log", db=db)
    event = BudgetEvent("default", "2026-03-14", 100, 10.5, 10.0, datetime(2026, 3, 14, 18, 0, tzinfo=UTC))
    alerter.on_budget_event(event)
    alerter.on_budget_event(event)
    assert alerter.flush(10)
    [stored] = alerter.fired()
    assert (stored.threshold, stored.day, stored.spent_usd) == (1.0, DAY, 10.5)
    assert len((tmp_path / "alerts.log").read_text().splitlines()) == 1
    alerter.close()
