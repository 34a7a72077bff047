"""Append-only JSONL files, one per UTC day, never a torn or interleaved line.

Each batch is grouped by day and written with **one** ``write()`` per file on a
descriptor opened with ``O_APPEND``: the kernel places each write at the end of the file
as a unit, so lines from several processes (``serve --workers N``) never interleave, and
within a process the single writer thread is the only writer. If the previous process
crashed mid-line, a newline is written first so the torn fragment stays on its own line,
where every reader skips it with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.tracing.files import day_file, trace_dir, utc_day
from promptyard.tracing.model import Trace

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def encode(trace: Trace) -> bytes:
    """One trace as one JSON line (no newline inside: JSON escapes them)."""
    return trace.model_dump_json().encode() + b"\n"


class JsonlSink:
    name = "jsonl"

    def __init__(self, directory: Path, *, open_files: int = 2) -> None:
        self.directory = directory
        self._fds: dict[date, int] = {}
        self._open_files = max(1, open_files)

    def write(self, traces: Sequence[Trace]) -> None:
        by_day: dict[date, list[bytes]] = {}
        for trace in traces:
            by_day.setdefault(utc_day(trace.timestamp), []).append(encode(trace))
        for day in sorted(by_day):
            _write_all(self._fd(day), b"".join(by_day[day]))
        self._close_old()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def _fd(self, day: date) -> int:
        fd = self._fds.get(day)
        if fd is not None:
            return fd
        self.directory.mkdir(parents=True, exist_ok=True)
        path = day_file(self.directory, day)
        fd = os.open(path, _FLAGS, 0o640)
        if _ends_mid_line(path):
            _write_all(fd, b"\n")
        self._fds[day] = fd
        return fd

    def _close_old(self) -> None:
        while len(self._fds) > self._open_files:
            oldest = min(self._fds)
            os.close(self._fds.pop(oldest))


def _ends_mid_line(path: Path) -> bool:
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as fh:
        fh.seek(size - 1)
        return fh.read(1) != b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def create(settings: Settings, db: Database) -> JsonlSink:
    """Entry point ``promptyard.trace_sinks: jsonl``: ``<home>/traces``."""
    return JsonlSink(trace_dir(settings.home))
