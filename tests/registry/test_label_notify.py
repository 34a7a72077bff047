"""The label-move counter is read by a watcher thread, never on the request path."""

from __future__ import annotations

import threading

import redis

from promptyard.prompts.notify import RedisLabelVersion


class CountingRedis:
    """Stands in for redis.Redis: counts GETs, can be made unreachable."""

    def __init__(self) -> None:
        self.value = 0
        self.gets = 0
        self.down = False
        self.read = threading.Event()

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        self.read.set()
        if self.down:
            raise redis.ConnectionError("connection refused")
        return str(self.value).encode()

    def incr(self, key: str) -> int:
        self.value += 1
        return self.value

    def close(self) -> None:
        pass


def _next_read(fake: CountingRedis) -> None:
    fake.read.clear()
    assert fake.read.wait(5), "the watcher did not read again"


def test_asking_is_a_memory_read_and_the_watcher_sees_a_move() -> None:
    fake = CountingRedis()
    counter = RedisLabelVersion("redis://unused", client=fake)  # type: ignore[arg-type]
    try:
        assert counter.current() == 0  # the first ask reads at once
        for _ in range(10_000):
            counter.current()
        assert fake.gets <= 5  # the 10,000 asks themselves made no round trip
        fake.incr("k")  # another instance moved a label
        _next_read(fake)
        _next_read(fake)  # a full read cycle has stored the new value
        assert counter.current() == 1
    finally:
        counter.close()


def test_redis_down_reads_none_without_blocking_the_asker() -> None:
    fake = CountingRedis()
    counter = RedisLabelVersion("redis://unused", client=fake)  # type: ignore[arg-type]
    try:
        assert counter.current() == 0
        fake.down = True
        _next_read(fake)
        _next_read(fake)
        assert counter.current() is None  # the registry then falls back to the cache TTL
        fake.down = False
        _next_read(fake)
        _next_read(fake)
        assert counter.current() == 0
    finally:
        counter.close()
