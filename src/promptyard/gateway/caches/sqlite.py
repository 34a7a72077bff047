"""SQLite answer cache: survives restarts, shared by processes on one machine.

It lives in its own file (``<home>/answer_cache.sqlite3``), not in the main database: the
cache is disposable and per machine, needs no migrations, and stays local when the main
database is Postgres. WAL mode and ``synchronous=NORMAL`` make a lookup or a write a few
tens of microseconds, so calls run inline on the event loop instead of paying a thread hop.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from promptyard.errors import StoreError
from promptyard.gateway.caches.base import CachedAnswer
from promptyard.settings import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    purge_at REAL NOT NULL
)
"""

_PURGE_EVERY = 500
"""Expired rows are deleted once every this many writes."""


class SqliteAnswerCache:
    name = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        stale_s: float = 86_400.0,
        max_entries: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.stale_s = stale_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite answer cache at {self.path}: {exc}") from exc

    async def get(self, key: str) -> CachedAnswer | None:
        with self._lock:
            row = self._conn.execute("SELECT value, purge_at FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None or self._clock() >= row[1]:
            return None
        return CachedAnswer.from_json(row[0])

    async def set(self, key: str, answer: CachedAnswer) -> None:
        purge_at = answer.expires_at + self.stale_s
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO answers (key, value, purge_at) VALUES (?, ?, ?)",
                (key, answer.to_json(), purge_at),
            )
            self._writes += 1
            if self._writes % _PURGE_EVERY == 0:
                self._purge_locked()

    def _purge_locked(self) -> None:
        self._conn.execute("DELETE FROM answers WHERE purge_at <= ?", (self._clock(),))
        if self.max_entries:
            self._conn.execute(
                "DELETE FROM answers WHERE key IN (SELECT key FROM answers ORDER BY purge_at DESC LIMIT -1 OFFSET ?)",
                (self.max_entries,),
            )

    async def delete(self, key: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM answers WHERE key = ?", (key,))

    async def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM answers")

    async def aclose(self) -> None:
        with self._lock:
            self._conn.close()


def create(settings: Settings) -> SqliteAnswerCache:
    return SqliteAnswerCache(
        settings.home / "answer_cache.sqlite3", stale_s=settings.cache_stale_s, max_entries=settings.cache_max_entries
    )
