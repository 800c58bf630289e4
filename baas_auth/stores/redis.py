"""The Redis store: ``RedisStore`` over ``redis.Redis``, ``AsyncRedisStore`` over ``redis.asyncio``.

For deployments on many machines. Both classes only send the calls that ``_redis_layout``
builds (key names, Lua scripts, reply conversion are written once there) and turn every
redis-py error into ``StoreError``. Needs the ``redis`` extra: ``pip install 'baas-auth[redis]'``.
Design notes (key layout, expiry, timeouts, Cluster): docs/redis.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar, cast

from redis.exceptions import NoScriptError, RedisError

from baas_auth.errors import StoreError
from baas_auth.stores._redis_clients import (
    AsyncClient,
    SyncClient,
    async_client,
    checked_options,
    sync_client,
)
from baas_auth.stores._redis_layout import Call, RedisLayout
from baas_auth.stores.protocols import TokenLookup

__all__ = ["DEFAULT_PREFIX", "DEFAULT_TIMEOUT", "AsyncRedisStore", "RedisStore"]

T = TypeVar("T")

DEFAULT_PREFIX = "baas:"

DEFAULT_TIMEOUT = 1.0
"""Seconds a call may wait on the network (connect, then each reply), with no retry after it:
long enough for a loaded server across a data centre, short enough that a request refused
with 503 is refused quickly."""


@contextmanager
def _failing_closed(action: str) -> Iterator[None]:
    """Re-raise any client error (refused, reset, timed out, script failed) as ``StoreError``."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreError(f"Redis store: {action} failed: {exc}") from exc


def _describe(store: object, prefix: str, client: SyncClient | AsyncClient) -> str:
    """A store's repr; the client by its class only (redis-py's repr is long, names the user)."""
    client_class = f"{type(client).__module__}.{type(client).__qualname__}"
    return f"{type(store).__name__}(prefix={prefix!r}, client={client_class})"


class RedisStore:
    """A ``Store`` in Redis, shared by every process that names the same server and prefix.

    ``url_or_client``: a ``redis://``, ``rediss://`` or ``unix://`` URL (the store then makes
    and owns its client: ``timeout`` seconds per connect and per reply, no retries; options in
    the URL's query win), or a ``redis.Redis`` / ``RedisCluster`` client, whose settings are
    the caller's and which ``close()`` leaves open. With Redis Cluster the prefix must hold a
    hash tag (``prefix="{baas}:"``).
    """

    blocking = True
    """Calls wait on the network: the ASGI adapter runs a sync realm's calls off the loop."""

    def __init__(
        self,
        url_or_client: str | SyncClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        prefix, timeout = checked_options(prefix, timeout)
        self._layout = RedisLayout(prefix)
        self._owns_client = isinstance(url_or_client, str)
        self._client = sync_client(url_or_client, prefix, timeout)
        # redis-py leaves execute_command unannotated; the layout reads what it returns.
        self._command = cast(Callable[..., object], self._client.execute_command)
        self._closed = False

    def __repr__(self) -> str:
        return _describe(self, self._layout.prefix, self._client)

    def _run(self, call: Call[T]) -> T:
        if self._closed:
            raise StoreError("Redis store: the store is closed")
        with _failing_closed(call.name):
            reply = self._execute(call)
        return call.read(reply)

    def _execute(self, call: Call[T]) -> object:
        if not call.command:
            return None
        try:
            return self._command(*call.command)
        except NoScriptError:
            # A new or restarted server has no scripts: load this one and send it again.
            if call.script is None:
                raise
            self._command("SCRIPT", "LOAD", call.script.source)
            return self._command(*call.command)

    # Directory

    def get(self, key: str) -> bytes | None:
        return self._run(self._layout.get(key))

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._run(self._layout.get_many(keys))

    def put(self, key: str, value: bytes) -> None:
        return self._run(self._layout.put(key, value))

    def create(self, key: str, value: bytes) -> bool:
        return self._run(self._layout.create(key, value))

    def delete(self, key: str) -> bool:
        return self._run(self._layout.delete(key))

    def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        return self._run(self._layout.transact(create, put, delete))

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        return self._run(self._layout.scan(prefix))

    def generation(self) -> int:
        return self._run(self._layout.generation())

    # Tokens

    def put_token(
        self,
        token_id: str,
        principal_key: str,
        record: bytes,
        *,
        created_ms: int,
        expires_at_ms: int | None,
    ) -> None:
        call = self._layout.put_token(
            token_id, principal_key, record, created_ms=created_ms, expires_at_ms=expires_at_ms
        )
        return self._run(call)

    def get_token(self, token_id: str) -> TokenLookup:
        return self._run(self._layout.get_token(token_id))

    def touch_token(self, token_id: str, now_ms: int) -> int | None:
        return self._run(self._layout.touch_token(token_id, now_ms))

    def delete_token(self, token_id: str) -> bool:
        return self._run(self._layout.delete_token(token_id))

    def delete_principal_tokens(self, principal_key: str) -> int:
        deleted, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = self._run(self._layout.delete_principal_tokens(principal_key))
            deleted += count
        return deleted

    def purge_expired(self, now_ms: int) -> int:
        purged, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = self._run(self._layout.purge_expired(now_ms))
            purged += count
        return purged

    # Transient records

    def get_transient(self, key: str) -> bytes | None:
        return self._run(self._layout.get_transient(key))

    def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> bool:
        call = self._layout.swap_transient(key, expected, new, expires_at_ms=expires_at_ms)
        return self._run(call)

    def close(self) -> None:
        """Fail every later call; close the client if the store made it (from a URL)."""
        self._closed = True
        if self._owns_client:
            with _failing_closed("close"):
                self._client.close()


class AsyncRedisStore:
    """An ``AsyncStore`` in Redis: ``RedisStore`` over ``redis.asyncio``, method for method.

    Takes a URL or a ``redis.asyncio.Redis`` / ``RedisCluster`` client, as ``RedisStore`` does.
    Use it from one event loop: redis.asyncio binds its connections to the loop that made them.
    """

    blocking = False
    """Calls are awaited on the event loop; none of them blocks it."""

    def __init__(
        self,
        url_or_client: str | AsyncClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        prefix, timeout = checked_options(prefix, timeout)
        self._layout = RedisLayout(prefix)
        self._owns_client = isinstance(url_or_client, str)
        self._client = async_client(url_or_client, prefix, timeout)
        self._command = cast(Callable[..., Awaitable[object]], self._client.execute_command)
        self._closed = False

    def __repr__(self) -> str:
        return _describe(self, self._layout.prefix, self._client)

    async def _run(self, call: Call[T]) -> T:
        if self._closed:
            raise StoreError("Redis store: the store is closed")
        with _failing_closed(call.name):
            reply = await self._execute(call)
        return call.read(reply)

    async def _execute(self, call: Call[T]) -> object:
        if not call.command:
            return None
        try:
            return await self._command(*call.command)
        except NoScriptError:
            # A new or restarted server has no scripts: load this one and send it again.
            if call.script is None:
                raise
            await self._command("SCRIPT", "LOAD", call.script.source)
            return await self._command(*call.command)

    # Directory

    async def get(self, key: str) -> bytes | None:
        return await self._run(self._layout.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return await self._run(self._layout.get_many(keys))

    async def put(self, key: str, value: bytes) -> None:
        return await self._run(self._layout.put(key, value))

    async def create(self, key: str, value: bytes) -> bool:
        return await self._run(self._layout.create(key, value))

    async def delete(self, key: str) -> bool:
        return await self._run(self._layout.delete(key))

    async def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        return await self._run(self._layout.transact(create, put, delete))

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        return await self._run(self._layout.scan(prefix))

    async def generation(self) -> int:
        return await self._run(self._layout.generation())

    # Tokens

    async def put_token(
        self,
        token_id: str,
        principal_key: str,
        record: bytes,
        *,
        created_ms: int,
        expires_at_ms: int | None,
    ) -> None:
        call = self._layout.put_token(
            token_id, principal_key, record, created_ms=created_ms, expires_at_ms=expires_at_ms
        )
        return await self._run(call)

    async def get_token(self, token_id: str) -> TokenLookup:
        return await self._run(self._layout.get_token(token_id))

    async def touch_token(self, token_id: str, now_ms: int) -> int | None:
        return await self._run(self._layout.touch_token(token_id, now_ms))

    async def delete_token(self, token_id: str) -> bool:
        return await self._run(self._layout.delete_token(token_id))

    async def delete_principal_tokens(self, principal_key: str) -> int:
        deleted, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = await self._run(self._layout.delete_principal_tokens(principal_key))
            deleted += count
        return deleted

    async def purge_expired(self, now_ms: int) -> int:
        purged, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = await self._run(self._layout.purge_expired(now_ms))
            purged += count
        return purged

    # Transient records

    async def get_transient(self, key: str) -> bytes | None:
        return await self._run(self._layout.get_transient(key))

    async def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> bool:
        call = self._layout.swap_transient(key, expected, new, expires_at_ms=expires_at_ms)
        return await self._run(call)

    async def close(self) -> None:
        """Fail every later call; close the client if the store made it (from a URL)."""
        self._closed = True
        if self._owns_client:
            with _failing_closed("close"):
                await self._client.aclose()
