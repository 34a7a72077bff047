"""Busy polling: keep the event loop awake for a moment after each request.

On a virtual machine a CPU with nothing to run halts, and waking it (the next request, the
upstream's reply) is a trip through the host's scheduler: tens of microseconds usually, and
now and then milliseconds, which is where a gateway's tail at low concurrency goes
(docs/benchmarks.md, "Busy polling"). With ``PROMPTYARD_SERVER_BUSY_POLL_US`` (default 300; 0: off), every HTTP
request starts (or extends) a window during which a task yields to the loop over and over,
so the loop polls its sockets without blocking and never sleeps between a request and the
next one that arrives within the window. The cost is CPU: a loop that gets a request at
least every window keeps one core busy; an idle server spins for one window and sleeps.
"""

from __future__ import annotations

import asyncio
import time


class BusyPoll:
    """A spin window of ``window_us`` microseconds, renewed by :meth:`touch` (0 turns it off)."""

    def __init__(self, window_us: int) -> None:
        self.window = window_us / 1_000_000
        self._until = 0.0
        self._task: asyncio.Task[None] | None = None
        self.spins = 0
        """Loop iterations spent polling (for tests and metrics)."""

    def touch(self) -> None:
        """Keep polling until ``window_us`` after now; call it from the event loop."""
        if self.window <= 0:
            return
        self._until = time.perf_counter() + self.window
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._spin())

    @property
    def polling(self) -> bool:
        return self._task is not None

    async def settled(self) -> None:
        """Wait until the current window (with its renewals) is over."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _spin(self) -> None:
        try:
            while time.perf_counter() < self._until:
                self.spins += 1
                await asyncio.sleep(0)  # a ready callback: the loop polls I/O with a zero timeout
        finally:
            self._task = None
