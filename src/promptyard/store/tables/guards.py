"""Guard tables: verdict counts per day (the dashboard's guard table, kept by the SQL trace sink)
and stored verdicts (a text checked once, e.g. a chunk at ingest, is not checked again).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promptyard.store.base import Base, UTCDateTime


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


class GuardVerdictRow(Base):
    __tablename__ = "guard_verdicts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """BLAKE2 of the guard's detection settings and the text (never the text itself)."""
    guard: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(Text)
    """The verdict as JSON (score, spans, reason)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
