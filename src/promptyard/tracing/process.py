"""The trace writer in its own process: the request path keeps the GIL for microseconds only.

``PROMPTYARD_TRACE_WRITER=process`` (and ``auto``, the default, in a server). The in-thread
:class:`TraceWriter` made every request that arrived while it encoded and wrote a batch wait
for the GIL (up to the 5 ms switch interval per hand-over, 20-40 ms at p99 through the HTTP
server). Here:

* ``record()`` (request path) encodes the trace to one JSON line (pydantic-core, ~3 µs),
  feeds the Prometheus observers that one trace, and appends the line to a bounded deque;
  it never blocks, never raises, and counts what it cannot take (``queue_full``, ``closed``,
  ``error``), like the thread writer;
* one feeder thread hands the queued lines to the writer process through a pipe: a
  ``b"".join`` and an ``os.write`` that releases the GIL while the pipe is full, so a full
  pipe (a slow database) backs up into the bounded deque, not into memory without bound;
* the writer process (:mod:`promptyard.tracing.worker`) parses the lines and runs the
  ordinary :class:`TraceWriter` with the configured sinks (redaction, retries, batching), never
  dropping for lack of room: it stops reading the pipe instead;
* it reports its counters back on a second pipe, so ``stats()``, ``flush()`` and the
  ``promptyard_traces_*`` metrics work as before. If it dies, the traces it had not written are
  counted as dropped (``process``) and a new one is started for what follows.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Any

from pydantic import SecretStr

from promptyard.settings import Settings
from promptyard.tracing.model import Trace
from promptyard.tracing.writer import DropAccounting, WriterStats, fork_hook

log = logging.getLogger("promptyard.tracing")

TraceObserver = Callable[[Trace], None]
"""Called with each trace as it is recorded (the Prometheus metrics)."""

FLUSH = b"!flush "
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux fcntl: grow the pipe so a burst rarely waits for the reader


def settings_payload(settings: Settings) -> dict[str, Any]:
    """Every setting as JSON, secrets included (the pipe is private to the two processes)."""
    data = settings.model_dump(mode="json")
    for name, value in settings:
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
    return data


class _Marker:
    def __init__(self, ident: int) -> None:
        self.ident = ident
        self.done = threading.Event()


class ProcessTraceWriter(DropAccounting):
    """Same contract as :class:`TraceWriter` (record, stats, flush, close), sinks in a child process."""

    def __init__(
        self,
        settings: Settings,
        *,
        sink_names: Sequence[str] = (),
        queue_size: int = 10_000,
        batch_size: int = 256,
        flush_interval_s: float = 0.2,
        observers: Sequence[TraceObserver] = (),
        warn_every_s: float = 10.0,
    ) -> None:
        self._payload = {
            "settings": settings_payload(settings),
            "queue_size": max(1, queue_size),
            "batch_size": max(1, batch_size),
            "flush_interval_s": flush_interval_s,
        }
        self.sink_names = list(sink_names)
        self._queue: deque[bytes | _Marker] = deque()
        self._queue_size = max(1, queue_size)
        self._batch_size = max(1, batch_size)
        self._interval = flush_interval_s
        self._observers = list(observers)
        self._warn_every_s = warn_every_s
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._accepted = 0
        self._dropped: dict[str, int] = {}
        self._last_warning = 0.0
        self._unwarned = 0
        self._observer_failed_at = 0.0
        self._markers: dict[int, _Marker] = {}
        self._next_marker = 0
        # the current writer process, and what earlier ones (restarted after a crash) reported
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._sent = 0
        self._lost_sent = 0
        """Traces handed to a writer process that died before writing them."""
        self._child = WriterStats()
        self._base = WriterStats()
        os.register_at_fork(after_in_child=fork_hook(weakref.ref(self)))

    # ---- request path ---------------------------------------------------------------
    def record(self, trace: Trace) -> None:
        """Queue a trace for writing. Never blocks, never raises."""
        try:
            if self._closed:
                self._drop("closed", 1)
                return
            if not isinstance(trace, Trace):
                raise TypeError(f"not a Trace: {type(trace).__name__}")
            if len(self._queue) >= self._queue_size:
                self._drop("queue_full", 1)
                return
            self._queue.append(trace.__pydantic_serializer__.to_json(trace) + b"\n")
            self._accepted += 1
            if self._thread is None:
                self._start()
            elif len(self._queue) >= self._batch_size and not self._wake.is_set():
                self._wake.set()
        except Exception:  # noqa: BLE001 - record() must never break a request; the loss is counted
            self._drop("error", 1)
            return
        for observer in self._observers:
            try:
                observer(trace)
            except Exception as exc:  # noqa: BLE001 - metrics must not stop trace writing
                now = time.monotonic()
                if now - self._observer_failed_at >= self._warn_every_s:
                    self._observer_failed_at = now
                    log.warning("trace observer %r failed: %s", observer, exc)

    # ---- control ----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> bool:
        """Start the writer process now (server start-up) instead of at the first trace.

        Waits until it has built its sinks, so its start-up (imports, database) does not
        compete with the first requests. True when it reported ready within ``timeout``.
        """
        if self._closed:
            return False
        self._start()
        return self.flush(timeout)

    @property
    def depth(self) -> int:
        """Traces accepted and not yet handled by a sink (in this process or the writer process)."""
        with self._lock:
            in_child = self._sent - self._base.processed - self._child.processed - self._lost_sent
        return sum(1 for item in list(self._queue) if not isinstance(item, _Marker)) + max(0, in_child)

    def stats(self) -> WriterStats:
        with self._lock:
            base, child = self._base, self._child
            written = _add(base.written, child.written)
            for name in self.sink_names:
                written.setdefault(name, 0)
            stats = WriterStats(
                accepted=self._accepted,
                processed=base.processed + child.processed,
                written=written,
                dropped=_add(_add(base.dropped, child.dropped), self._dropped),
                sink_errors=_add(base.sink_errors, child.sink_errors),
            )
        stats.queue_depth = self.depth
        return stats

    @property
    def dropped_total(self) -> int:
        return sum(self.stats().dropped.values())

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every trace recorded before this call went through the sinks."""
        if self._thread is None:
            return not self._queue
        if self._closed:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        with self._lock:
            self._next_marker += 1
            marker = _Marker(self._next_marker)
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting traces, hand over what is queued, wait for the writer process. Idempotent."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is None:
            return
        self._wake.set()
        thread.join(timeout)
        if thread.is_alive():
            lost = self.depth
            log.error("trace writer process did not finish within %.0fs; %d traces not written", timeout, lost)
            self._drop("closed", lost)

    def _after_fork(self) -> None:
        """A forked child starts its own feeder and writer process; the parent's queue is not its own."""
        self._thread = self._proc = self._reader = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._queue = deque()
        self._markers = {}

    # ---- feeder thread --------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="promptyard-trace-feeder", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._pump()
            if self._closed and not self._queue:
                break
        self._stop_child()

    def _pump(self) -> None:
        while self._queue:
            lines: list[bytes] = []
            marker: _Marker | None = None
            while self._queue and len(lines) < self._batch_size:
                item = self._queue.popleft()
                if isinstance(item, _Marker):
                    marker = item
                    break
                lines.append(item)
            if marker is not None:
                lines.append(FLUSH + str(marker.ident).encode() + b"\n")
            sent = self._send(b"".join(lines), len(lines) - (marker is not None), marker)
            if marker is not None and not sent:
                marker.done.set()  # no writer process to answer; the loss is counted

    def _send(self, data: bytes, traces: int, marker: _Marker | None) -> bool:
        for attempt in (1, 2):
            proc = self._proc if self._proc is not None and self._proc.poll() is None else self._spawn()
            if proc is None:
                break
            if marker is not None:
                with self._lock:  # before the write: the answer may come back at once
                    self._markers[marker.ident] = marker
            try:
                assert proc.stdin is not None
                _write_all(proc.stdin.fileno(), data)
            except OSError as exc:
                log.error("trace writer process is gone (%s); starting a new one", exc)
                self._reap(proc)
                if attempt == 2:
                    break
                continue
            with self._lock:
                self._sent += traces
            return True
        self._drop("process", traces)
        return False

    # ---- the writer process -----------------------------------------------------------------
    def _spawn(self) -> subprocess.Popen[bytes] | None:
        if self._proc is not None:
            self._reap(self._proc)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "promptyard.tracing.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C to the server must not kill it before it drains
            )
            assert proc.stdin is not None
            assert proc.stdout is not None
            _grow_pipe(proc.stdin.fileno())
            _write_all(proc.stdin.fileno(), json.dumps(self._payload).encode() + b"\n")
        except OSError as exc:
            log.error("could not start the trace writer process: %s", exc)
            return None
        self._proc = proc
        self._reader = threading.Thread(
            target=self._read_reports, args=(proc.stdout,), name="promptyard-trace-reports", daemon=True
        )
        self._reader.start()
        return proc

    def _read_reports(self, stream: IO[bytes]) -> None:
        for line in stream:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self._child = WriterStats(**report["stats"])
                flushed = report.get("flushed")
                done = [m for i, m in self._markers.items() if flushed is not None and i <= flushed]
                for marker in done:
                    del self._markers[marker.ident]
            for marker in done:
                marker.done.set()

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        """A writer process ended (crash or close): keep its counters, count what it never wrote."""
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join(10)
        with self._lock:
            child = self._child
            lost = self._sent - self._base.processed - child.processed - self._lost_sent
            self._lost_sent += max(0, lost)
            self._base = WriterStats(
                processed=self._base.processed + child.processed,
                written=_add(self._base.written, child.written),
                dropped=_add(self._base.dropped, child.dropped),
                sink_errors=_add(self._base.sink_errors, child.sink_errors),
            )
            self._child = WriterStats()
            markers, self._markers = list(self._markers.values()), {}
        if lost > 0:
            self._drop("process", lost)
        for marker in markers:  # nobody is left to answer them; the loss is counted above
            marker.done.set()
        if self._proc is proc:
            self._proc = self._reader = None

    def _stop_child(self) -> None:
        if self._proc is not None:
            self._reap(self._proc)

    def _drop_counts(self) -> dict[str, int]:
        return self._dropped


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, n in b.items():
        out[key] = out.get(key, 0) + n
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _grow_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, OSError):  # not Linux, or above /proc/sys/fs/pipe-max-size: the default size
        pass
