"""The background trace writer: a bounded queue, batching, one thread, never blocking.

``record()`` is on the request path. It appends to a bounded deque and returns: it never
blocks, never does I/O and never raises. When the queue is full the trace is *counted* as
dropped (``stats().dropped["queue_full"]``, the ``promptyard_traces_dropped_total``
metric) and a rate-limited warning is logged: never silent. One daemon thread drains the
queue in batches of ``batch_size`` (or every ``flush_interval_s``), redacts, and hands each
batch to every sink. A failing sink is retried with backoff (capped at 1 s) for
``retry_for_s`` (``PROMPTYARD_TRACE_SINK_RETRY_S``: a database restart loses no trace)
while the queue has room, then the batch is counted as dropped for that sink; the other
sinks are unaffected. ``close()`` (on SIGTERM, through the server's shutdown) flushes
everything still queued, then closes the sinks. A ``kill -9`` loses what is queued: at most
``flush_interval_s`` of traces plus the batch being written.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from promptyard.settings import RedactMode
from promptyard.tracing.base import TraceSink
from promptyard.tracing.model import Trace
from promptyard.tracing.redact import redact

log = logging.getLogger("promptyard.tracing")

BatchObserver = Callable[[Sequence[Trace]], None]


@dataclass
class WriterStats:
    accepted: int = 0
    processed: int = 0
    written: dict[str, int] = field(default_factory=dict)
    """Traces each sink stored."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Traces lost, by reason: ``queue_full``, ``closed``, ``error``, ``sink:<name>``."""
    sink_errors: dict[str, int] = field(default_factory=dict)
    """Failed write attempts per sink (retried ones included)."""
    queue_depth: int = 0


class _Marker:
    """Put in the queue by flush(): set once everything before it is written."""

    def __init__(self) -> None:
        self.done = threading.Event()


class DropAccounting:
    """Counting dropped traces with a rate-limited warning: shared by both trace writers.

    The writer holds ``_lock``, ``_warn_every_s``, ``_last_warning`` and ``_unwarned`` and says
    where its counts live (:meth:`_drop_counts`); the counts change under ``_lock`` only.
    """

    _lock: threading.Lock
    _warn_every_s: float
    _last_warning: float
    _unwarned: int

    def _drop_counts(self) -> dict[str, int]:
        raise NotImplementedError

    def _drop(self, reason: str, n: int) -> None:
        if n <= 0:
            return
        with self._lock:
            counts = self._drop_counts()
            counts[reason] = counts.get(reason, 0) + n
            self._unwarned += n
            now = time.monotonic()
            if now - self._last_warning < self._warn_every_s:
                return
            self._last_warning, unwarned, self._unwarned = now, self._unwarned, 0
            total = sum(counts.values())
        log.warning("%d traces dropped (latest reason: %s); %d dropped here since start", unwarned, reason, total)


class _Forkable(Protocol):
    def _after_fork(self) -> None: ...


def fork_hook(ref: weakref.ref[_Forkable]) -> Callable[[], None]:
    """For ``os.register_at_fork``: a forked child resets the writer (no threads came with it)."""

    def hook() -> None:
        writer = ref()
        if writer is not None:
            writer._after_fork()

    return hook


class TraceWriter(DropAccounting):
    def __init__(
        self,
        sinks: Sequence[TraceSink],
        *,
        queue_size: int = 10_000,
        batch_size: int = 256,
        flush_interval_s: float = 0.2,
        redact_mode: RedactMode = "none",
        observers: Sequence[BatchObserver] = (),
        max_attempts: int = 3,
        retry_base_s: float = 0.2,
        warn_every_s: float = 10.0,
        retry_for_s: float = 0.0,
    ) -> None:
        self.sinks = list(sinks)
        self._queue: deque[Trace | _Marker] = deque()
        self._queue_size = max(1, queue_size)
        self._batch_size = max(1, batch_size)
        self._interval = flush_interval_s
        self._redact: RedactMode = redact_mode
        self._observers = list(observers)
        self._max_attempts = max(1, max_attempts)
        self._retry_base_s = retry_base_s
        self._warn_every_s = warn_every_s
        self._retry_for_s = retry_for_s
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stats = WriterStats(
            written=dict.fromkeys((s.name for s in self.sinks), 0),
            sink_errors=dict.fromkeys((s.name for s in self.sinks), 0),
        )
        self._last_warning = 0.0
        self._unwarned = 0
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
            self._queue.append(trace)
            self._stats.accepted += 1
            if self._thread is None:
                self._start()
            elif len(self._queue) >= self._batch_size and not self._wake.is_set():
                self._wake.set()
        except Exception:  # noqa: BLE001 - record() must never break a request; the loss is counted
            self._drop("error", 1)

    # ---- control ----------------------------------------------------------------------
    @property
    def depth(self) -> int:
        return len(self._queue)

    def stats(self) -> WriterStats:
        with self._lock:
            return WriterStats(
                accepted=self._stats.accepted,
                processed=self._stats.processed,
                written=dict(self._stats.written),
                dropped=dict(self._stats.dropped),
                sink_errors=dict(self._stats.sink_errors),
                queue_depth=self.depth,
            )

    @property
    def dropped_total(self) -> int:
        with self._lock:
            return sum(self._stats.dropped.values())

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every trace recorded before this call went through the sinks."""
        if self._thread is None:
            return not self._queue
        marker = _Marker()
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting traces, write what is queued, close the sinks. Idempotent."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._wake.set()
            thread.join(timeout)
            if thread.is_alive():
                lost = self.depth
                log.error("trace writer did not finish within %.0fs; %d traces still queued", timeout, lost)
                self._drop("closed", lost)
                return
        self._drain()  # never started, or items queued after the thread ended
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:  # noqa: BLE001 - shutdown goes on; the failure is logged
                log.error("trace sink %s failed to close: %s", sink.name, exc)

    def _after_fork(self) -> None:
        """A forked child has no writer thread: start a fresh one on its first record()."""
        self._thread = None
        self._lock = threading.Lock()
        self._wake = threading.Event()

    # ---- writer thread ------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="promptyard-trace-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._drain()
            if self._closed and not self._queue:
                return

    def _drain(self) -> None:
        while self._queue:
            batch: list[Trace] = []
            markers: list[_Marker] = []
            while self._queue and len(batch) < self._batch_size:
                item = self._queue.popleft()
                if isinstance(item, _Marker):
                    markers.append(item)
                    break
                batch.append(item)
            if batch:
                self._dispatch(batch)
            for marker in markers:
                marker.done.set()

    def _dispatch(self, batch: list[Trace]) -> None:
        try:
            ready = [redact(t, self._redact) for t in batch]
        except Exception as exc:  # noqa: BLE001 - counted and logged; never written unredacted
            log.error("trace redaction failed, %d traces dropped: %s", len(batch), exc)
            self._drop("error", len(batch))
            return
        for sink in self.sinks:
            self._write(sink, ready)
        for observer in self._observers:
            try:
                observer(ready)
            except Exception as exc:  # noqa: BLE001 - metrics must not stop trace writing
                log.warning("trace observer %r failed: %s", observer, exc)
        with self._lock:
            self._stats.processed += len(batch)

    def _give_up(self, attempt: int, started: float) -> bool:
        """After ``max_attempts``: keep retrying through an outage of up to ``retry_for_s`` while the
        queue has room and the writer is open (back-pressure on the queue, not on requests)."""
        if attempt < self._max_attempts:
            return False
        return self._closed or time.monotonic() - started >= self._retry_for_s or len(self._queue) >= self._queue_size

    def _write(self, sink: TraceSink, batch: list[Trace]) -> None:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                sink.write(batch)
            except Exception as exc:  # noqa: BLE001 - retried, then counted as dropped for this sink
                with self._lock:
                    self._stats.sink_errors[sink.name] = self._stats.sink_errors.get(sink.name, 0) + 1
                if self._give_up(attempt, started):
                    log.error(
                        "trace sink %s failed %d times; %d traces not written there: %s",
                        sink.name,
                        attempt,
                        len(batch),
                        exc,
                    )
                    self._drop(f"sink:{sink.name}", len(batch))
                    return
                if attempt <= self._max_attempts or attempt % 10 == 0:
                    log.warning("trace sink %s failed (attempt %d), retrying: %s", sink.name, attempt, exc)
                time.sleep(min(self._retry_base_s * 2 ** (attempt - 1), 1.0))
            else:
                with self._lock:
                    self._stats.written[sink.name] = self._stats.written.get(sink.name, 0) + len(batch)
                return

    def _drop_counts(self) -> dict[str, int]:
        return self._stats.dropped
