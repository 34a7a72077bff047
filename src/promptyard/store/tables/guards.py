"""Guard verdict counts per day, project, guard, outcome and prompt (the dashboard's guard table).

Maintained by the SQL trace sink in the same transaction as the trace summaries.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promptyard.store.base import Base


class GuardDailyRow(Base):
    __tablename__ = "guard_daily"
    __table_args__ = (UniqueConstraint("day", "project", "guard", "outcome", "prompt", name="uq_guard_daily_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    project: Mapped[str] = mapped_column(String(200))
    guard: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(String(200))
    """``''`` for chat calls."""
    count: Mapped[int] = mapped_column(Integer, default=0)
