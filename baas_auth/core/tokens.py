"""Access-token format, issuing, verification and time-to-live rules (behaviour §3). Does no I/O.

A token is the unpadded base64url form of 65 bytes::

    version (1) | key id (6) | random part (18) | expiry ms (8, big-endian; 0 = never) | MAC (32)

The MAC is HMAC-SHA-256 of the first 33 bytes under the signing key named by the key id. The
store keys a token's record by the SHA-256 of its random part, so neither the record nor a copy
of the store is enough to rebuild a usable token. Format, MAC and expiry are checked here, before
any store lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from baas_auth.errors import (
    ConfigError,
    ExpiredTokenError,
    IllegalArgumentError,
    MalformedTokenError,
)

__all__ = [
    "DEFAULT_MAX_TTL_MS",
    "SigningKey",
    "UnknownKeyError",
    "VerifiedToken",
    "check_expiry",
    "expires_in_seconds",
    "issue_token",
    "resolve_ttl_ms",
    "verify_token",
]

DEFAULT_MAX_TTL_MS = 604_800_000  # 7 days, the original system's default and ceiling
_VERSION = 1
_KID_BYTES = 6
_RANDOM_BYTES = 18  # 144 bits; the behaviour asks for at least 128
_MAC_BYTES = 32
_SIGNED_BYTES = 1 + _KID_BYTES + _RANDOM_BYTES + 8
_TOKEN_BYTES = _SIGNED_BYTES + _MAC_BYTES
_TOKEN_CHARS = (_TOKEN_BYTES * 4 + 2) // 3  # unpadded base64url length
_TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{_TOKEN_CHARS}}}")
_MAX_EXPIRY_MS = 2**63 - 1
_KID_SHAPE = re.compile(r"[A-Za-z0-9_-]{8}")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A MAC key and its public id (``kid``, 8 base64url characters)."""

    kid: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise ConfigError("a signing key needs at least 32 bytes of secret")
        _kid_bytes(self.kid)

    @classmethod
    def generate(cls) -> SigningKey:
        """A new key with a random id and 256 random bits."""
        kid = "-"
        # An id starting with "-" reads as an option on a command line (`retire-key -aB…`);
        # drawing again when it does keeps 47.98 of the 48 random bits.
        while kid.startswith("-"):
            kid = base64.urlsafe_b64encode(secrets.token_bytes(_KID_BYTES)).decode("ascii")
        return cls(kid, secrets.token_bytes(32))

    @property
    def kid_bytes(self) -> bytes:
        return _kid_bytes(self.kid)


def _kid_bytes(kid: str) -> bytes:
    if not isinstance(kid, str) or not _KID_SHAPE.fullmatch(kid):
        raise ConfigError("a signing key id is 8 base64url characters (6 bytes)")
    return base64.urlsafe_b64decode(kid)


class UnknownKeyError(MalformedTokenError):
    """A well-formed token signed with a key id this realm does not hold (yet, or any more).

    The same 401 ``auth_bad_access_token`` as a damaged token (a client must sign in again
    either way), but its description says why, so that a token refused after ``retire-key`` is
    not taken for a corrupt one when an operator reads the answer or the log."""

    default_description = (
        "Unable to authenticate: the access token was signed with a key this realm does not "
        "hold (a retired key, or not this realm's)"
    )


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose format, MAC and expiry have been checked; its record is not yet looked up."""

    token_id: str
    kid: str
    expires_at_ms: int | None


def token_id_for(random_part: bytes) -> str:
    """The store key of a token: a SHA-256 of its random part, never the token itself."""
    return hashlib.sha256(random_part).hexdigest()


def issue_token(key: SigningKey, *, expires_at_ms: int | None) -> tuple[str, str]:
    """Make a new token; return ``(token, token_id)``."""
    random_part = secrets.token_bytes(_RANDOM_BYTES)
    expiry = 0 if expires_at_ms is None else expires_at_ms
    signed = bytes([_VERSION]) + key.kid_bytes + random_part + expiry.to_bytes(8, "big")
    mac = hmac.new(key.secret, signed, hashlib.sha256).digest()
    token = base64.urlsafe_b64encode(signed + mac).rstrip(b"=").decode("ascii")
    return token, token_id_for(random_part)


def verify_token(
    token: str, keys: Mapping[bytes, SigningKey], *, now_ms: int, allow_expired: bool = False
) -> VerifiedToken:
    """Check a token's format, key id, MAC and embedded expiry.

    Raises:
        MalformedTokenError: not a token of this realm (shape, version, unknown key, MAC).
        ExpiredTokenError: the embedded expiry has passed (``now_ms >= expiry``).
    """
    raw = _decode(token)
    key = keys.get(raw[1 : 1 + _KID_BYTES])
    if key is None:
        raise UnknownKeyError()
    expected = hmac.digest(key.secret, raw[:_SIGNED_BYTES], "sha256")
    if not hmac.compare_digest(expected, raw[_SIGNED_BYTES:]):
        raise MalformedTokenError()
    expiry = int.from_bytes(raw[_SIGNED_BYTES - 8 : _SIGNED_BYTES], "big")
    random_part = raw[1 + _KID_BYTES : _SIGNED_BYTES - 8]
    verified = VerifiedToken(token_id_for(random_part), key.kid, None if expiry == 0 else expiry)
    return check_expiry(verified, now_ms=now_ms, allow_expired=allow_expired)


def check_expiry(verified: VerifiedToken, *, now_ms: int, allow_expired: bool) -> VerifiedToken:
    """``verified`` itself, or ExpiredTokenError once ``now_ms`` reaches its expiry."""
    expires = verified.expires_at_ms
    if expires is not None and now_ms >= expires and not allow_expired:
        raise ExpiredTokenError()
    return verified


def _decode(token: str) -> bytes:
    if len(token) != _TOKEN_CHARS or not _TOKEN_SHAPE.fullmatch(token):
        raise MalformedTokenError()
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # The last character may carry bits that decoding drops; re-encoding catches such a twin.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise MalformedTokenError()
    if raw[0] != _VERSION:
        raise MalformedTokenError()
    return raw


def resolve_ttl_ms(requested: object, *, ceiling_ms: int | None) -> int | None:
    """The life of a new token in ms, or None for never (behaviour §3).

    ``requested`` omitted (None) or 0 means the ceiling; ``ceiling_ms`` None means there is no
    ceiling, and then an omitted ttl gives a token that never expires.

    Raises:
        IllegalArgumentError: ``requested`` is not a whole number, is negative, or is above the
            ceiling.
    """
    ttl = _as_ttl(requested)
    if ttl == 0:
        return ceiling_ms
    if ceiling_ms is not None and ttl > ceiling_ms:
        raise IllegalArgumentError(
            f"Your token age cannot be more than the maximum age of {ceiling_ms} milliseconds"
        )
    return ttl


def _as_ttl(requested: object) -> int:
    if requested is None:
        return 0
    if isinstance(requested, bool) or not isinstance(requested, int):
        raise IllegalArgumentError("ttl must be a number >= 0")
    if requested < 0:
        raise IllegalArgumentError("ttl must be a number >= 0")
    return requested


def expires_at(created_ms: int, ttl_ms: int | None) -> int | None:
    """The absolute expiry of a token created at ``created_ms``, capped to fit the format."""
    if ttl_ms is None:
        return None
    return min(created_ms + ttl_ms, _MAX_EXPIRY_MS)


def expires_in_seconds(ttl_ms: int | None) -> int | None:
    """``expires_in`` of a token response: its life in whole seconds, None for never."""
    return None if ttl_ms is None else ttl_ms // 1000
