"""Daily budgets per project: spend recorded with each call, WARN events at 80% and 100%.

``record`` adds a call's cost to the day's total atomically (see :mod:`.spend_counters`),
buffers it for the database (see :mod:`.spend_store`), and, when the total crosses 80%
or 100% of ``PROMPTYARD_DAILY_BUDGET_USD``, emits one WARN event per threshold per day:
a counter (``stats.budget_warnings``), an entry in :attr:`BudgetTracker.events`, a flag
on the crossing call's trace (``budget_80`` / ``budget_100``), and the alert sink
(``runtime.alerts``: a WARN line in the trace log, a row, the webhook if
``PROMPTYARD_BUDGET_WEBHOOK_URL`` is set); without a sink, a WARNING log record.
``check`` refuses calls with :class:`BudgetExceeded` once the budget is spent, when the
hard stop is on.

Concurrency: with the hard stop on, ``check`` reserves the call's estimated cost (prompt
tokens plus ``max_tokens``, or ``PROMPTYARD_BUDGET_ESTIMATE_OUTPUT_TOKENS``, at the primary
model's price) in the same atomic step that compares the day's total with the budget, and
``record`` settles the difference once the real cost is known. Every instance sharing the
Redis counter sees every other's in-flight reservations, so the day's spend ends at most one
call's estimate over the budget (while actual costs stay within their estimates); every cent
spent is recorded exactly.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from promptyard.errors import BudgetExceeded
from promptyard.gateway.spend_counters import MemorySpendCounter, SpendCounter
from promptyard.gateway.spend_store import SpendStore
from promptyard.gateway.stats import GatewayStats
from promptyard.providers.base import Usage
from promptyard.settings import Settings

if TYPE_CHECKING:
    from promptyard.gateway.engine import CostFn
    from promptyard.gateway.plan import Plan

log = logging.getLogger("promptyard.budget")

THRESHOLDS = (80, 100)


def estimate_cost(plan: Plan, cost: CostFn, settings: Settings) -> float:
    """A call's cost bound for the reservation: its prompt (characters / 4) plus ``max_tokens`` (or
    ``PROMPTYARD_BUDGET_ESTIMATE_OUTPUT_TOKENS``) at the primary model's price."""
    out = plan.request.max_tokens or settings.budget_estimate_output_tokens
    usage = Usage(input_tokens=plan.prompt_chars // 4 + 1, output_tokens=out)
    return cost(plan.target.provider, plan.target.model, usage)


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    project: str
    day: str
    threshold_pct: int
    spent_usd: float
    budget_usd: float
    at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "event": "budget_threshold",
            "level": "WARN",
            "project": self.project,
            "day": self.day,
            "threshold_pct": self.threshold_pct,
            "spent_usd": round(self.spent_usd, 6),
            "budget_usd": self.budget_usd,
            "at": self.at.isoformat(),
        }


class BudgetTracker:
    def __init__(
        self,
        *,
        daily_budget_usd: float | None = None,
        hard_stop: bool = False,
        alert_sink: Callable[[BudgetEvent], None] | None = None,
        counter: SpendCounter | None = None,
        store: SpendStore | None = None,
        stats: GatewayStats | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.daily_budget_usd = daily_budget_usd
        self.hard_stop = hard_stop
        self.alert_sink = alert_sink
        self.counter: SpendCounter = counter or MemorySpendCounter()
        self.store = store
        self.stats = stats or GatewayStats()
        self.events: deque[BudgetEvent] = deque(maxlen=1000)
        self._clock = clock
        self._day_index = -1
        self._day = date(1970, 1, 1)
        self._day_str = ""
        self._seeded: set[tuple[str, str]] = set()
        self._fired: set[tuple[str, str, int]] = set()

    # ---- day -------------------------------------------------------------------------
    def _today(self) -> tuple[date, str]:
        now = self._clock()
        index = int(now // 86_400)
        if index != self._day_index:
            self._day_index = index
            self._day = datetime.fromtimestamp(now, UTC).date()
            self._day_str = self._day.isoformat()
            self._fired = {f for f in self._fired if f[1] == self._day_str}
        return self._day, self._day_str

    async def _seed(self, project: str, day: date, day_str: str, *, force: bool = False) -> None:
        """Once per project and day: start from the spend already persisted (restarts, other instances).

        ``force`` (the counter has no entry): also when the database is unreachable, the counter is
        seeded, from 0, so admission goes on; the loss is counted and logged."""
        key = (project, day_str)
        if key in self._seeded:
            return
        persisted = 0.0
        if self.store is not None:
            try:
                persisted = await self.store.aload(project, day) + self.store.pending(project, day)
            except Exception as exc:  # noqa: BLE001 - counted and logged; the budget starts from 0
                self.stats.budget_errors += 1
                log.warning("could not load today's spend for project %s: %s", project, exc)
                if not force:
                    self._seeded.add(key)
                    return
        await self.counter.seed(project, day_str, persisted)
        self._seeded.add(key)

    # ---- the two calls the pipeline makes ------------------------------------------------
    @property
    def reserving(self) -> bool:
        """True when calls reserve their estimated cost before running (a hard daily budget)."""
        return self.daily_budget_usd is not None and self.hard_stop

    async def check(self, project: str, estimate_usd: float = 0.0) -> float:
        """Admit a call or raise BudgetExceeded (hard stop on, today's budget spent).

        Admission reserves ``estimate_usd`` atomically (across instances when the counter is in
        Redis); returns what was reserved, which :meth:`record` settles. A counter outage lets
        the call through (fail open, counted in ``budget_errors`` and logged) and reserves 0.
        """
        budget = self.daily_budget_usd
        if budget is None or not self.hard_stop:
            return 0.0
        day, day_str = self._today()
        try:
            status, spent = await self.counter.reserve(project, day_str, estimate_usd, budget)
            if status == "unseeded":  # first call of the day here, or Redis lost its data: rebuild
                self._seeded.discard((project, day_str))
                await self._seed(project, day, day_str, force=True)
                status, spent = await self.counter.reserve(project, day_str, estimate_usd, budget)
        except Exception as exc:  # noqa: BLE001 - a budget backend outage must not take the gateway down
            self.stats.budget_errors += 1
            log.warning("budget check failed for project %s, letting the call through: %s", project, exc)
            return 0.0
        if status == "refused":
            self.stats.budget_refused += 1
            raise BudgetExceeded(
                f"daily budget of {budget:.2f} USD for project {project!r} is spent ({spent:.4f} USD today)",
                hint="raise PROMPTYARD_DAILY_BUDGET_USD, wait for 00:00 UTC, or turn off PROMPTYARD_BUDGET_HARD_STOP",
            )
        return estimate_usd if status == "ok" else 0.0

    async def record(self, project: str, usd: float, calls: int = 1, reserved: float = 0.0) -> list[str]:
        """Record a call's cost, settling what :meth:`check` reserved. Returns the thresholds crossed, as flags."""
        day, day_str = self._today()
        budget = self.daily_budget_usd
        active = budget is not None and bool(usd or reserved)
        if active:
            await self._seed(project, day, day_str)  # before buffering this call, so it is not seeded twice
        if self.store is not None and (usd or calls):
            self.store.add(project, day, usd, calls)
        if budget is None or not active:
            return []
        try:
            total = await self.counter.add(project, day_str, usd - reserved)
            if total is None:  # Redis lost the day's total: rebuild it from the database (this call included)
                self._seeded.discard((project, day_str))
                await self._seed(project, day, day_str, force=True)
                total = await self.counter.get(project, day_str)
        except Exception as exc:  # noqa: BLE001 - counted and logged; the database still gets the spend
            self.stats.budget_errors += 1
            log.warning("could not record spend for project %s: %s", project, exc)
            return []
        flags: list[str] = []
        for pct in THRESHOLDS:
            if total < budget * pct / 100.0 or (project, day_str, pct) in self._fired:
                continue
            self._fired.add((project, day_str, pct))
            try:
                first = await self.counter.first_alert(project, day_str, pct)
            except Exception as exc:  # noqa: BLE001
                self.stats.budget_errors += 1
                log.warning("budget alert flag failed for project %s: %s", project, exc)
                first = True
            if first:
                self._emit(BudgetEvent(project, day_str, pct, total, budget, datetime.now(UTC)))
                flags.append(f"budget_{pct}")
        return flags

    async def spent_today(self, project: str) -> float:
        day, day_str = self._today()
        await self._seed(project, day, day_str)
        return await self.counter.get(project, day_str)

    # ---- events ---------------------------------------------------------------------------
    def _emit(self, event: BudgetEvent) -> None:
        self.events.append(event)
        self.stats.budget_warnings += 1
        if self.alert_sink is None:
            log.warning(
                "budget: project %s reached %d%% of its daily budget (%.4f of %.2f USD on %s)",
                event.project,
                event.threshold_pct,
                event.spent_usd,
                event.budget_usd,
                event.day,
            )
            return
        try:
            self.alert_sink(event)
        except Exception as exc:  # noqa: BLE001 - an alert never fails the call that crossed the line
            self.stats.budget_errors += 1
            log.warning("budget alert sink failed: %s", exc)

    async def aclose(self) -> None:
        if self.store is not None:
            await self.store.aclose()
        await self.counter.aclose()
