"""The change stamp through Redis Sentinel: read only from the server that is the primary now.

After a planned switchover (``SENTINEL FAILOVER`` with the primary up) the sentinels leave the
old primary a primary, serving the connections it has, until they notice it some seconds
later; a server cut off from the sentinels but not from the application stays one as long as
the cut lasts. A stamp read there misses every change made on the new primary: a revocation
would not apply (behaviour §7). redis-py's Sentinel client asks the sentinels only when it
opens a connection, so nothing it does finds this out.

So each stamp read asks two servers at once, in one round trip's time (both commands sent
before either reply is read): the stamp's connection is sent ``ROLE`` and the ``GET``
pipelined, and a sentinel ``SENTINEL GET-MASTER-ADDR-BY-NAME``, each on a connection kept for
it and read straight off its socket, as the plain stamp read is (``_redis_fresh``). The read
counts only if the server says it is a primary and is the one the sentinel names. Otherwise
it is a failure (``StoreError``: that request is 503, nothing is remembered under it) and
every connection of the client's pool is closed, so the next command reconnects through the
sentinels to the primary they name. A sentinel that fails is a failed read too, and the next
read asks the next sentinel of the URL.
"""

from __future__ import annotations

from typing import Any, Final, cast

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel
from redis.exceptions import InvalidResponse, ResponseError

from baas_auth.errors import StoreError
from baas_auth.stores._redis_fresh import (
    INCOMPLETE,
    AsyncLine,
    SyncLine,
    _AsyncLine,
    _SyncLine,
    async_stamp_line,
    sync_stamp_line,
)

__all__ = [
    "checked_stamp",
    "parse_replies",
    "primary_async_stamp_line",
    "primary_sync_stamp_line",
]

Address = tuple[str, int]

_CRLF: Final = b"\r\n"


# -- the replies ----------------------------------------------------------------------------------


class _Incomplete(Exception):
    """Bytes of the reply are still to come."""


def _value(data: bytes, at: int) -> tuple[Any, int]:
    """The RESP2/RESP3 value starting at ``at`` (of the kinds these commands answer), and
    where the next one starts."""
    end = data.find(_CRLF, at)
    if end < 0:
        raise _Incomplete
    kind, head, at = data[at : at + 1], data[at + 1 : end], end + 2
    if kind == b"$":
        if head == b"-1":
            return None, at
        stop = at + int(head)
        if len(data) < stop + 2:
            raise _Incomplete
        if data[stop : stop + 2] != _CRLF:
            raise InvalidResponse("Redis store: a malformed reply to the stamp read")
        return data[at:stop], stop + 2
    if kind == b"*":
        if head == b"-1":
            return None, at
        items = []
        for _ in range(int(head)):
            item, at = _value(data, at)
            items.append(item)
        return items, at
    if kind == b":":
        return int(head), at
    if kind == b"+":
        return head, at
    if kind == b"_":
        return None, at
    if kind == b"-":
        raise ResponseError(head.decode("utf-8", "replace"))
    raise InvalidResponse("Redis store: an unexpected reply to the stamp read")


def parse_replies(data: bytes, count: int) -> list[Any] | Any:
    """``count`` replies, ``INCOMPLETE`` while bytes are missing; an error reply, a malformed
    one or bytes past the last raise a redis-py error (the connection is then dropped)."""
    values = []
    at = 0
    try:
        for _ in range(count):
            value, at = _value(data, at)
            values.append(value)
    except _Incomplete:
        return INCOMPLETE
    if at != len(data):  # the line is out of step
        raise InvalidResponse("Redis store: more replies than commands to the stamp read")
    return values


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


# -- the two lines: the primary's, a sentinel's ---------------------------------------------------


def _packed_read(connection: Any, key: str) -> bytes:
    """``ROLE`` and the stamp's ``GET``, one write."""
    return b"".join(connection.pack_commands([("ROLE",), ("GET", key)]))


def _packed_question(connection: Any, service: str) -> bytes:
    return b"".join(connection.pack_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service))


class _PrimaryRead(_SyncLine):
    """``ROLE`` and ``GET`` on the stamp's connection (of the Sentinel-managed pool)."""

    def _pack(self, connection: Any) -> bytes:
        return _packed_read(connection, self._key)

    def _parse(self, data: bytes) -> Any:
        return parse_replies(data, 2)

    def _parse_responses(self, connection: Any) -> Any:
        return [connection.read_response(), connection.read_response()]

    def address(self) -> Address:
        return (self._connection.host, self._connection.port)


class _SentinelQuestion(_SyncLine):
    """``SENTINEL GET-MASTER-ADDR-BY-NAME`` on a connection to one sentinel (its key is the
    service's name)."""

    def _pack(self, connection: Any) -> bytes:
        return _packed_question(connection, self._key)

    def _parse(self, data: bytes) -> Any:
        return _first(parse_replies(data, 1))

    def _parse_responses(self, connection: Any) -> Any:
        return connection.read_response()


class _AsyncPrimaryRead(_AsyncLine):
    def _pack(self, connection: Any) -> bytes:
        return _packed_read(connection, self._key)

    def _parse(self, data: bytes) -> Any:
        return parse_replies(data, 2)

    async def _parse_responses(self, connection: Any) -> Any:
        return [await connection.read_response(), await connection.read_response()]

    def address(self) -> Address:
        return (self._connection.host, self._connection.port)


class _AsyncSentinelQuestion(_AsyncLine):
    def _pack(self, connection: Any) -> bytes:
        return _packed_question(connection, self._key)

    def _parse(self, data: bytes) -> Any:
        return _first(parse_replies(data, 1))

    async def _parse_responses(self, connection: Any) -> Any:
        return await connection.read_response()


def _first(replies: Any) -> Any:
    return INCOMPLETE if replies is INCOMPLETE else replies[0]


def _unpacked(replies: Any) -> tuple[Any, Any]:
    role, stamp = replies
    return role, stamp


# -- the stamp read -------------------------------------------------------------------------------


class _Sentinels:
    """Which sentinel is asked: the first of the URL's, the next one after a failure."""

    def __init__(self, pool: Any) -> None:
        self.clients: list[Any] = list(pool.sentinel_manager.sentinels)
        self.service: str = pool.service_name
        self.turn = 0

    def next_client(self) -> Any:
        client = self.clients[self.turn % len(self.clients)]
        return client


class _SentinelLine:
    """The stamp read through Sentinel, checked (above)."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._pool = cast("redis.sentinel.SentinelConnectionPool", client.connection_pool)
        self._read = _PrimaryRead(client, key)
        self._sentinels = _Sentinels(self._pool)
        self._question: _SentinelQuestion | None = None

    def read(self) -> bytes | None:
        question = self._question
        if question is None:
            client = self._sentinels.next_client()
            question = self._question = _SentinelQuestion(client, self._sentinels.service)
        self._read.send()  # connected through the sentinels first if it was not
        try:
            question.send()
        except BaseException:
            self._read.close()  # its reply is left unread
            self._sentinel_failed()
            raise
        try:
            role, stamp = _unpacked(self._read.receive())
        except BaseException:
            question.close()  # its reply is left unread
            self._question = None
            raise
        try:
            named = question.receive()
        except BaseException:
            self._sentinel_failed()
            raise
        try:
            return checked_stamp(role, stamp, named, self._read.address())
        except StoreError:
            self._pool.disconnect()  # every connection: the next command asks the sentinels
            raise

    def _sentinel_failed(self) -> None:
        question, self._question = self._question, None
        if question is not None:
            question.close()
        self._sentinels.turn += 1

    def close(self) -> None:
        question, self._question = self._question, None
        if question is not None:
            question.close()
        self._read.close()


class _AsyncSentinelLine:
    """``_SentinelLine`` for a ``redis.asyncio.Redis`` client."""

    def __init__(self, client: redis.asyncio.Redis, key: str) -> None:
        self._pool = cast("redis.asyncio.sentinel.SentinelConnectionPool", client.connection_pool)
        self._read = _AsyncPrimaryRead(client, key)
        self._sentinels = _Sentinels(self._pool)
        self._question: _AsyncSentinelQuestion | None = None

    async def read(self) -> bytes | None:
        question = self._question
        if question is None:
            client = self._sentinels.next_client()
            question = self._question = _AsyncSentinelQuestion(client, self._sentinels.service)
        await self._read.send()
        try:
            await question.send()
        except BaseException:
            await self._read.close()
            await self._sentinel_failed()
            raise
        try:
            role, stamp = _unpacked(await self._read.receive())
        except BaseException:
            await question.close()
            self._question = None
            raise
        try:
            named = await question.receive()
        except BaseException:
            await self._sentinel_failed()
            raise
        try:
            return checked_stamp(role, stamp, named, self._read.address())
        except StoreError:
            await self._pool.disconnect()  # every connection: the next asks the sentinels
            raise

    async def _sentinel_failed(self) -> None:
        question, self._question = self._question, None
        if question is not None:
            await question.close()
        self._sentinels.turn += 1

    async def close(self) -> None:
        question, self._question = self._question, None
        if question is not None:
            await question.close()
        await self._read.close()


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
