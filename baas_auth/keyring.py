"""The realm's keys: token signing keys (rotated, retired) and the client-secret hashing key.

Kept in the store by default (generated once, by whichever process gets there first), or taken
from configuration. Shell code: it reads and writes the store; the token format is in ``tokens``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Sequence

from baas_auth.errors import ConfigError, StoreError
from baas_auth.stores.protocols import Store
from baas_auth.tokens import (
    SigningKey,
    UnknownKeyError,
    VerifiedToken,
    check_expiry,
    verify_token,
)

__all__ = ["KeyRing"]

_KEYS_RECORD = "meta:signing_keys"
_SECRET_KEY_RECORD = "meta:client_secret_key"  # noqa: S105 - a record name, not a secret
_RELOAD_INTERVAL_MS = 1000
_VERIFIED_CACHE_SIZE = 20_000


def _encode_keys(keys: Sequence[SigningKey]) -> bytes:
    entries = [{"kid": k.kid, "secret": base64.b64encode(k.secret).decode()} for k in keys]
    return json.dumps(entries).encode()


class KeyRing:
    """Signing keys (current first) and the hashing key of client secrets."""

    def __init__(self, store: Store, configured: Sequence[SigningKey] | None) -> None:
        if configured is not None and not configured:
            raise ConfigError("signing_keys, when given, holds at least one key")
        self.store = store
        self.configured = None if configured is None else tuple(configured)
        self.secret_key = self._load_secret_key()
        self._by_kid_bytes: dict[bytes, SigningKey] = {}
        # Tokens whose format and MAC checked out, so that a token used again costs one dict
        # lookup instead of a MAC. Only verified tokens get in; expiry is checked every time.
        self._verified: dict[str, VerifiedToken] = {}
        self.kids: frozenset[str] = frozenset()
        self._reloaded_at_ms = -_RELOAD_INTERVAL_MS
        self.current = self.reload()

    def _load_secret_key(self) -> bytes:
        self.store.create(_SECRET_KEY_RECORD, base64.b64encode(secrets.token_bytes(32)))
        stored = self.store.get(_SECRET_KEY_RECORD)  # the first process to create it wins
        if stored is None:
            raise StoreError("the store lost the client-secret hashing key")
        try:
            key = base64.b64decode(stored, validate=True)
        except binascii.Error:
            raise StoreError("the stored client-secret hashing key is corrupted") from None
        if len(key) < 32:
            raise StoreError("the stored client-secret hashing key is corrupted")
        return key

    def _stored(self) -> list[SigningKey]:
        raw = self.store.get(_KEYS_RECORD)
        if raw is None:
            return []
        try:
            entries = json.loads(raw)
            return [
                SigningKey(e["kid"], base64.b64decode(e["secret"], validate=True)) for e in entries
            ]
        except (ValueError, TypeError, KeyError, binascii.Error):
            # ConfigError (a ValueError) too: a stored key that is too short or badly named.
            raise StoreError("the stored signing keys are corrupted") from None

    def reload(self) -> SigningKey:
        """Read the keys again (another process may have rotated them); returns the current."""
        keys = self.configured
        if keys is None:
            stored = self._stored()
            if not stored:
                self.store.create(_KEYS_RECORD, _encode_keys([SigningKey.generate()]))
                stored = self._stored()
            keys = tuple(stored)
        self._by_kid_bytes = {key.kid_bytes: key for key in keys}
        self._verified = {}
        self.kids = frozenset(key.kid for key in keys)
        self.current = keys[0]
        return keys[0]

    def verify(self, token: str, *, now_ms: int, allow_expired: bool) -> VerifiedToken:
        """Check a token. A key id this process does not know makes stored keys reload first
        (another process may have rotated), at most once a second, so that forged key ids
        cannot turn into a store read per request."""
        known = self._verified.get(token)
        if known is not None:
            return check_expiry(known, now_ms=now_ms, allow_expired=allow_expired)
        try:
            verified = verify_token(token, self._by_kid_bytes, now_ms=now_ms, allow_expired=True)
        except UnknownKeyError:
            if not self._may_reload(now_ms):
                raise
            self.reload()
            verified = verify_token(token, self._by_kid_bytes, now_ms=now_ms, allow_expired=True)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = verified
        return check_expiry(verified, now_ms=now_ms, allow_expired=allow_expired)

    def _may_reload(self, now_ms: int) -> bool:
        if self.configured is not None or now_ms - self._reloaded_at_ms < _RELOAD_INTERVAL_MS:
            return False
        self._reloaded_at_ms = now_ms
        return True

    def rotate(self) -> str:
        self._require_stored()
        key = SigningKey.generate()
        self.store.put(_KEYS_RECORD, _encode_keys([key, *self._stored()]))
        self.reload()
        return key.kid

    def retire(self, kid: str) -> None:
        self._require_stored()
        keys = self._stored()
        remaining = [key for key in keys if key.kid != kid]
        if len(remaining) == len(keys):
            raise ConfigError(f"no signing key {kid!r}")
        if keys[0].kid == kid:
            raise ConfigError("the current signing key cannot be retired; rotate first")
        self.store.put(_KEYS_RECORD, _encode_keys(remaining))
        self.reload()

    def _require_stored(self) -> None:
        if self.configured is not None:
            raise ConfigError("signing keys come from configuration; change them there")
