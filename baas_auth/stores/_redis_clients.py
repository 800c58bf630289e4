"""The redis-py clients of the Redis stores: made from a URL with our timeouts, or checked.

A client the store makes waits at most ``timeout`` on each connect and each reply and never
retries (redis-py's default ``Retry`` would). A client the caller passes in keeps the caller's
settings; it is only refused when the store cannot work with it.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from baas_auth.errors import ConfigError
from baas_auth.stores._redis_layout import has_hash_tag

__all__ = [
    "AsyncClient",
    "SyncClient",
    "async_client",
    "checked_options",
    "sync_client",
]

SyncClient = redis.Redis | RedisCluster
AsyncClient = redis.asyncio.Redis | AsyncRedisCluster


_ASYNC_POOL_HAS_MAINT_NOTIFICATIONS = "maint_notifications_config" in (
    inspect.signature(redis.asyncio.ConnectionPool.__init__).parameters
)


def _async_pool_options() -> dict[str, Any]:
    """Maintenance notifications off, where redis-py has them for asyncio clients (8.1+).

    In redis-py 8.1.0 an asyncio pool with them on ("auto", the default over RESP3 and TCP) hands
    out an idle connection the server has closed without reconnecting it (redis-py #4252): after
    a Redis restart every idle pooled connection failed one call (a 503). The store wants none
    of what they do anyway: they relax timeouts (to 10 s) during a server's maintenance.
    """
    if not _ASYNC_POOL_HAS_MAINT_NOTIFICATIONS:
        return {}
    from redis.maint_notifications import MaintNotificationsConfig

    return {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}


POOL_SIZE = 100
"""Connections a store's own client opens at most (redis-py's default cap). A call that finds
them all busy waits for one, up to the store's timeout: redis-py's plain pool raises "Too many
connections" at once instead, which turned every call beyond 100 in flight (a burst of requests
on one event loop, or a WSGI server with more threads) into a 503 with the server idle."""


def checked_options(prefix: object, timeout: object) -> tuple[str, float]:
    """The prefix and timeout, refused (``ConfigError``) when the store cannot use them."""
    if not isinstance(prefix, str):
        raise ConfigError(f"the Redis key prefix must be a string, not {type(prefix).__name__}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ConfigError(f"the Redis store timeout is seconds above 0, not {timeout!r}")
    return prefix, float(timeout)


def _checked_client(client: SyncClient | AsyncClient, prefix: str) -> None:
    """Refuse a client the store cannot work with: its scripts span keys of one slot only, and
    its values are bytes."""
    if isinstance(client, RedisCluster | AsyncRedisCluster) and not has_hash_tag(prefix):
        raise ConfigError(
            "with Redis Cluster the store's prefix needs a hash tag, so that all its keys share"
            f" one slot: prefix='{{baas}}:' rather than {prefix!r}"
        )
    if client.get_encoder().decode_responses:
        raise ConfigError("the Redis store needs a client made with decode_responses=False")


def sync_client(url_or_client: str | SyncClient, prefix: str, timeout: float) -> SyncClient:
    """The client named by a URL (our timeouts, no retry) or the caller's own, as it is."""
    if isinstance(url_or_client, str):
        try:
            # An explicit no-retry: redis.Redis(host=…) retries 3 times with backoff by default
            # (redis-py >= 6, around connecting too), which lets one call wait many timeouts.
            pool = redis.BlockingConnectionPool.from_url(
                url_or_client,
                max_connections=POOL_SIZE,
                timeout=timeout,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
            )
            return redis.Redis.from_pool(pool)
        except ValueError as exc:
            raise ConfigError(f"not a Redis URL: {exc}") from exc
    if not isinstance(url_or_client, redis.Redis | RedisCluster):
        raise ConfigError(
            "RedisStore takes a redis:// URL or a redis.Redis client,"
            f" not {type(url_or_client).__name__}"
        )
    _checked_client(url_or_client, prefix)
    return url_or_client


def async_client(url_or_client: str | AsyncClient, prefix: str, timeout: float) -> AsyncClient:
    """The asyncio twin of ``sync_client``."""
    if isinstance(url_or_client, str):
        try:
            async_pool = redis.asyncio.BlockingConnectionPool.from_url(
                url_or_client,
                max_connections=POOL_SIZE,
                timeout=timeout,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=AsyncRetry(NoBackoff(), 0),
                **_async_pool_options(),
            )
            return redis.asyncio.Redis.from_pool(async_pool)
        except ValueError as exc:
            raise ConfigError(f"not a Redis URL: {exc}") from exc
    if not isinstance(url_or_client, redis.asyncio.Redis | AsyncRedisCluster):
        raise ConfigError(
            "AsyncRedisStore takes a redis:// URL or a redis.asyncio.Redis client,"
            f" not {type(url_or_client).__name__}"
        )
    _checked_client(url_or_client, prefix)
    return url_or_client
