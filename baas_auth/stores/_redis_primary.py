"""The change stamp through Redis Sentinel: read only from the server that is the primary now.

After a planned switchover (``SENTINEL FAILOVER`` with the primary up) the sentinels leave the
old primary a primary, serving the connections it has, until they notice it some seconds
later; a server cut off from the sentinels but not from the application stays one as long as
the cut lasts. A stamp read there misses every change made on the new primary: a revocation
would not apply (behaviour §7). redis-py's Sentinel client asks the sentinels only when it
opens a connection, so nothing it does finds this out.

So each stamp read asks two servers at once, in one round trip's time (both commands sent
before either reply is read): the stamp's connection is sent ``ROLE`` and the ``GET``
pipelined, and a sentinel ``SENTINEL GET-MASTER-ADDR-BY-NAME``. The read counts only if the
server says it is a primary and is the one the sentinel names. Otherwise it is a failure
(``StoreError``: that request is 503, nothing is remembered under it) and every connection of
the client's pool is closed, so the next command reconnects through the sentinels to the
primary they name. A sentinel that fails is a failed read too, and the next read asks the
next sentinel of the URL.
"""

from __future__ import annotations

import os
from typing import Any, cast

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel

from baas_auth.errors import StoreError
from baas_auth.stores._redis_fresh import (
    AsyncLine,
    SyncLine,
    _closed_while_idle,
    _pooled,
    _SyncLine,
    async_stamp_line,
    sync_stamp_line,
)

__all__ = ["checked_stamp", "primary_async_stamp_line", "primary_sync_stamp_line"]

Address = tuple[str, int]


def _packed_read(connection: Any, key: str) -> bytes:
    """``ROLE`` and the stamp's ``GET``, one write."""
    return b"".join(connection.pack_commands([("ROLE",), ("GET", key)]))


def _packed_question(connection: Any, service: str) -> bytes:
    return b"".join(connection.pack_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service))


def checked_stamp(role: Any, stamp: Any, named: Any, address: Address) -> bytes | None:
    """The stamp, if the server that sent it (at ``address``) said it is a primary and the
    sentinel names it; ``StoreError`` otherwise."""
    at = f"{address[0]}:{address[1]}"
    if not isinstance(role, list) or not role or role[0] != b"master":
        kind = role[0].decode("utf-8", "replace") if isinstance(role, list) and role else "?"
        raise StoreError(
            f"Redis store: the change stamp was read from {at}, which is no longer a primary"
            f" ({kind}); the next request reconnects to the primary the sentinels name"
        )
    if not isinstance(named, list) or len(named) != 2:
        raise StoreError("Redis store: the sentinel does not name a primary for the service")
    host, port = named
    if (host.decode("utf-8", "replace"), int(port)) != address:
        raise StoreError(
            f"Redis store: the change stamp was read from {at}, but the sentinels name"
            f" {host.decode('utf-8', 'replace')}:{int(port)} the primary now; the next request"
            " reconnects there"
        )
    if stamp is not None and not isinstance(stamp, bytes):
        raise StoreError("Redis store: an unexpected reply to the stamp read")
    return stamp


class _SentinelAsker:
    """One connection to one sentinel at a time, kept for the stamp reads' question."""

    def __init__(self, sentinels: list[Any], service: str) -> None:
        self._sentinels = sentinels
        self._service = service
        self._turn = 0  # which sentinel is asked
        self._connection: Any = None
        self._packed = b""
        self._pid = 0

    def held(self) -> Any:
        if self._connection is None or self._pid != os.getpid():
            sentinel = self._sentinels[self._turn % len(self._sentinels)]
            self._connection = sentinel.connection_pool.make_connection()
            self._pid = os.getpid()
            self._packed = _packed_question(self._connection, self._service)
        return self._connection

    @property
    def packed(self) -> bytes:
        return self._packed

    def failed(self) -> Any:
        """Forget the connection (the caller closes it); the next read asks the next one."""
        connection, self._connection = self._connection, None
        self._turn += 1
        return connection


class _SentinelLine(_SyncLine):
    """``_SyncLine`` through Sentinel: the stamp read checked against the sentinels (above)."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        super().__init__(client, key)
        pool = cast("redis.sentinel.SentinelConnectionPool", client.connection_pool)
        self._asker = _SentinelAsker(pool.sentinel_manager.sentinels, pool.service_name)

    def _pack(self, connection: Any) -> bytes:
        return _packed_read(connection, self._key)

    def read(self) -> bytes | None:
        connection = self._held()
        try:
            self._socket(connection)  # connected (through the sentinels) if it was not
            asked = self._asker.held()
            if asked._sock is None:
                asked.connect()
            asked.send_packed_command([self._asker.packed], check_health=False)
        except BaseException:
            self._sentinel_failed()
            raise
        try:
            connection.send_packed_command([self._packed], check_health=False)
            role, stamp = connection.read_response(), connection.read_response()
        except BaseException:
            connection.disconnect()  # its state is unknown: the next read connects again
            self._sentinel_failed()  # its reply is left unread
            raise
        try:
            named = asked.read_response()
        except BaseException:
            self._sentinel_failed()
            raise
        try:
            return checked_stamp(role, stamp, named, (connection.host, connection.port))
        except StoreError:
            self._pool.disconnect()  # every connection: the next command asks the sentinels
            raise

    def _sentinel_failed(self) -> None:
        connection = self._asker.failed()
        if connection is not None:
            connection.disconnect()

    def close(self) -> None:
        self._sentinel_failed()
        super().close()


class _AsyncSentinelLine:
    """``_SentinelLine`` for a ``redis.asyncio.Redis`` client, through redis-py's command
    layer (each reply read within the connection's ``socket_timeout``)."""

    def __init__(self, client: redis.asyncio.Redis, key: str) -> None:
        pool = cast("redis.asyncio.sentinel.SentinelConnectionPool", client.connection_pool)
        self._pool = pool
        self._key = key
        self._connection: Any = None
        self._packed = b""
        self._asker = _SentinelAsker(pool.sentinel_manager.sentinels, pool.service_name)

    async def read(self) -> bytes | None:
        connection = self._connection
        if connection is None:
            connection = self._connection = await _pooled(self._pool)
            self._packed = _packed_read(connection, self._key)
        try:
            if _closed_while_idle(connection):  # a restart: as redis-py's pool checks
                await connection.disconnect(nowait=True)
            if not connection.is_connected:
                await connection.connect()  # through the sentinels
            asked = self._asker.held()
            if not asked.is_connected:
                await asked.connect()
            await asked.send_packed_command([self._asker.packed], check_health=False)
        except BaseException:
            await self._sentinel_failed()
            raise
        try:
            await connection.send_packed_command([self._packed], check_health=False)
            role, stamp = await connection.read_response(), await connection.read_response()
        except BaseException:
            await connection.disconnect(nowait=True)
            await self._sentinel_failed()
            raise
        try:
            named = await asked.read_response()
        except BaseException:
            await self._sentinel_failed()
            raise
        try:
            return checked_stamp(role, stamp, named, (connection.host, connection.port))
        except StoreError:
            await self._pool.disconnect()  # every connection: the next asks the sentinels
            raise

    async def _sentinel_failed(self) -> None:
        connection = self._asker.failed()
        if connection is not None:
            await connection.disconnect(nowait=True)

    async def close(self) -> None:
        await self._sentinel_failed()
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.disconnect(nowait=True)
            await self._pool.release(connection)


def _is_sentinel_primary(pool: object) -> bool:
    kinds = (redis.sentinel.SentinelConnectionPool, redis.asyncio.sentinel.SentinelConnectionPool)
    return isinstance(pool, kinds) and bool(pool.is_master)


def primary_sync_stamp_line(client: object, key: str) -> SyncLine | _SentinelLine:
    """How a ``RedisStore`` reads its stamp: checked against the sentinels through Sentinel."""
    if type(client) is redis.Redis and _is_sentinel_primary(client.connection_pool):
        return _SentinelLine(client, key)
    return sync_stamp_line(client, key)


def primary_async_stamp_line(client: object, key: str) -> AsyncLine | _AsyncSentinelLine:
    """``primary_sync_stamp_line`` for an ``AsyncRedisStore``."""
    if type(client) is redis.asyncio.Redis and _is_sentinel_primary(client.connection_pool):
        return _AsyncSentinelLine(client, key)
    return async_stamp_line(client, key)
