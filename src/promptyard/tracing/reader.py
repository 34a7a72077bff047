"""Reading traces back from the JSONL files: show, grep, list.

Every reader goes through :class:`TraceReader`, which skips a line that does not parse
(a crash can leave a torn last line) with a warning naming the file and line, and counts
it in ``skipped``; it never crashes on one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from promptyard.errors import NotFound
from promptyard.tracing.files import day_file, day_files, day_of_trace_id, days_around
from promptyard.tracing.model import Trace

log = logging.getLogger("promptyard.tracing")


@dataclass
class CorruptLine:
    path: Path
    line: int
    error: str


@dataclass
class TraceReader:
    directory: Path
    skipped: list[CorruptLine] = field(default_factory=list)

    def iter_file(self, path: Path, *, contains: str | None = None) -> Iterator[Trace]:
        """Traces in one file, in write order. ``contains`` pre-filters raw lines (case-insensitive)."""
        needle = contains.lower().encode() if contains else None
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                if needle is not None and needle not in raw.lower():
                    continue
                try:
                    yield Trace.model_validate_json(raw)
                except ValidationError as exc:
                    self._corrupt(path, number, exc)

    def iter_days(
        self,
        since: date | None = None,
        until: date | None = None,
        *,
        newest_first: bool = False,
        contains: str | None = None,
    ) -> Iterator[Trace]:
        files = self._files(since, until)
        if newest_first:
            files.reverse()
        for _day, path in files:
            yield from self.iter_file(path, contains=contains)

    def find(self, trace_id: str) -> Trace:
        """The trace with this id; :class:`NotFound` names the days searched.

        The file of the day encoded in the id (and its neighbours) is read first; then
        every other file, newest first, so traces whose timestamp differs from their id
        (imported, or written with another clock) are still found.
        """
        needle = f'"trace_id":"{trace_id}"'
        day = day_of_trace_id(trace_id)
        first = [day_file(self.directory, d) for d in days_around(day)] if day else []
        files = day_files(self.directory)
        order = [p for p in first if p.exists()] + [p for _d, p in reversed(files) if p not in first]
        for path in order:
            for trace in self.iter_file(path, contains=needle):
                if trace.trace_id == trace_id:
                    return trace
        searched = sorted({d for d, _p in files} | (set(days_around(day)) if day else set()))
        span = f"{searched[0]} to {searched[-1]}" if searched else "no trace files"
        raise NotFound(
            f"no trace {trace_id!r} in {self.directory} (searched {span})",
            hint="check the id, or whether retention already purged it",
        )

    def grep(self, text: str, *, since: date | None = None, until: date | None = None, limit: int = 100) -> list[Trace]:
        """Traces whose JSON line contains ``text`` (case-insensitive), newest first."""
        out: list[Trace] = []
        files = self._files(since, until)
        for _day, path in reversed(files):
            found = list(self.iter_file(path, contains=text))
            out.extend(reversed(found))
            if len(out) >= limit:
                break
        return out[:limit]

    def _files(self, since: date | None, until: date | None) -> list[tuple[date, Path]]:
        return [
            (d, p)
            for d, p in day_files(self.directory)
            if (since is None or d >= since) and (until is None or d <= until)
        ]

    def _corrupt(self, path: Path, line: int, exc: Exception) -> None:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        self.skipped.append(CorruptLine(path, line, first))
        log.warning("skipped corrupt trace line %s:%d (%s)", path, line, first)
