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
from collections.abc import Sequence

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


class KeyRing:
    """Signing keys (current first), the client-secret hashing key, and verified tokens."""

    __slots__ = ("_by_kid_bytes", "_verified", "configured", "current", "kids", "secret_key")

    def __init__(
        self,
        keys: Sequence[SigningKey],
        secret_key: bytes,
        *,
        configured: bool,
    ) -> None:
        self.current = keys[0]
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
    keys = yield from _stored_keys()
    if not keys:
        raise StoreError("the store lost the realm's signing keys")
    return KeyRing(keys, secret_key, configured=False)


def provisional_ring(configured: Sequence[SigningKey] | None) -> KeyRing:
    """Keys held in memory only, by a realm whose store holds none yet (no realm set up): no
    token verifies with them, and setting the realm up stores them (``store_keys``)."""
    keys = configured or [SigningKey.generate()]
    return KeyRing(keys, secrets.token_bytes(32), configured=configured is not None)


def store_keys(ring: KeyRing) -> Flow[None]:
    """Keep ``ring``'s keys in a store being set up; keys another process stored first win."""
    yield from create(_SECRET_KEY_RECORD, base64.b64encode(ring.secret_key))
    if not ring.configured:
        yield from create(_KEYS_RECORD, _encode_keys([ring.current]))


def holds_keys() -> Flow[bool]:
    """Whether the store holds a realm's keys (a store set up before realm markers)."""
    found = yield from get_many([_KEYS_RECORD, _SECRET_KEY_RECORD])
    return any(raw is not None for raw in found)


def rotate_key(ring: KeyRing) -> Flow[str]:
    """Make a new current signing key; returns its id."""
    _require_stored(ring)
    key = SigningKey.generate()
    stored = yield from _stored_keys()
    yield from put(_KEYS_RECORD, _encode_keys([key, *stored]))
    return key.kid


def retire_key(ring: KeyRing, kid: str) -> Flow[None]:
    """Drop a signing key: every token it signed stops working."""
    _require_stored(ring)
    keys = yield from _stored_keys()
    remaining = [key for key in keys if key.kid != kid]
    if len(remaining) == len(keys):
        raise ConfigError(f"no signing key {kid!r}")
    if keys[0].kid == kid:
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


def _stored_keys() -> Flow[list[SigningKey]]:
    raw = yield from get(_KEYS_RECORD)
    if raw is None:
        return []
    try:
        entries = json.loads(raw)
        return [_decode_key(entry) for entry in entries]
    except (ValueError, TypeError, KeyError, binascii.Error):
        # ConfigError (a ValueError) too: a stored key that is too short or badly named.
        raise StoreError("the stored signing keys are corrupted") from None


def _decode_key(entry: dict[str, str]) -> SigningKey:
    return SigningKey(entry["kid"], base64.b64decode(entry["secret"], validate=True))


def _encode_keys(keys: Sequence[SigningKey]) -> bytes:
    entries = [{"kid": k.kid, "secret": base64.b64encode(k.secret).decode()} for k in keys]
    return json.dumps(entries).encode()
