"""The store protocols: what a backend must do for a Realm (directory records and token records).

``Store`` blocks; ``AsyncStore`` has the same methods as coroutines, for stores that do network
I/O on an event loop (``AsyncRedisStore``). The two are kept in lock-step by a test.

A store keeps opaque bytes; the Realm decides what they mean. It never sees a plaintext token,
password or client secret: tokens are keyed by a hash, secrets and passwords arrive hashed.
Every method raises ``StoreError`` (wrapping the driver's error) when the backend fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = [
    "AsyncStore",
    "AsyncTokenTransfer",
    "ChangeStamped",
    "GenerationLeap",
    "Store",
    "TokenEntry",
    "TokenLookup",
    "TokenTransfer",
]


class TokenLookup(NamedTuple):
    """What ``Store.get_token`` returns: the record (None if absent) and the generation."""

    record: bytes | None
    generation: int


class TokenEntry(NamedTuple):
    """Everything a store keeps of one token: what ``put_token`` was given, and its uses
    (``touch_token``): the last one (``created_ms`` until the first) and the longest gap."""

    token_id: str
    principal_key: str
    record: bytes
    created_ms: int
    expires_at_ms: int | None
    accessed_ms: int
    inactive_ms: int


@runtime_checkable
class Store(Protocol):
    """A synchronous store.

    Directory: a flat key space of small records (``get``/``put``/``create``/``delete``/``scan``).
    Every directory write moves a number on, ``generation()``, so that every process sharing
    the store can tell when its cached view of roles, rules and users is stale.

    Tokens: one record per token, keyed by ``token_id`` (a hash of the token's random part), and
    indexed by ``principal_key`` so that a principal's tokens can be revoked without a scan.

    Transient records: small values changed by compare-and-swap and collected once expired
    (failed-login counters); they are not part of the directory and never bump the generation.
    """

    def get(self, key: str) -> bytes | None:
        """The record at ``key``, or None."""
        ...

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The records at ``keys``, in order, None for each absent one."""
        ...

    def put(self, key: str, value: bytes) -> None:
        """Write ``key`` (create or replace) and bump the generation."""
        ...

    def create(self, key: str, value: bytes) -> bool:
        """Write ``key`` only if absent (atomically); True if written. Bumps the generation."""
        ...

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was there. Bumps the generation."""
        ...

    def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        """Apply several directory writes atomically: all of them, or none.

        Nothing is written (and False returned) when any key of ``create`` exists already;
        otherwise every ``create`` and ``put`` is written, every ``delete`` removed, the
        generation bumped once (if anything changed), and True returned. A key is named in at
        most one of the three.
        """
        ...

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every (key, record) whose key starts with ``prefix``, sorted by key."""
        ...

    def generation(self) -> int:
        """A number that grows with every directory write (by one or more), seen alike by every
        process. A store that can lose acknowledged writes keeps it from coming back to a value
        it held (Redis: ahead of the server's clock)."""
        ...

    def put_token(
        self,
        token_id: str,
        principal_key: str,
        record: bytes,
        *,
        created_ms: int,
        expires_at_ms: int | None,
    ) -> None:
        """Store a token record and index it under ``principal_key``.

        ``expires_at_ms`` (None: never) lets the backend collect the record once it has expired;
        validity itself is decided by the Realm, not by the backend's expiry.
        """
        ...

    def get_token(self, token_id: str) -> TokenLookup:
        """The token record and the directory generation, read together (one round trip)."""
        ...

    def touch_token(self, token_id: str, now_ms: int) -> int | None:
        """Record a use of the token, atomically; return the longest gap in ms between two uses.

        None if the token is gone. The first use is measured from ``created_ms``.
        """
        ...

    def delete_token(self, token_id: str) -> bool:
        """Remove one token record (and its index entry); True if it was there."""
        ...

    def delete_principal_tokens(self, principal_key: str) -> int:
        """Remove every token indexed under ``principal_key``; return how many."""
        ...

    def purge_expired(self, now_ms: int) -> int:
        """Collect token and transient records whose expiry has passed; return how many tokens.

        Housekeeping only."""
        ...

    def get_transient(self, key: str) -> bytes | None:
        """A short-lived record (login throttling), or None. Never bumps the generation."""
        ...

    def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> bool:
        """Replace the transient record at ``key`` by ``new`` (None removes it) only if it is
        ``expected`` now (None: absent), atomically; True if swapped.

        ``expires_at_ms`` lets the backend collect the record afterwards (housekeeping, like
        token records); what a record means is decided by the Realm.
        """
        ...

    def close(self) -> None:
        """Release connections. The store is not used afterwards."""
        ...


@runtime_checkable
class ChangeStamped(Protocol):
    """A store that can tell cheaply whether anything in it may have changed: the per-request
    freshness check behind the adapters' cache of admitted requests (behaviour §7).

    Optional: a store without it is simply read on every request.
    """

    def change_stamp(self) -> int | None:
        """A number that differs from every earlier answer (in this process) once anything
        has been written to the store, by any thread or process, since that answer was given.

        Answered without waiting on disk or network (memory, or shared memory at most), on
        any thread (or an event loop), and never raising: None when it cannot tell (the caller
        then reads the store as usual, which reports a failure as ``StoreError``). Except
        where the store says ``change_stamp_waits`` (``RedisStore`` by default): the answer is
        then a round trip, sent after the call began, that raises ``StoreError`` when it fails
        (the ASGI adapter makes the call on its store thread). An ``AsyncStore`` whose check
        is a round trip offers it awaited instead, as ``read_change_stamp()``
        (``AsyncRedisStore``).

        A store may be told to answer with bounded staleness instead (``RedisStore`` with
        ``max_staleness_ms``): a write by another process then moves the answer within that
        window; its own writes still move it at once."""
        ...


@runtime_checkable
class AsyncStore(Protocol):
    """The ``Store`` protocol with every method a coroutine (``close`` too): the same records,
    the same atomicity, the same errors. See ``Store`` for what each method does."""

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def put(self, key: str, value: bytes) -> None: ...

    async def create(self, key: str, value: bytes) -> bool: ...

    async def delete(self, key: str) -> bool: ...

    async def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool: ...

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]: ...

    async def generation(self) -> int: ...

    async def put_token(
        self,
        token_id: str,
        principal_key: str,
        record: bytes,
        *,
        created_ms: int,
        expires_at_ms: int | None,
    ) -> None: ...

    async def get_token(self, token_id: str) -> TokenLookup: ...

    async def touch_token(self, token_id: str, now_ms: int) -> int | None: ...

    async def delete_token(self, token_id: str) -> bool: ...

    async def delete_principal_tokens(self, principal_key: str) -> int: ...

    async def purge_expired(self, now_ms: int) -> int: ...

    async def get_transient(self, key: str) -> bytes | None: ...

    async def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> bool: ...

    async def close(self) -> None: ...


@runtime_checkable
class TokenTransfer(Protocol):
    """A store whose token records can be listed and written back whole: what copying a
    realm to another store, a backup and a restore need (``baas_auth.stores.transfer``).

    Optional and apart from ``Store``: a store without it is copied without its tokens."""

    def scan_tokens(self) -> list[TokenEntry]:
        """Every token record the store holds (expired ones it has not collected too),
        sorted by ``token_id``."""
        ...

    def load_tokens(self, entries: Sequence[TokenEntry]) -> None:
        """Write each token as ``put_token`` would (replacing one with the same id, indexed
        under its principal, collected after its expiry), with its uses as given."""
        ...


@runtime_checkable
class AsyncTokenTransfer(Protocol):
    """``TokenTransfer`` for an ``AsyncStore``: the same methods as coroutines."""

    async def scan_tokens(self) -> list[TokenEntry]: ...

    async def load_tokens(self, entries: Sequence[TokenEntry]) -> None: ...


@runtime_checkable
class GenerationLeap(Protocol):
    """A store whose generation is a plain counter (SQLite), which a loss can take back with
    the content (a file brought back to an older copy of itself): a copy or restore written
    with a few writes could then land on a generation a process remembers a directory snapshot
    under. Optional: a store whose generation never comes back (memory: one process; Redis:
    kept ahead of the server's clock) does not need it."""

    def leap_generation(self) -> None:
        """Move the generation (and the change stamp) past every value the store may have held
        since its content was last copied (by 2**32: more writes than any store makes)."""
        ...


