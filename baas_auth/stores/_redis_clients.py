"""The redis-py clients of the Redis stores: made from a URL with our timeouts, or checked.

A client the store makes waits at most ``timeout`` on each connect and each reply and never
retries (redis-py's default ``Retry`` would). A client the caller passes in keeps the caller's
settings; it is only refused when the store cannot work with it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry

from baas_auth.errors import ConfigError, StoreError
from baas_auth.stores._redis_layout import has_hash_tag
from baas_auth.stores._redis_urls import RedisUrl, Topology

__all__ = [
    "AsyncClient",
    "SyncClient",
    "async_client",
    "checked_options",
    "close_async_client",
    "close_sync_client",
    "sync_client",
]

SyncClient = redis.Redis | RedisCluster
AsyncClient = redis.asyncio.Redis | AsyncRedisCluster
ClientT = TypeVar("ClientT", SyncClient, AsyncClient)


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


def _check_cluster_prefix(prefix: str) -> None:
    if not has_hash_tag(prefix):
        raise ConfigError(
            "with Redis Cluster the store's prefix needs a hash tag, so that all its keys share"
            f" one slot: prefix='{{baas}}:' rather than {prefix!r} (in a URL: ?prefix={{baas}}:)"
        )


def _checked_client(client: SyncClient | AsyncClient, prefix: str) -> None:
    """Refuse a client the store cannot work with: its scripts span keys of one slot only, and
    its values are bytes."""
    if isinstance(client, RedisCluster | AsyncRedisCluster):
        _check_cluster_prefix(prefix)
    if client.get_encoder().decode_responses:
        raise ConfigError("the Redis store needs a client made with decode_responses=False")


def _timeouts(timeout: float) -> dict[str, object]:
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


def _topology_options(topology: Topology, timeout: float) -> dict[str, Any]:
    """The data connections' keyword arguments: our timeouts, the URL's options over them."""
    tls: dict[str, Any] = {"ssl": True} if topology.tls else {}
    return {**_timeouts(timeout), **tls, **topology.options}


def _sentinel_options(topology: Topology, timeout: float, retry: object) -> dict[str, object]:
    """The sentinel connections': the URL's socket timeouts, sentinel credentials, no retry."""
    timeouts = {name: value for name, value in topology.options.items() if name in _timeouts(0)}
    return {**_timeouts(timeout), **timeouts, **topology.sentinel_options, "retry": retry}


def _sync_topology_client(topology: Topology, timeout: float) -> SyncClient:
    """A Sentinel-managed ``redis.Redis`` or a ``RedisCluster``, never retrying."""
    retry = Retry(NoBackoff(), 0)
    options = _topology_options(topology, timeout)
    if topology.kind == "sentinel":
        sentinel = redis.sentinel.Sentinel(
            list(topology.nodes),
            sentinel_kwargs=_sentinel_options(topology, timeout, Retry(NoBackoff(), 0)),
            retry=retry,
            **options,
        )
        client: redis.Redis = sentinel.master_for(topology.service, redis_class=redis.Redis)
        return client
    nodes = [ClusterNode(host, port) for host, port in topology.nodes]  # type: ignore[no-untyped-call]
    try:
        return RedisCluster(startup_nodes=nodes, retry=retry, **options)
    except (RedisClusterException, RedisError) as exc:
        raise StoreError(f"Redis Cluster: no node answered: {exc}") from exc


def _async_topology_client(topology: Topology, timeout: float) -> AsyncClient:
    """The asyncio twin of ``_sync_topology_client`` (a cluster is first reached when used)."""
    options = _topology_options(topology, timeout)
    if topology.kind == "sentinel":
        sentinel = redis.asyncio.sentinel.Sentinel(
            list(topology.nodes),
            sentinel_kwargs=_sentinel_options(topology, timeout, AsyncRetry(NoBackoff(), 0)),
            retry=AsyncRetry(NoBackoff(), 0),
            **options,
        )
        client: redis.asyncio.Redis = sentinel.master_for(
            topology.service, redis_class=redis.asyncio.Redis
        )
        return client
    nodes = [AsyncClusterNode(host, port) for host, port in topology.nodes]
    return AsyncRedisCluster(
        startup_nodes=nodes,
        retry=AsyncRetry(NoBackoff(), 0),
        **options,
    )


def _topology_client(
    make: Callable[[Topology, float], ClientT], topology: Topology, prefix: str, timeout: float
) -> ClientT:
    """A Sentinel or Cluster client made by ``make``, the prefix checked before it connects."""
    if topology.kind == "cluster":
        _check_cluster_prefix(prefix)
    made = make(topology, timeout)
    _checked_client(made, prefix)
    return made


def sync_client(url_or_client: RedisUrl | object, prefix: str, timeout: float) -> SyncClient:
    """The client named by a URL (our timeouts, no retry) or the caller's own, as it is."""
    if isinstance(url_or_client, RedisUrl):
        if url_or_client.topology is not None:
            return _topology_client(_sync_topology_client, url_or_client.topology, prefix, timeout)
        try:
            # An explicit no-retry: redis.Redis(host=…) retries 3 times with backoff by default
            # (redis-py >= 6, around connecting too), which lets one call wait many timeouts.
            pool = redis.BlockingConnectionPool.from_url(
                url_or_client.for_redis,
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


def async_client(url_or_client: RedisUrl | object, prefix: str, timeout: float) -> AsyncClient:
    """The asyncio twin of ``sync_client``."""
    if isinstance(url_or_client, RedisUrl):
        if url_or_client.topology is not None:
            return _topology_client(_async_topology_client, url_or_client.topology, prefix, timeout)
        try:
            async_pool = redis.asyncio.BlockingConnectionPool.from_url(
                url_or_client.for_redis,
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


def close_sync_client(client: SyncClient) -> None:
    """Close a client the store made, and the sentinels' connections behind it, if any."""
    sentinels = (
        getattr(client.connection_pool, "sentinel_manager", None)
        if isinstance(client, redis.Redis)
        else None
    )
    client.close()
    for sentinel in getattr(sentinels, "sentinels", ()):
        sentinel.close()


async def close_async_client(client: AsyncClient) -> None:
    """The asyncio twin of ``close_sync_client``."""
    sentinels = (
        getattr(client.connection_pool, "sentinel_manager", None)
        if isinstance(client, redis.asyncio.Redis)
        else None
    )
    await client.aclose()
    for sentinel in getattr(sentinels, "sentinels", ()):
        await sentinel.aclose()
