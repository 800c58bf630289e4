"""How the Redis stores read replies: each function turns one reply into a store value.

Redis answers nil as None under RESP2 and RESP3 alike; a Lua ``false`` may come back as False.
Anything of another shape is a ``StoreError``: the store never guesses what a reply meant.
"""

from __future__ import annotations

from baas_auth.errors import StoreError
from baas_auth.stores.protocols import TokenEntry, TokenLookup

CONFLICT, UNCHANGED, CHANGED = 0, 1, 2  # what the transact (and put_token) scripts answer


def _unexpected(reply: object) -> StoreError:
    return StoreError(f"Redis store: unexpected reply of type {type(reply).__name__}")


def _absent(reply: object) -> bool:
    return reply is None or reply is False


def optional_bytes(reply: object) -> bytes | None:
    if _absent(reply):
        return None
    if isinstance(reply, bytes):
        return reply
    raise _unexpected(reply)


def _integer(reply: object) -> int:
    """An integer reply, or a counter stored as text (GET of an INCR key)."""
    if isinstance(reply, int) and not isinstance(reply, bool):
        return reply
    if isinstance(reply, bytes) and reply.isdigit():
        return int(reply)
    raise _unexpected(reply)


def _list(reply: object) -> list[object]:
    if isinstance(reply, list):
        return reply
    raise _unexpected(reply)


def optional_bytes_list(reply: object) -> list[bytes | None]:
    return [optional_bytes(item) for item in _list(reply)]


def no_values(reply: object) -> list[bytes | None]:
    return []


def no_entries(reply: object) -> list[TokenEntry]:
    return []


def no_count(reply: object) -> int:
    return 0


def nothing(reply: object) -> None:
    _integer(reply)


def changed(reply: object) -> bool:
    return _integer(reply) == CHANGED


def succeeded(reply: object) -> bool:
    return _integer(reply) != CONFLICT


def flag(reply: object) -> bool:
    return _integer(reply) == 1


def count(reply: object) -> int:
    return _integer(reply)


def counter(reply: object) -> int:
    return 0 if _absent(reply) else _integer(reply)


def optional_int(reply: object) -> int | None:
    return None if _absent(reply) else _integer(reply)


def pairs(reply: object) -> list[tuple[str, bytes]]:
    items = _list(reply)
    if len(items) % 2:
        raise _unexpected(reply)
    found: list[tuple[str, bytes]] = []
    for key, value in zip(items[::2], items[1::2], strict=True):
        record = optional_bytes(value)
        if record is not None:  # the key index is written with the records: never stale
            found.append((_text(key), record))
    return found


def _text(reply: object) -> str:
    """A key as text; one that is not UTF-8 (written by another client) is a store failure."""
    if isinstance(reply, bytes):
        try:
            return reply.decode()
        except UnicodeDecodeError:
            raise StoreError("Redis store: a directory key is not UTF-8") from None
    raise _unexpected(reply)


def _two(reply: object) -> tuple[object, object]:
    items = _list(reply)
    if len(items) != 2:
        raise _unexpected(reply)
    return items[0], items[1]


def stamped_counter(reply: object) -> tuple[int, int]:
    """A counter and the change stamp, read together (absent counters are 0)."""
    value, stamp = _two(reply)
    return counter(value), counter(stamp)


def stamped_token_lookup(reply: object) -> tuple[TokenLookup, int]:
    """A token lookup and the change stamp read with it."""
    items = _list(reply)
    if len(items) != 3:
        raise _unexpected(reply)
    record, generation, stamp = items
    return TokenLookup(optional_bytes(record), counter(generation)), counter(stamp)


def purge_batch(reply: object) -> tuple[int, bool]:
    purged, more = _two(reply)
    return _integer(purged), _integer(more) == 1


def _whole(reply: object) -> int:
    """An integer sent as text, or a sorted-set score that holds one ("1.8e+12" too)."""
    if isinstance(reply, bytes):
        try:
            return int(reply) if reply.lstrip(b"-").isdigit() else int(float(reply))
        except ValueError:
            pass
    return _integer(reply)


def token_entries(reply: object) -> list[TokenEntry]:
    """The tokens listed by the export script: seven values each."""
    items = _list(reply)
    if len(items) % 7:
        raise _unexpected(reply)
    entries = []
    for start in range(0, len(items), 7):
        token_id, record, owner, created, accessed, inactive, expires = items[start : start + 7]
        entries.append(
            TokenEntry(
                _text(token_id), _text(owner), optional_bytes(record) or b"",
                _whole(created), None if expires in (b"", "") else _whole(expires),
                _whole(accessed), _whole(inactive),
            )
        )
    return entries
