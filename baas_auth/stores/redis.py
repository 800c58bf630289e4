"""The Redis store: ``RedisStore`` over ``redis.Redis``, ``AsyncRedisStore`` over ``redis.asyncio``.

For deployments on many machines. Both classes only send the calls that ``_redis_layout``
builds (key names, Lua scripts, reply conversion are written once there) and turn every
redis-py error into ``StoreError``. Needs the ``redis`` extra: ``pip install 'baas-auth[redis]'``.
Design notes (key layout, expiry, timeouts, Cluster): docs/redis.md.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar, cast

from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from baas_auth.errors import ConfigError, StoreError
from baas_auth.stores._redis_clients import (
    AsyncClient,
    SyncClient,
    async_client,
    checked_options,
    close_async_client,
    close_sync_client,
    sync_client,
)
from baas_auth.stores._redis_fresh import (
    AsyncStampFlights,
    StampFlights,
)
from baas_auth.stores._redis_layout import TRANSFER_BATCH, Call, RedisLayout
from baas_auth.stores._redis_primary import primary_async_stamp_line, primary_sync_stamp_line
from baas_auth.stores._redis_stamp import StampWindow, checked_staleness
from baas_auth.stores._redis_urls import RedisUrl, read_redis_url
from baas_auth.stores.protocols import TokenEntry, TokenLookup

__all__ = ["DEFAULT_PREFIX", "DEFAULT_TIMEOUT", "AsyncRedisStore", "RedisStore"]

T = TypeVar("T")

DEFAULT_PREFIX = "baas:"

DEFAULT_TIMEOUT = 1.0
"""Seconds a call may wait on the network (connect, then each reply), with no retry after it:
long enough for a loaded server across a data centre, short enough that a request refused
with 503 is refused quickly."""


@contextmanager
def _failing_closed(action: str, stamps: StampWindow | None = None) -> Iterator[None]:
    """Re-raise any client error (refused, reset, timed out, script failed; a cluster client's
    own errors, such as no node answering, are not ``RedisError``s) as ``StoreError``;
    a failure also withdraws the change stamp, so no decision is recalled on a store that
    has just failed (the next request tries it, and is refused with 503 if it still fails)."""
    try:
        yield
    except (RedisError, RedisClusterException, OSError, StoreError) as exc:
        if stamps is not None:
            stamps.forget()
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"Redis store: {action} failed: {exc}") from exc


def _from_url(
    url_or_client: object, prefix: object, max_staleness_ms: object, clock: Callable[[], float]
) -> tuple[RedisUrl | None, object, StampWindow]:
    """What a URL says of the store (its ``prefix`` and ``max_staleness_ms`` win over the
    arguments, as redis-py's options there do), each option checked now; the URL read, for
    the client (None: a client was given); and the change stamp's window."""
    url = None
    if isinstance(url_or_client, str):
        url = read = read_redis_url(url_or_client)
        prefix = prefix if read.prefix is None else read.prefix
        if read.max_staleness_ms is not None:
            max_staleness_ms = read.max_staleness_ms
    if not callable(clock):
        raise ConfigError(f"the Redis store's clock is a function, not {type(clock).__name__}")
    return url, prefix, StampWindow(checked_staleness(max_staleness_ms), clock)


def _batches(items: Sequence[T]) -> list[Sequence[T]]:
    """``items`` in slices one transfer script handles."""
    return [items[start : start + TRANSFER_BATCH] for start in range(0, len(items), TRANSFER_BATCH)]


def _describe(store: object, prefix: str, client: SyncClient | AsyncClient) -> str:
    """A store's repr; the client by its class only (redis-py's repr is long, names the user)."""
    client_class = f"{type(client).__module__}.{type(client).__qualname__}"
    return f"{type(store).__name__}(prefix={prefix!r}, client={client_class})"


class _StampedStore:
    """What both Redis stores share of the change stamp (``ChangeStamped``). By default it is
    read exactly, one GET sent after the request arrived (``_redis_fresh``); with
    ``max_staleness_ms`` it is offered from memory, as last read."""

    _stamps: StampWindow
    _closed: bool

    @property
    def max_staleness_ms(self) -> int:
        """How old a change stamp this store offers at most (0: read for every request)."""
        return self._stamps.window_ms

    def _windowed_stamp(self) -> int | None:
        """The change stamp as read at most ``max_staleness_ms`` ago, from memory (no round
        trip); None when the stamp is older, or the store closed."""
        return None if self._closed else self._stamps.current()

    def _wrote(self, result: T) -> T:
        """After a write that may move the stamp: this process's next request reads the store,
        so a change made here applies to it at once, whatever the window."""
        self._stamps.forget()
        return result


class _ReadsStamp(_StampedStore):
    """``RedisStore``'s change stamp."""

    _fresh: StampFlights

    @property
    def change_stamp_waits(self) -> bool:
        """Whether ``change_stamp`` makes a round trip (the default, exact stamp): the ASGI
        adapter then calls it on its store thread, never on the event loop."""
        return not self._stamps.window_ms

    def change_stamp(self) -> int | None:
        """The store's change stamp: by default read by a GET sent after this call began
        (shared with the threads that asked while no read was sent yet), ``StoreError`` when
        that read fails; with ``max_staleness_ms``, as read at most that long ago, from memory
        (None once older). None once the store is closed."""
        if self._closed or self._stamps.window_ms:
            return self._windowed_stamp()
        return self._fresh.read()


class _AwaitsStamp(_StampedStore):
    """``AsyncRedisStore``'s change stamp: a plain call answers only from the window; the
    exact stamp is awaited."""

    _fresh: AsyncStampFlights

    def change_stamp(self) -> int | None:
        """With ``max_staleness_ms``: the change stamp as read at most that long ago, from
        memory, a plain call on the loop (None once older). Without it, None: the exact stamp
        needs a round trip, awaited (``read_change_stamp``)."""
        return self._windowed_stamp()

    async def read_change_stamp(self) -> int | None:
        """The store's change stamp, awaited: by default read by a GET sent after this call
        began (shared with the requests that asked while no read was sent yet), ``StoreError``
        when that read fails; with ``max_staleness_ms``, ``change_stamp``'s answer, no round
        trip. None once the store is closed."""
        if self._closed or self._stamps.window_ms:
            return self._windowed_stamp()
        return await self._fresh.read()


class RedisStore(_ReadsStamp):
    """A ``Store`` in Redis, shared by every process that names the same server and prefix.

    ``url_or_client``: a ``redis://``, ``rediss://`` or ``unix://`` URL (the store then makes
    and owns its client: ``timeout`` seconds per connect and per reply, no retries; options in
    the URL's query win), or a ``redis.Redis`` / ``RedisCluster`` client, whose settings are
    the caller's and which ``close()`` leaves open. With Redis Cluster the prefix must hold a
    hash tag (``prefix="{baas}:"``).

    ``max_staleness_ms`` (0, the default: ``change_stamp`` reads the stamp with one GET sent
    after the call began, so revocation is seen by the very next request, and a request
    decided before under the same stamp costs that GET only): above 0, the store offers its
    change stamp as read at most that long ago (``clock``, seconds, tells the time), so a
    request decided before is answered again without a round trip, and a change made by
    another process is seen within that window. Also ``?max_staleness_ms=`` in the URL. Every
    process writing to the prefix must run a version that moves the stamp (docs/redis.md).
    """

    blocking = True
    """Calls wait on the network: the ASGI adapter runs a sync realm's calls off the loop."""

    def __init__(
        self,
        url_or_client: str | SyncClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
        max_staleness_ms: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        url, given_prefix, self._stamps = _from_url(url_or_client, prefix, max_staleness_ms, clock)
        prefix, timeout = checked_options(given_prefix, timeout)
        self._layout = RedisLayout(prefix)
        self._owns_client = url is not None
        self._client = sync_client(url_or_client if url is None else url, prefix, timeout)
        # redis-py leaves execute_command unannotated; the layout reads what it returns.
        self._command = cast(Callable[..., object], self._client.execute_command)
        self._stamp_line = primary_sync_stamp_line(self._client, self._layout.stamp_key)
        self._fresh = StampFlights(self._stamp_line.read)
        self._closed = False

    def __repr__(self) -> str:
        return _describe(self, self._layout.prefix, self._client)

    def _run(self, call: Call[T]) -> T:
        if self._closed:
            raise StoreError("Redis store: the store is closed")
        with _failing_closed(call.name, self._stamps):
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
        self._run(self._layout.put(key, value))
        self._stamps.forget()  # this process's next request reads the store: see _wrote

    def create(self, key: str, value: bytes) -> bool:
        return self._wrote(self._run(self._layout.create(key, value)))

    def delete(self, key: str) -> bool:
        return self._wrote(self._run(self._layout.delete(key)))

    def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        return self._wrote(self._run(self._layout.transact(create, put, delete)))

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        return self._run(self._layout.scan(prefix))

    def generation(self) -> int:
        ticket = self._stamps.ticket()
        generation, stamp = self._run(self._layout.generation())
        self._stamps.observe(stamp, ticket)
        return generation

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
        self._run(call)
        self._stamps.forget()  # the script moved the stamp: a lost token must not be recalled

    def get_token(self, token_id: str) -> TokenLookup:
        ticket = self._stamps.ticket()
        lookup, stamp = self._run(self._layout.get_token(token_id))
        self._stamps.observe(stamp, ticket)
        return lookup

    def touch_token(self, token_id: str, now_ms: int) -> int | None:
        return self._run(self._layout.touch_token(token_id, now_ms))

    def delete_token(self, token_id: str) -> bool:
        return self._wrote(self._run(self._layout.delete_token(token_id)))

    def delete_principal_tokens(self, principal_key: str) -> int:
        deleted, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = self._run(self._layout.delete_principal_tokens(principal_key))
            deleted += count
        return self._wrote(deleted)

    def purge_expired(self, now_ms: int) -> int:
        purged, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = self._run(self._layout.purge_expired(now_ms))
            purged += count
        return self._wrote(purged)

    # Listing and loading tokens (TokenTransfer)

    def scan_tokens(self) -> list[TokenEntry]:
        entries: list[TokenEntry] = []
        for batch in _batches(self._token_ids()):
            found: list[TokenEntry] = self._run(self._layout.export_tokens(batch))
            entries += found
        return sorted(entries)

    def _token_ids(self) -> list[str]:
        """The ids of every token hash under the prefix (SCAN: the server is never held)."""
        if self._closed:
            raise StoreError("Redis store: the store is closed")
        with _failing_closed("scan_tokens", self._stamps):
            found = self._client.scan_iter(match=self._layout.token_pattern(), count=1000)
            return sorted({self._layout.token_id_of(key) for key in found})

    def load_tokens(self, entries: Sequence[TokenEntry]) -> None:
        for batch in _batches(entries):
            self._run(self._layout.load_tokens(batch))
        self._stamps.forget()  # the script moved the stamp

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
        with _failing_closed("close"):
            self._stamp_line.close()
            if self._owns_client:
                close_sync_client(self._client)


class AsyncRedisStore(_AwaitsStamp):
    """An ``AsyncStore`` in Redis: ``RedisStore`` over ``redis.asyncio``, method for method.

    Takes a URL or a ``redis.asyncio.Redis`` / ``RedisCluster`` client, as ``RedisStore`` does.
    Use it from one event loop: redis.asyncio binds its connections to the loop that made them.
    ``max_staleness_ms`` and ``clock`` as for ``RedisStore``. By default the stamp is read by
    ``read_change_stamp``, awaited; with a window, ``change_stamp`` answers from memory, on
    the loop, and the stamp is refreshed by the awaited reads of full decisions.
    """

    blocking = False
    """Calls are awaited on the event loop; none of them blocks it."""

    def __init__(
        self,
        url_or_client: str | AsyncClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
        max_staleness_ms: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        url, given_prefix, self._stamps = _from_url(url_or_client, prefix, max_staleness_ms, clock)
        prefix, timeout = checked_options(given_prefix, timeout)
        self._layout = RedisLayout(prefix)
        self._owns_client = url is not None
        self._client = async_client(url_or_client if url is None else url, prefix, timeout)
        self._command = cast(Callable[..., Awaitable[object]], self._client.execute_command)
        self._stamp_line = primary_async_stamp_line(self._client, self._layout.stamp_key)
        self._fresh = AsyncStampFlights(self._stamp_line.read)
        self._closed = False

    def __repr__(self) -> str:
        return _describe(self, self._layout.prefix, self._client)

    async def _run(self, call: Call[T]) -> T:
        if self._closed:
            raise StoreError("Redis store: the store is closed")
        with _failing_closed(call.name, self._stamps):
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
        await self._run(self._layout.put(key, value))
        self._stamps.forget()  # this process's next request reads the store: see _wrote

    async def create(self, key: str, value: bytes) -> bool:
        return self._wrote(await self._run(self._layout.create(key, value)))

    async def delete(self, key: str) -> bool:
        return self._wrote(await self._run(self._layout.delete(key)))

    async def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        return self._wrote(await self._run(self._layout.transact(create, put, delete)))

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        return await self._run(self._layout.scan(prefix))

    async def generation(self) -> int:
        ticket = self._stamps.ticket()
        generation, stamp = await self._run(self._layout.generation())
        self._stamps.observe(stamp, ticket)
        return generation

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
        await self._run(call)
        self._stamps.forget()  # the script moved the stamp: a lost token must not be recalled

    async def get_token(self, token_id: str) -> TokenLookup:
        ticket = self._stamps.ticket()
        lookup, stamp = await self._run(self._layout.get_token(token_id))
        self._stamps.observe(stamp, ticket)
        return lookup

    async def touch_token(self, token_id: str, now_ms: int) -> int | None:
        return await self._run(self._layout.touch_token(token_id, now_ms))

    async def delete_token(self, token_id: str) -> bool:
        return self._wrote(await self._run(self._layout.delete_token(token_id)))

    async def delete_principal_tokens(self, principal_key: str) -> int:
        deleted, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = await self._run(self._layout.delete_principal_tokens(principal_key))
            deleted += count
        return self._wrote(deleted)

    async def purge_expired(self, now_ms: int) -> int:
        purged, more = 0, True
        while more:  # in batches: a script holds the whole server while it runs
            count, more = await self._run(self._layout.purge_expired(now_ms))
            purged += count
        return self._wrote(purged)

    # Listing and loading tokens (AsyncTokenTransfer)

    async def scan_tokens(self) -> list[TokenEntry]:
        entries: list[TokenEntry] = []
        for batch in _batches(await self._token_ids()):
            found: list[TokenEntry] = await self._run(self._layout.export_tokens(batch))
            entries += found
        return sorted(entries)

    async def _token_ids(self) -> list[str]:
        """The ids of every token hash under the prefix (SCAN: the server is never held)."""
        if self._closed:
            raise StoreError("Redis store: the store is closed")
        with _failing_closed("scan_tokens", self._stamps):
            found = self._client.scan_iter(match=self._layout.token_pattern(), count=1000)
            return sorted({self._layout.token_id_of(key) async for key in found})

    async def load_tokens(self, entries: Sequence[TokenEntry]) -> None:
        for batch in _batches(entries):
            await self._run(self._layout.load_tokens(batch))
        self._stamps.forget()  # the script moved the stamp

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
        with _failing_closed("close"):
            await self._stamp_line.close()
            if self._owns_client:
                await close_async_client(self._client)
