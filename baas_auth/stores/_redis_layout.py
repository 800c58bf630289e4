"""The Redis store without I/O: key names, and the call each store method makes.

``RedisStore`` and ``AsyncRedisStore`` only send a ``Call`` and hand the reply to its ``read``
(from ``_redis_replies``); everything they must agree on (where records live, which script
runs, how a reply becomes a value) is written once, here and there. Nothing here imports redis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from baas_auth.stores import _redis_lua as lua
from baas_auth.stores import _redis_lua_transfer as lua_transfer
from baas_auth.stores import _redis_replies as read
from baas_auth.stores.protocols import TokenEntry, TokenLookup

__all__ = ["Call", "RedisLayout", "Script", "has_hash_tag"]

T = TypeVar("T")

Arg = str | bytes | int

SWEEP = 4
"""Stale expiry-index entries a token or transient write collects as it goes: more than the one
entry it may add, so the index of records the server expired shrinks without a purge."""

PURGE_BATCH = 500
"""Index entries one purge script handles: the server does nothing else while a script runs."""

TRANSFER_BATCH = 200
"""Tokens one listing or loading script handles, for the same reason."""

_GLOB_SPECIAL = frozenset("*?[]\\")


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script, sent by its SHA-1 and loaded when the server does not know it (yet)."""

    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Script:
        return cls(source, hashlib.sha1(source.encode()).hexdigest())  # noqa: S324 - Redis's id

    def command(self, keys: Sequence[str], args: Sequence[Arg]) -> tuple[Arg, ...]:
        return ("EVALSHA", self.sha, len(keys), *keys, *args)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One round trip: a command (empty: none needed) and how its reply becomes the result."""

    name: str
    command: tuple[Arg, ...]
    read: Callable[[object], T]
    script: Script | None = None


_TRANSACT = Script.of(lua.TRANSACT)
_SCAN = Script.of(lua.SCAN)
_GET_TOKEN = Script.of(lua.GET_TOKEN)
_PUT_TOKEN = Script.of(lua.PUT_TOKEN)
_TOUCH_TOKEN = Script.of(lua.TOUCH_TOKEN)
_DELETE_TOKEN = Script.of(lua.DELETE_TOKEN)
_DELETE_PRINCIPAL_TOKENS = Script.of(lua.DELETE_PRINCIPAL_TOKENS)
_PURGE_EXPIRED = Script.of(lua.PURGE_EXPIRED)
_SWAP_TRANSIENT = Script.of(lua.SWAP_TRANSIENT)
_EXPORT_TOKENS = Script.of(lua_transfer.EXPORT_TOKENS)
_LOAD_TOKENS = Script.of(lua_transfer.LOAD_TOKENS)


def has_hash_tag(prefix: str) -> bool:
    """True if every key starting with ``prefix`` hashes to one Redis Cluster slot.

    Redis hashes only the part between the first ``{`` and the first ``}`` after it, when that
    part is not empty; the tag must close inside the prefix, or the rest of each key would count.
    """
    opening = prefix.find("{")
    return opening >= 0 and prefix.find("}", opening + 1) > opening + 1


def upper_bound(prefix: bytes) -> bytes | None:
    """The least byte string above every string starting with ``prefix`` (None: no bound).

    UTF-8 never holds the byte 0xFF, so raising the last byte always works for encoded text;
    trailing 0xFF bytes are dropped for completeness.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


class RedisLayout:
    """Where one store's records live under its prefix, and the call behind each store method.

    ``{prefix}dir`` (hash) holds the directory records and ``{prefix}dir:keys`` (sorted set,
    all scores 0) their keys, so a prefix scan is a lexical range; ``{prefix}gen`` is the
    generation, and ``{prefix}stamp`` the change stamp (moved by every write that can change a
    decision: directory writes and token removals), read with the generation and each token.
    A token is the hash ``{prefix}tok:{id}`` (record, owner, last use, longest gap), listed in
    its owner's set ``{prefix}tok-of:{owner}`` and, when it expires, in ``{prefix}tok-by-exp``
    (sorted by expiry). A transient record is ``{prefix}tmp:{key}``, listed in
    ``{prefix}tmp-by-exp``.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.records = prefix + "dir"
        self.record_keys = prefix + "dir:keys"
        self.generation_key = prefix + "gen"
        self.stamp_key = prefix + "stamp"
        self.tokens = prefix + "tok:"
        self.owners = prefix + "tok-of:"
        self.token_expiries = prefix + "tok-by-exp"
        self.transients = prefix + "tmp:"
        self.transient_expiries = prefix + "tmp-by-exp"

    # Directory

    def get(self, key: str) -> Call[bytes | None]:
        return Call("get", ("HGET", self.records, key), read.optional_bytes)

    def get_many(self, keys: Sequence[str]) -> Call[list[bytes | None]]:
        if not keys:
            return Call("get_many", (), read.no_values)
        return Call("get_many", ("HMGET", self.records, *keys), read.optional_bytes_list)

    def put(self, key: str, value: bytes) -> Call[None]:
        return self._transact("put", [], [(key, value)], [], read.nothing)

    def create(self, key: str, value: bytes) -> Call[bool]:
        return self._transact("create", [(key, value)], [], [], read.changed)

    def delete(self, key: str) -> Call[bool]:
        return self._transact("delete", [], [], [key], read.changed)

    def transact(
        self,
        create: Mapping[str, bytes] | None,
        put: Mapping[str, bytes] | None,
        delete: Sequence[str],
    ) -> Call[bool]:
        created, replaced = list((create or {}).items()), list((put or {}).items())
        return self._transact("transact", created, replaced, list(delete), read.succeeded)

    def _transact(
        self,
        name: str,
        create: list[tuple[str, bytes]],
        put: list[tuple[str, bytes]],
        delete: list[str],
        read: Callable[[object], T],
    ) -> Call[T]:
        args: list[Arg] = [len(create), len(put)]
        for key, value in (*create, *put):
            args += (key, bytes(value))
        args += delete
        keys = [self.records, self.record_keys, self.generation_key, self.stamp_key]
        return Call(name, _TRANSACT.command(keys, args), read, _TRANSACT)

    def scan(self, prefix: str) -> Call[list[tuple[str, bytes]]]:
        encoded = prefix.encode()
        bound = upper_bound(encoded)
        lowest = b"[" + encoded
        highest = b"+" if bound is None else b"(" + bound
        command = _SCAN.command([self.records, self.record_keys], [lowest, highest])
        return Call("scan", command, read.pairs, _SCAN)

    def generation(self) -> Call[tuple[int, int]]:
        """The generation, and the change stamp read with it."""
        command = ("MGET", self.generation_key, self.stamp_key)
        return Call("generation", command, read.stamped_counter)

    # Tokens

    def put_token(
        self,
        token_id: str,
        principal_key: str,
        record: bytes,
        *,
        created_ms: int,
        expires_at_ms: int | None,
    ) -> Call[bool]:
        """Whether a record was replaced (the change stamp moves either way)."""
        expires: Arg = "" if expires_at_ms is None else int(expires_at_ms)
        args: list[Arg] = [token_id, principal_key, bytes(record), int(created_ms), expires]
        args += [self.tokens, self.owners, SWEEP]
        keys = [self.tokens + token_id, self.token_expiries, self.stamp_key]
        command = _PUT_TOKEN.command(keys, args)
        return Call("put_token", command, read.changed, _PUT_TOKEN)

    def get_token(self, token_id: str) -> Call[tuple[TokenLookup, int]]:
        """The token's record and the generation, and the change stamp read with them."""
        keys = [self.tokens + token_id, self.generation_key, self.stamp_key]
        command = _GET_TOKEN.command(keys, [])
        return Call("get_token", command, read.stamped_token_lookup, _GET_TOKEN)

    def touch_token(self, token_id: str, now_ms: int) -> Call[int | None]:
        command = _TOUCH_TOKEN.command([self.tokens + token_id], [int(now_ms)])
        return Call("touch_token", command, read.optional_int, _TOUCH_TOKEN)

    def delete_token(self, token_id: str) -> Call[bool]:
        keys = [self.tokens + token_id, self.token_expiries, self.stamp_key]
        command = _DELETE_TOKEN.command(keys, [token_id, self.owners])
        return Call("delete_token", command, read.flag, _DELETE_TOKEN)

    def delete_principal_tokens(self, principal_key: str) -> Call[tuple[int, bool]]:
        """One batch of a revoke-all; the store repeats it while the answer says there is
        more (a script holds the whole server while it runs: 10,000 tokens in one would stall
        every other client for about 75 ms)."""
        keys = [self.owners + principal_key, self.token_expiries, self.stamp_key]
        args: list[Arg] = [principal_key, self.tokens, PURGE_BATCH]
        command = _DELETE_PRINCIPAL_TOKENS.command(keys, args)
        return Call("delete_principal_tokens", command, read.purge_batch, _DELETE_PRINCIPAL_TOKENS)

    def purge_expired(self, now_ms: int) -> Call[tuple[int, bool]]:
        """One batch of the purge; the store repeats it while the answer says there is more."""
        keys = [self.token_expiries, self.transient_expiries, self.stamp_key]
        args: list[Arg] = [f"({int(now_ms)}", self.tokens, self.owners, self.transients]
        command = _PURGE_EXPIRED.command(keys, [*args, PURGE_BATCH])
        return Call("purge_expired", command, read.purge_batch, _PURGE_EXPIRED)

    # Listing and loading tokens

    def token_pattern(self) -> str:
        """The SCAN pattern of every token's hash (the prefix's glob characters escaped)."""
        escaped = "".join("\\" + c if c in _GLOB_SPECIAL else c for c in self.tokens)
        return escaped + "*"

    def token_id_of(self, key: bytes | str) -> str:
        """The token id in the name of a token's hash."""
        name = key.decode() if isinstance(key, bytes) else key
        return name[len(self.tokens) :]

    def export_tokens(self, token_ids: Sequence[str]) -> Call[list[TokenEntry]]:
        """One batch (at most ``TRANSFER_BATCH``) of tokens, whole; those gone are left out."""
        if not token_ids:
            return Call("scan_tokens", (), read.no_entries)
        command = _EXPORT_TOKENS.command([self.token_expiries], [self.tokens, *token_ids])
        return Call("scan_tokens", command, read.token_entries, _EXPORT_TOKENS)

    def load_tokens(self, entries: Sequence[TokenEntry]) -> Call[int]:
        """One batch (at most ``TRANSFER_BATCH``) of tokens written whole; moves the stamp."""
        if not entries:
            return Call("load_tokens", (), read.no_count)
        args: list[Arg] = [self.tokens, self.owners]
        for e in entries:
            expires: Arg = "" if e.expires_at_ms is None else int(e.expires_at_ms)
            args += [e.token_id, e.principal_key, bytes(e.record), int(e.created_ms), expires]
            args += [int(e.accessed_ms), int(e.inactive_ms)]
        command = _LOAD_TOKENS.command([self.token_expiries, self.stamp_key], args)
        return Call("load_tokens", command, read.count, _LOAD_TOKENS)

    # Transient records

    def get_transient(self, key: str) -> Call[bytes | None]:
        return Call("get_transient", ("GET", self.transients + key), read.optional_bytes)

    def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> Call[bool]:
        args: list[Arg] = [*_maybe(expected), *_maybe(new), int(expires_at_ms), key]
        args += [self.transients, SWEEP]
        keys = [self.transients + key, self.transient_expiries]
        command = _SWAP_TRANSIENT.command(keys, args)
        return Call("swap_transient", command, read.flag, _SWAP_TRANSIENT)


def _maybe(value: bytes | None) -> tuple[Arg, Arg]:
    """A value that may be absent, as two script arguments: a presence flag and the bytes."""
    return ("0", b"") if value is None else ("1", bytes(value))
