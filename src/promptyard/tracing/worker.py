"""The trace writer process: ``python -m promptyard.tracing.worker``, started by :mod:`.process`.

Reads, on standard input, one JSON line of configuration (settings, queue and batch sizes),
then one JSON line per trace and ``!flush <n>`` markers. Runs the ordinary
:class:`~promptyard.tracing.writer.TraceWriter` with the configured sinks. It never drops a
trace for lack of room: when its queue is full it stops reading, and the pipe backs up into
the server's bounded queue. It reports its counters as JSON lines on standard output, every
half second, after each flush marker (``"flushed": n``) and once more after its final
flush when standard input closes (the server closing, or dying).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from typing import IO, Any

from promptyard.settings import Settings
from promptyard.store.db import Database
from promptyard.tracing.model import Trace
from promptyard.tracing.process import FLUSH
from promptyard.tracing.setup import build_sinks, online_observers
from promptyard.tracing.writer import TraceWriter

log = logging.getLogger("promptyard.tracing")
_REPORT_EVERY_S = 0.5


class Reporter:
    def __init__(self, out: IO[bytes], writer: TraceWriter) -> None:
        self.out = out
        self.writer = writer
        self.lock = threading.Lock()
        self.parse_errors = 0

    def send(self, flushed: int | None = None) -> None:
        stats = asdict(self.writer.stats())
        if self.parse_errors:
            stats["dropped"]["error"] = stats["dropped"].get("error", 0) + self.parse_errors
        line = json.dumps({"stats": stats, "flushed": flushed}).encode() + b"\n"
        with self.lock:
            try:
                self.out.write(line)
                self.out.flush()
            except (BrokenPipeError, ValueError):  # the server went away; the traces are still written
                pass

    def every(self, seconds: float, stop: threading.Event) -> None:
        while not stop.wait(seconds):
            self.send()


def serve(stdin: IO[bytes], out: IO[bytes]) -> None:
    config: dict[str, Any] = json.loads(stdin.readline())
    settings = Settings.model_validate(config["settings"])
    if settings.trace_writer_nice and hasattr(os, "nice"):
        os.nice(settings.trace_writer_nice)
    db: Database | None = None

    def database() -> Database:
        nonlocal db
        if db is None:
            db = Database(settings.resolved_database_url, migrate=False)  # the server migrated it
        return db

    queue_size = int(config["queue_size"])
    writer = TraceWriter(
        build_sinks(settings, database),
        queue_size=queue_size,
        batch_size=int(config["batch_size"]),
        flush_interval_s=float(config["flush_interval_s"]),
        redact_mode=settings.trace_redact,
        retry_for_s=settings.trace_sink_retry_s,
        observers=online_observers(settings, database),  # the online evaluators score here, off the server
    )
    reporter = Reporter(out, writer)
    stop = threading.Event()
    threading.Thread(target=reporter.every, args=(_REPORT_EVERY_S, stop), daemon=True).start()
    for line in stdin:
        if line.startswith(FLUSH):
            writer.flush(3600)
            reporter.send(flushed=int(line[len(FLUSH) :]))
            continue
        while writer.depth >= queue_size:  # back-pressure instead of a drop
            time.sleep(0.002)
        try:
            trace = Trace.model_validate_json(line)
        except ValueError as exc:
            reporter.parse_errors += 1
            log.error("unreadable trace line from the server, dropped: %s", exc)
            continue
        writer.record(trace)
    writer.close(3600)
    stop.set()
    reporter.send()
    if db is not None:
        db.dispose()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # shutdown is the server closing our stdin
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt the reports
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
