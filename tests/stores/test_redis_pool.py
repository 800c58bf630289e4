"""More calls in flight than a Redis store's client has connections: they wait for one.

redis-py 8's connection pools hold at most 100 connections and, by default, refuse the 101st
call at once ("Too many connections"): a burst of concurrent requests on one event loop (or a
WSGI server with more threads than that) got 503s from a healthy server. The store's own client
waits for a connection instead, within the store's timeout, and never opens more than
``POOL_SIZE``.
"""

from __future__ import annotations

import asyncio
import threading

import redis

from baas_auth.stores._redis_clients import POOL_SIZE
from baas_auth.stores.redis import AsyncRedisStore, RedisStore
from tests.conftest import fresh_prefix
from tests.redis_server import RedisServer

CALLS = 3 * POOL_SIZE
QUEUE_WAIT_S = 30.0


def _connected(raw: redis.Redis) -> int:
    clients: int = raw.info("clients")["connected_clients"]
    return clients


def test_an_async_store_queues_calls_beyond_its_pool(redis_server: RedisServer) -> None:
    with redis_server.client() as raw:
        before = _connected(raw)

        async def burst() -> tuple[list[bytes | None], int]:
            # A generous timeout: what is tested is that calls beyond the pool queue and are all
            # served, not how fast a loaded machine opens the pool's connections.
            store = AsyncRedisStore(redis_server.url, prefix=fresh_prefix(), timeout=QUEUE_WAIT_S)
            try:
                await store.put("k", b"v")
                found = await asyncio.gather(*(store.get("k") for _ in range(CALLS)))
                return found, _connected(raw)
            finally:
                await store.close()

        found, during = asyncio.run(burst())
    assert found == [b"v"] * CALLS
    assert during - before <= POOL_SIZE


def test_a_store_shared_by_more_threads_than_connections_queues_them(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url, prefix=fresh_prefix(), timeout=QUEUE_WAIT_S)
    store.put("k", b"v")
    threads = POOL_SIZE + POOL_SIZE // 2
    barrier = threading.Barrier(threads)
    found: list[bytes | None] = []
    failures: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            for _ in range(3):
                found.append(store.get("k"))
        except BaseException as exc:  # handed to the test thread below
            failures.append(exc)

    with redis_server.client() as raw:
        before = _connected(raw)
        running = [threading.Thread(target=work) for _ in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
        after = _connected(raw)
    store.close()
    assert failures == []
    assert found == [b"v"] * 3 * threads
    assert after - before <= POOL_SIZE
