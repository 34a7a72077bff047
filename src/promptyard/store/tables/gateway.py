"""Gateway tables: daily spend per project (persisted in batches, off the request path)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from promptyard.store.base import Base, UTCDateTime, utcnow


class DailySpendRow(Base):
    """What a project spent on provider calls on one UTC day, summed over every gateway instance."""

    __tablename__ = "gateway_daily_spend"

    project: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    """Provider calls that were charged (cache hits are not)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
