"""The realm's keys: token signing keys (rotated, retired) and the client-secret hashing key.

``KeyRing`` is a value: the keys and a memo of tokens already verified. Loading it, rotating and
retiring keys are flows, because the keys are kept in the store by default (generated once, when
the realm is set up: ``baas_auth.realm.marker``); they may come from configuration instead.
Loading never generates keys: a store without them holds no realm, and a realm that lost them
is a store failure.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from baas_auth.core.tokens import (
    SigningKey,
    UnknownKeyError,
    VerifiedToken,
    check_expiry,
    verify_token,
)
from baas_auth.errors import ConfigError, StoreError
from baas_auth.realm.store_commands import Flow, create, get, get_many, put

__all__ = [
    "RELOAD_INTERVAL_MS",
    "KeyDates",
    "KeyRing",
    "UnknownKeyError",
    "holds_keys",
    "load_key_ring",
    "provisional_ring",
    "retire_key",
    "rotate_key",
    "store_keys",
]

_KEYS_RECORD = "meta:signing_keys"
_SECRET_KEY_RECORD = "meta:client_secret_key"  # noqa: S105 - a record name, not a secret
RELOAD_INTERVAL_MS = 1000
_VERIFIED_CACHE_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class KeyDates:
    """When a stored signing key signed tokens: from ``since_ms`` (it became current) until
    ``until_ms`` (a rotation replaced it; None while it is current). None where unknown: keys
    stored before their dates were kept, and keys from configuration."""

    since_ms: int | None = None
    until_ms: int | None = None


StoredKey = tuple[SigningKey, KeyDates]


class KeyRing:
    """Signing keys (current first), the client-secret hashing key, and verified tokens."""

    __slots__ = (
        "_by_kid_bytes",
        "_verified",
        "configured",
        "current",
        "dates",
        "kids",
        "secret_key",
    )

    def __init__(
        self,
        keys: Sequence[SigningKey],
        secret_key: bytes,
        *,
        configured: bool,
        dates: Mapping[str, KeyDates] | None = None,
    ) -> None:
        self.current = keys[0]
        self.dates: Mapping[str, KeyDates] = dict(dates or {})
        """Each stored key's dates, by key id (what ``list-keys`` shows)."""
        self.kids = frozenset(key.kid for key in keys)
        self.secret_key = secret_key
        self.configured = configured
        self._by_kid_bytes = {key.kid_bytes: key for key in keys}
        # Tokens whose format and MAC checked out, so that a token used again costs one dict
        # lookup instead of a MAC. Only verified tokens get in; expiry is checked every time.
        self._verified: dict[str, VerifiedToken] = {}

    def knows(self, token: str) -> bool:
        """Whether ``token`` was verified by this ring before (its expiry still to check)."""
        return token in self._verified

    def verify(self, token: str, *, now_ms: int, allow_expired: bool) -> VerifiedToken:
        """Check a token's format, key id, MAC and expiry (``UnknownKeyError`` for a key id
        this ring does not hold: the caller may reload the ring and try once more)."""
        known = self._verified.get(token)
        if known is not None:
            return check_expiry(known, now_ms=now_ms, allow_expired=allow_expired)
        verified = verify_token(token, self._by_kid_bytes, now_ms=now_ms, allow_expired=True)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = verified
        return check_expiry(verified, now_ms=now_ms, allow_expired=allow_expired)


def load_key_ring(
    configured: Sequence[SigningKey] | None, known: KeyRing | None = None
) -> Flow[KeyRing]:
    """The keys as the store (or the configuration) has them now. The client-secret hashing
    key never changes once made: a ring ``known`` already holds it, and it is not read again.
    ``StoreError`` when the store holds no keys (a realm's store has them from its set-up)."""
    secret_key = known.secret_key if known is not None else (yield from _secret_key())
    if configured is not None:
        return KeyRing(configured, secret_key, configured=True)
    stored = yield from _stored_keys()
    if not stored:
        raise StoreError("the store lost the realm's signing keys")
    keys = [key for key, _ in stored]
    dates = {key.kid: when for key, when in stored}
    return KeyRing(keys, secret_key, configured=False, dates=dates)


def provisional_ring(configured: Sequence[SigningKey] | None) -> KeyRing:
    """Keys held in memory only, by a realm whose store holds none yet (no realm set up): no
    token verifies with them, and setting the realm up stores them (``store_keys``)."""
    keys = configured or [SigningKey.generate()]
    return KeyRing(keys, secrets.token_bytes(32), configured=configured is not None)


def store_keys(ring: KeyRing, now_ms: int) -> Flow[None]:
    """Keep ``ring``'s keys in a store being set up; keys another process stored first win."""
    yield from create(_SECRET_KEY_RECORD, base64.b64encode(ring.secret_key))
    if not ring.configured:
        yield from create(_KEYS_RECORD, _encode_keys([(ring.current, KeyDates(now_ms))]))


def holds_keys() -> Flow[bool]:
    """Whether the store holds a realm's keys (a store set up before realm markers)."""
    found = yield from get_many([_KEYS_RECORD, _SECRET_KEY_RECORD])
    return any(raw is not None for raw in found)


def rotate_key(ring: KeyRing, now_ms: int) -> Flow[str]:
    """Make a new current signing key; returns its id. The key it replaces signs until now."""
    _require_stored(ring)
    key = SigningKey.generate()
    stored = yield from _stored_keys()
    replaced = [(old, _ended(when, now_ms)) for old, when in stored[:1]]
    yield from put(_KEYS_RECORD, _encode_keys([(key, KeyDates(now_ms)), *replaced, *stored[1:]]))
    return key.kid


def _ended(when: KeyDates, now_ms: int) -> KeyDates:
    return when if when.until_ms is not None else KeyDates(when.since_ms, now_ms)


def retire_key(ring: KeyRing, kid: str) -> Flow[None]:
    """Drop a signing key: every token it signed stops working."""
    _require_stored(ring)
    keys = yield from _stored_keys()
    remaining = [(key, when) for key, when in keys if key.kid != kid]
    if len(remaining) == len(keys):
        raise ConfigError(f"no signing key {kid!r}")
    if keys[0][0].kid == kid:
        raise ConfigError("the current signing key cannot be retired; rotate first")
    yield from put(_KEYS_RECORD, _encode_keys(remaining))


def _require_stored(ring: KeyRing) -> None:
    if ring.configured:
        raise ConfigError("signing keys come from configuration; change them there")


def _secret_key() -> Flow[bytes]:
    stored = yield from get(_SECRET_KEY_RECORD)
    if stored is None:
        raise StoreError("the store lost the client-secret hashing key")
    try:
        key = base64.b64decode(stored, validate=True)
    except binascii.Error:
        raise StoreError("the stored client-secret hashing key is corrupted") from None
    if len(key) < 32:
        raise StoreError("the stored client-secret hashing key is corrupted")
    return key


def _stored_keys() -> Flow[list[StoredKey]]:
    raw = yield from get(_KEYS_RECORD)
    if raw is None:
        return []
    try:
        entries = json.loads(raw)
        return [_decode_key(entry) for entry in entries]
    except (ValueError, TypeError, KeyError, binascii.Error):
        # ConfigError (a ValueError) too: a stored key that is too short or badly named.
        raise StoreError("the stored signing keys are corrupted") from None


def _decode_key(entry: dict[str, object]) -> StoredKey:
    secret = entry["secret"]
    if not isinstance(secret, str) or not isinstance(entry["kid"], str):
        raise TypeError("a stored key's id and secret are text")
    key = SigningKey(entry["kid"], base64.b64decode(secret, validate=True))
    return key, KeyDates(_moment(entry.get("since_ms")), _moment(entry.get("until_ms")))


def _moment(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("a stored key's date is a whole number of milliseconds")
    return value


def _encode_keys(keys: Sequence[StoredKey]) -> bytes:
    entries = [_entry(key, when) for key, when in keys]
    return json.dumps(entries).encode()


def _entry(key: SigningKey, when: KeyDates) -> dict[str, object]:
    entry: dict[str, object] = {"kid": key.kid, "secret": base64.b64encode(key.secret).decode()}
    if when.since_ms is not None:
        entry["since_ms"] = when.since_ms
    if when.until_ms is not None:
        entry["until_ms"] = when.until_ms
    return entry
