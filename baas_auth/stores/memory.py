"""The in-memory store: dicts behind one lock, for tests and single-process use.

Nothing survives the process; every process has its own store.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from baas_auth.errors import StoreError
from baas_auth.stores._memory_tokens import TokenTable
from baas_auth.stores.protocols import TokenEntry, TokenLookup

__all__ = ["MemoryStore"]

_TRANSIENT_SWEEP_AT = 100_000
_TRANSIENT_SWEEP_HORIZON_MS = 86_400_000  # LoginThrottle keeps its records at most a day


class MemoryStore:
    """A ``Store`` kept in this process's memory; safe to share between threads."""

    blocking = False
    """Calls never wait on disk or network, so the ASGI adapter runs them on the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        self._changes = 0  # directory writes and token removals: see change_stamp
        self._records: dict[str, bytes] = {}
        self._tokens = TokenTable()
        self._transient: dict[str, tuple[bytes, int]] = {}
        self._sweep_transient_at = _TRANSIENT_SWEEP_AT

    def __repr__(self) -> str:
        return f"MemoryStore(records={len(self._records)}, tokens={len(self._tokens)})"

    def _check_open(self) -> None:
        # Called with the lock held; a closed store fails closed instead of answering.
        if self._closed:
            raise StoreError("the memory store is closed")

    # Directory

    def get(self, key: str) -> bytes | None:
        with self._lock:
            self._check_open()
            return self._records.get(key)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        with self._lock:
            self._check_open()
            return [self._records.get(key) for key in keys]

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            self._check_open()
            self._records[key] = bytes(value)
            self._generation += 1
            self._changes += 1

    def create(self, key: str, value: bytes) -> bool:
        with self._lock:
            self._check_open()
            if key in self._records:
                return False
            self._records[key] = bytes(value)
            self._generation += 1
            self._changes += 1
            return True

    def delete(self, key: str) -> bool:
        with self._lock:
            self._check_open()
            if self._records.pop(key, None) is None:
                return False
            self._generation += 1
            self._changes += 1
            return True

    def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        created, replaced = dict(create or {}), dict(put or {})
        with self._lock:
            self._check_open()
            if any(key in self._records for key in created):
                return False
            for key, value in (*created.items(), *replaced.items()):
                self._records[key] = bytes(value)
            removed = [self._records.pop(key, None) for key in delete]
            if created or replaced or any(value is not None for value in removed):
                self._generation += 1
            self._changes += 1
            return True

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        with self._lock:
            self._check_open()
            found = [(k, v) for k, v in self._records.items() if k.startswith(prefix)]
        return sorted(found)

    def generation(self) -> int:
        with self._lock:
            self._check_open()
            return self._generation

    def change_stamp(self) -> int | None:
        """Changes with every directory write and every token removal (what a decision
        depends on; issuing a token or counting a login attempt changes no decision made)."""
        # One attribute read: atomic, and no lock, so the steady state never contends.
        return None if self._closed else self._changes

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
        with self._lock:
            self._check_open()
            if self._tokens.put(token_id, principal_key, bytes(record), created_ms, expires_at_ms):
                self._changes += 1  # a record replaced: what was decided on it may change

    def get_token(self, token_id: str) -> TokenLookup:
        with self._lock:
            self._check_open()
            return TokenLookup(self._tokens.get(token_id), self._generation)

    def touch_token(self, token_id: str, now_ms: int) -> int | None:
        with self._lock:
            self._check_open()
            return self._tokens.touch(token_id, now_ms)

    def delete_token(self, token_id: str) -> bool:
        with self._lock:
            self._check_open()
            deleted = self._tokens.delete(token_id)
            self._changes += deleted
            return deleted

    def delete_principal_tokens(self, principal_key: str) -> int:
        with self._lock:
            self._check_open()
            deleted = self._tokens.delete_owner(principal_key)
            self._changes += deleted
            return deleted

    def purge_expired(self, now_ms: int) -> int:
        with self._lock:
            self._check_open()
            self._purge_transient(now_ms)
            purged = self._tokens.purge(now_ms)
            self._changes += purged
            return purged

    # Listing and loading tokens (TokenTransfer)

    def scan_tokens(self) -> list[TokenEntry]:
        with self._lock:
            self._check_open()
            return [TokenEntry(*entry) for entry in self._tokens.entries()]

    def load_tokens(self, entries: Sequence[TokenEntry]) -> None:
        with self._lock:
            self._check_open()
            for entry in entries:
                self._tokens.put(
                    entry.token_id, entry.principal_key, bytes(entry.record),
                    entry.created_ms, entry.expires_at_ms,
                )
                self._tokens.set_uses(entry.token_id, entry.accessed_ms, entry.inactive_ms)
            self._changes += 1  # a record replaced: what was decided on it may change

    # Transient records

    def get_transient(self, key: str) -> bytes | None:
        with self._lock:
            self._check_open()
            found = self._transient.get(key)
            return None if found is None else found[0]

    def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> bool:
        with self._lock:
            self._check_open()
            found = self._transient.get(key)
            if (None if found is None else found[0]) != expected:
                return False
            if new is None:
                self._transient.pop(key, None)
            else:
                self._transient[key] = (bytes(new), expires_at_ms)
            if len(self._transient) > self._sweep_transient_at:
                self._sweep(expires_at_ms)
            return True

    def _sweep(self, expires_at_ms: int) -> None:
        """Collect old transient records (lock held). Their keys may come from attackers
        (unknown usernames), so the table must not grow without bound; the threshold doubles
        with what survives, so sweeping costs O(1) per write on average."""
        # The store has no clock: a record written now expires at most a day from now, so one
        # that ended a day before this one's end is certainly dead.
        self._purge_transient(expires_at_ms - _TRANSIENT_SWEEP_HORIZON_MS)
        self._sweep_transient_at = max(_TRANSIENT_SWEEP_AT, 2 * len(self._transient))

    def _purge_transient(self, now_ms: int) -> None:
        """Drop expired transient records (lock held)."""
        expired = [key for key, (_, ends) in self._transient.items() if ends < now_ms]
        for key in expired:
            del self._transient[key]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._records.clear()
            self._tokens.clear()
            self._transient.clear()
