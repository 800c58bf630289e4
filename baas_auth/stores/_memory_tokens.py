"""The memory store's token records, kept small: a few hundred bytes per live token.

A realm may hold millions of live tokens, and each one's record mostly repeats its owner's
(kind, subject, org, app, username): only the times differ. So the first record stored for an
owner is kept whole, as that owner's template, and every token holds one ``bytes``: a fixed
header (owner number, times, and how much of the template its record shares at each end)
followed by the bytes its record does not share. Ids of the realm's form (64 hex digits) are
kept as the 32 bytes they spell. Uses (``touch_token``) are kept apart, for the few tokens
whose owners have roles that lapse with inactivity. Not thread-safe: the store locks.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field

__all__ = ["TokenTable"]

# owner number, created ms, expires ms (_NEVER: never), shared prefix, shared suffix
_HEADER = struct.Struct(">Iqqii")
_NEVER = -(2**63)

TokenKey = bytes | str


@dataclass(slots=True)
class _Owner:
    """A principal whose tokens are stored: its key, its template record, its tokens."""

    key: str
    number: int
    template: bytes
    tokens: set[TokenKey] = field(default_factory=set)


def _token_key(token_id: str) -> TokenKey:
    """The realm's ids as the 32 bytes they spell (half the memory); any other id as it is.

    Only 64 lower-case hex digits convert (``fromhex`` alone would also take upper case and
    spaces), so two different ids never share a key: ``islower`` refuses upper case, and 32
    bytes from 64 characters leave no room for a space."""
    if len(token_id) == 64 and token_id.islower():
        try:
            key = bytes.fromhex(token_id)
        except ValueError:
            return token_id
        if len(key) == 32:
            return key
    return token_id


def _shared_prefix(a: bytes, b: bytes) -> int:
    """The length of the longest common prefix (binary search over slice comparisons, each
    done in C: a handful of them for a record of a few hundred bytes)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _shared_suffix(a: bytes, b: bytes, limit: int) -> int:
    """The length of the longest common suffix, at most ``limit``."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle :] == b[len(b) - middle :]:
            low = middle
        else:
            high = middle - 1
    return low


class TokenTable:
    """Token records by id, indexed by owner; the memory store's lock guards every call."""

    __slots__ = ("_by_number", "_entries", "_numbers", "_owners", "_uses")

    def __init__(self) -> None:
        self._entries: dict[TokenKey, bytes] = {}
        self._owners: dict[str, _Owner] = {}
        self._by_number: dict[int, _Owner] = {}
        self._uses: dict[TokenKey, tuple[int, int]] = {}
        """(last use, longest gap) of tokens used since they were stored."""
        self._numbers = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def put(
        self, token_id: str, owner_key: str, record: bytes, created_ms: int, expires: int | None
    ) -> bool:
        """Store a token (replacing one with the same id); True if one was replaced."""
        key = _token_key(token_id)
        replaced = self._remove(key)
        owner = self._owners.get(owner_key)
        if owner is None:
            owner = _Owner(owner_key, next(self._numbers), record)
            self._owners[owner_key] = owner
            self._by_number[owner.number] = owner
        self._entries[key] = self._pack(owner, record, created_ms, expires)
        owner.tokens.add(key)
        return replaced

    def get(self, token_id: str) -> bytes | None:
        entry = self._entries.get(_token_key(token_id))
        return None if entry is None else self._record(entry)

    def _record(self, entry: bytes) -> bytes:
        number, _, _, prefix, suffix = _HEADER.unpack_from(entry)
        template = self._by_number[number].template
        return template[:prefix] + entry[_HEADER.size :] + template[len(template) - suffix :]

    def entries(self) -> list[tuple[str, str, bytes, int, int | None, int, int]]:
        """Every token as (id, owner, record, created, expires, last use, longest gap),
        sorted by id."""
        found = []
        for key, entry in self._entries.items():
            number, created_ms, expires, _, _ = _HEADER.unpack_from(entry)
            token_id = key.hex() if isinstance(key, bytes) else key
            accessed_ms, inactive_ms = self._uses.get(key, (created_ms, 0))
            owner = self._by_number[number].key
            never = expires == _NEVER
            found.append(
                (token_id, owner, self._record(entry), created_ms,
                 None if never else expires, accessed_ms, inactive_ms)
            )
        return sorted(found)

    def set_uses(self, token_id: str, accessed_ms: int, inactive_ms: int) -> None:
        """Set a stored token's last use and longest gap (a token copied from another store)."""
        key = _token_key(token_id)
        if key in self._entries:
            self._uses[key] = (accessed_ms, inactive_ms)

    def touch(self, token_id: str, now_ms: int) -> int | None:
        key = _token_key(token_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        created_ms: int = _HEADER.unpack_from(entry)[1]
        accessed_ms, inactive_ms = self._uses.get(key, (created_ms, 0))
        inactive_ms = max(inactive_ms, now_ms - accessed_ms)
        self._uses[key] = (now_ms, inactive_ms)
        return inactive_ms

    def delete(self, token_id: str) -> bool:
        return self._remove(_token_key(token_id))

    def delete_owner(self, owner_key: str) -> int:
        owner = self._owners.get(owner_key)
        if owner is None:
            return 0
        removed = list(owner.tokens)
        for key in removed:
            self._remove(key)
        return len(removed)

    def purge(self, now_ms: int) -> int:
        """Remove the tokens whose expiry is before ``now_ms``; return how many."""
        expired = [
            key
            for key, entry in self._entries.items()
            if _NEVER != _HEADER.unpack_from(entry)[2] < now_ms
        ]
        for key in expired:
            self._remove(key)
        return len(expired)

    def clear(self) -> None:
        self._entries.clear()
        self._owners.clear()
        self._by_number.clear()
        self._uses.clear()

    def _pack(self, owner: _Owner, record: bytes, created_ms: int, expires: int | None) -> bytes:
        template = owner.template
        prefix = _shared_prefix(record, template)
        suffix = _shared_suffix(record, template, min(len(record), len(template)) - prefix)
        rest = record[prefix : len(record) - suffix]
        never = _NEVER if expires is None else expires
        return _HEADER.pack(owner.number, created_ms, never, prefix, suffix) + rest

    def _remove(self, key: TokenKey) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._uses.pop(key, None)
        owner = self._by_number[_HEADER.unpack_from(entry)[0]]
        owner.tokens.discard(key)
        if not owner.tokens:  # its template goes with its last token
            del self._owners[owner.key]
            del self._by_number[owner.number]
        return True
