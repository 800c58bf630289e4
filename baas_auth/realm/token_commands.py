"""The store commands of token records and transient records (login throttling), one frozen
dataclass per store method, and the one-yield flow that asks each (``store_commands`` has the
directory's and what every command shares).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

from baas_auth.realm.store_commands import Flow, StoreCommand, ask
from baas_auth.stores.protocols import AsyncStore, Store, TokenLookup

__all__ = [
    "DeletePrincipalTokens",
    "DeleteToken",
    "GetToken",
    "GetTransient",
    "PurgeExpired",
    "PutToken",
    "SwapTransient",
    "TouchToken",
    "delete_principal_tokens",
    "delete_token",
    "get_token",
    "get_transient",
    "purge_expired",
    "put_token",
    "swap_transient",
    "touch_token",
]


@dataclass(frozen=True, slots=True)
class PutToken(StoreCommand[None]):
    token_id: str
    principal_key: str
    record: bytes
    created_ms: int
    expires_at_ms: int | None

    def run(self, store: Store) -> None:
        store.put_token(
            self.token_id,
            self.principal_key,
            self.record,
            created_ms=self.created_ms,
            expires_at_ms=self.expires_at_ms,
        )

    def run_async(self, store: AsyncStore) -> Awaitable[None]:
        return store.put_token(
            self.token_id,
            self.principal_key,
            self.record,
            created_ms=self.created_ms,
            expires_at_ms=self.expires_at_ms,
        )


@dataclass(frozen=True, slots=True)
class GetToken(StoreCommand[TokenLookup]):
    token_id: str

    def run(self, store: Store) -> TokenLookup:
        return store.get_token(self.token_id)

    def run_async(self, store: AsyncStore) -> Awaitable[TokenLookup]:
        return store.get_token(self.token_id)


@dataclass(frozen=True, slots=True)
class TouchToken(StoreCommand[int | None]):
    token_id: str
    now_ms: int

    def run(self, store: Store) -> int | None:
        return store.touch_token(self.token_id, self.now_ms)

    def run_async(self, store: AsyncStore) -> Awaitable[int | None]:
        return store.touch_token(self.token_id, self.now_ms)


@dataclass(frozen=True, slots=True)
class DeleteToken(StoreCommand[bool]):
    token_id: str

    def run(self, store: Store) -> bool:
        return store.delete_token(self.token_id)

    def run_async(self, store: AsyncStore) -> Awaitable[bool]:
        return store.delete_token(self.token_id)


@dataclass(frozen=True, slots=True)
class DeletePrincipalTokens(StoreCommand[int]):
    principal_key: str

    def run(self, store: Store) -> int:
        return store.delete_principal_tokens(self.principal_key)

    def run_async(self, store: AsyncStore) -> Awaitable[int]:
        return store.delete_principal_tokens(self.principal_key)


@dataclass(frozen=True, slots=True)
class PurgeExpired(StoreCommand[int]):
    now_ms: int

    def run(self, store: Store) -> int:
        return store.purge_expired(self.now_ms)

    def run_async(self, store: AsyncStore) -> Awaitable[int]:
        return store.purge_expired(self.now_ms)


@dataclass(frozen=True, slots=True)
class GetTransient(StoreCommand[bytes | None]):
    key: str

    def run(self, store: Store) -> bytes | None:
        return store.get_transient(self.key)

    def run_async(self, store: AsyncStore) -> Awaitable[bytes | None]:
        return store.get_transient(self.key)


@dataclass(frozen=True, slots=True)
class SwapTransient(StoreCommand[bool]):
    key: str
    expected: bytes | None
    new: bytes | None
    expires_at_ms: int

    def run(self, store: Store) -> bool:
        return store.swap_transient(
            self.key, self.expected, self.new, expires_at_ms=self.expires_at_ms
        )

    def run_async(self, store: AsyncStore) -> Awaitable[bool]:
        return store.swap_transient(
            self.key, self.expected, self.new, expires_at_ms=self.expires_at_ms
        )


def put_token(
    token_id: str,
    principal_key: str,
    record: bytes,
    *,
    created_ms: int,
    expires_at_ms: int | None,
) -> Flow[None]:
    return ask(PutToken(token_id, principal_key, record, created_ms, expires_at_ms))


def get_token(token_id: str) -> Flow[TokenLookup]:
    return ask(GetToken(token_id))


def touch_token(token_id: str, now_ms: int) -> Flow[int | None]:
    return ask(TouchToken(token_id, now_ms))


def delete_token(token_id: str) -> Flow[bool]:
    return ask(DeleteToken(token_id))


def delete_principal_tokens(principal_key: str) -> Flow[int]:
    return ask(DeletePrincipalTokens(principal_key))


def purge_expired(now_ms: int) -> Flow[int]:
    return ask(PurgeExpired(now_ms))


def get_transient(key: str) -> Flow[bytes | None]:
    return ask(GetTransient(key))


def swap_transient(
    key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
) -> Flow[bool]:
    return ask(SwapTransient(key, expected, new, expires_at_ms))
