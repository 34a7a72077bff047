"""Append-only JSONL files, one per UTC day, never a torn or interleaved line.

Each batch is grouped by day and written with **one** ``write()`` per file on a
descriptor opened with ``O_APPEND``, under an advisory ``flock`` shared by every
promptyard process appending to that file: lines from several processes
(``serve --workers N``) never interleave, and within a process the single writer thread is
the only writer. If a previous process crashed mid-line, a newline is written first (under
the same lock, so never while another process is mid-write) and the torn fragment stays on
its own line, where every reader skips it with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.tracing.files import day_file, trace_dir, utc_day
from promptyard.tracing.model import Trace

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

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
            fd = self._fd(day)
            with _locked(fd):
                _write_all(fd, b"".join(by_day[day]))
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
        with _locked(fd):  # no other process is mid-write while we look at the last byte
            if _ends_mid_line(path):
                _write_all(fd, b"\n")
        self._fds[day] = fd
        return fd

    def _close_old(self) -> None:
        while len(self._fds) > self._open_files:
            oldest = min(self._fds)
            os.close(self._fds.pop(oldest))


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    """An advisory lock shared by every promptyard process appending to the same file."""
    if fcntl is None:  # pragma: no cover - not POSIX: O_APPEND alone
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


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
