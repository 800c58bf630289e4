"""Fixtures for the store tests: ``store`` runs a test once against every store backend.

The Redis kinds share one real redis-server per session (``redis_server``); each test gets a
fresh key prefix, so tests never see each other's keys. ``redis-async`` is ``AsyncRedisStore``
behind a synchronous facade, so the same contract suite runs against it unchanged. When
redis-server is not installed, the Redis kinds fail (they are never skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pytest

from baas_auth.stores import MemoryStore, SQLiteStore, Store
from tests.conftest import fresh_prefix, tmp_folder
from tests.redis_server import RedisServer
from tests.stores.blocking_facade import BlockingStore, LoopThread

# A new backend joins the contract suite by adding its name here and a branch to make_store.
STORE_KINDS = ["memory", "sqlite", "redis", "redis-async"]


def make_store(
    kind: str, tmp_path: Path | None, request: pytest.FixtureRequest, stack: ExitStack
) -> Store:
    """A fresh, empty store of the given kind, closed (and its loop stopped) by ``stack``; a
    SQLite file in ``tmp_path`` (None: the test's own)."""
    if kind == "memory":
        return stack.enter_context(closing(MemoryStore()))
    if kind == "sqlite":
        folder = tmp_path or tmp_folder(request)
        return stack.enter_context(closing(SQLiteStore(folder / "store.db")))
    if kind in ("redis", "redis-async"):
        server: RedisServer = request.getfixturevalue("redis_server")
        return open_redis_store(kind, server.url, stack, prefix=fresh_prefix())
    raise ValueError(f"unknown store kind {kind!r}")


def open_redis_store(kind: str, url: str, stack: ExitStack, **options: Any) -> Store:
    """A ``RedisStore`` (kind "redis"), or an ``AsyncRedisStore`` behind the blocking facade
    ("redis-async"), on ``url`` with the store's keyword ``options``."""
    from baas_auth.stores.redis import AsyncRedisStore, RedisStore

    if kind == "redis":
        return stack.enter_context(closing(RedisStore(url, **options)))
    loop = LoopThread()
    stack.callback(loop.stop)
    facade = BlockingStore(lambda: AsyncRedisStore(url, **options), loop)
    return stack.enter_context(closing(facade))


@pytest.fixture(params=["redis", "redis-async"])
def open_redis(request: pytest.FixtureRequest) -> Iterator[Callable[..., Store]]:
    """``open_redis(url, **options)``: a store of each Redis kind in turn, closed at the end."""
    with ExitStack() as stack:
        yield lambda url, **options: open_redis_store(request.param, url, stack, **options)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    with ExitStack() as stack:
        yield make_store(request.param, None, request, stack)
