"""Where trace files live and how their names map to UTC days.

One JSONL file per UTC day: ``<home>/traces/YYYY-MM-DD.jsonl``. A trace goes to the file
of its own ``timestamp`` (UTC), so files roll over at midnight and a trace id, whose first
12 hex digits are milliseconds since the epoch, tells which file holds it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

_FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl$")
_ID_RE = re.compile(r"^[0-9a-f]{12}[0-9a-f]+$")


def trace_dir(home: Path) -> Path:
    return home / "traces"


def day_file(directory: Path, day: date) -> Path:
    return directory / f"{day.isoformat()}.jsonl"


def utc_day(ts: datetime) -> date:
    """The UTC calendar day of ``ts`` (naive timestamps are taken as UTC)."""
    if ts.tzinfo is None:
        return ts.date()
    return ts.astimezone(UTC).date()


def day_of_file(path: Path) -> date | None:
    m = _FILE_RE.match(path.name)
    if m is None:
        return None
    try:
        return date.fromisoformat(m.group(1))
    except ValueError:
        return None


def day_files(directory: Path) -> list[tuple[date, Path]]:
    """Every ``YYYY-MM-DD.jsonl`` file in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = [(d, p) for p in directory.iterdir() if (d := day_of_file(p)) is not None]
    return sorted(found)


def day_of_trace_id(trace_id: str) -> date | None:
    """The UTC day encoded in a promptyard trace id, or ``None`` for foreign ids."""
    if not _ID_RE.match(trace_id) or len(trace_id) < 20:
        return None
    try:
        ms = int(trace_id[:12], 16)
        when = datetime.fromtimestamp(ms / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if not (2000 <= when.year <= 2200):
        return None
    return when.date()


def days_around(day: date) -> list[date]:
    """``day`` then its neighbours: a trace written just after midnight sits one file over."""
    return [day, day - timedelta(days=1), day + timedelta(days=1)]
