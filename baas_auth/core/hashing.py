"""Password and client-secret hashing; every comparison runs in constant time. Does no I/O.

Passwords use scrypt from ``hashlib`` (slow on purpose; the parameters travel inside each hash,
so the cost can be raised later). Client secrets are checked on every request, so they use a keyed
SHA-256 (HMAC) instead: a secret has 192 random bits, which no slow KDF would add to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from baas_auth.errors import ConfigError

__all__ = [
    "PasswordHasher",
    "hash_client_secret",
    "keyed_digest",
    "new_client_secret",
    "secret_matches",
]

_SCHEME = "scrypt"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class PasswordHasher:
    """scrypt with cost ``n`` (a power of two), block size ``r`` and parallelism ``p``.

    The default (n=2**14, r=8, p=1: 16 MiB of memory) takes roughly 40-90 ms on one core
    (measured in docs/performance.md); raise ``n`` where logins may cost more.
    Test suites may lower ``n`` (e.g. ``PasswordHasher(n=2**4)``); never in production.
    """

    n: int = 2**14
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1) or self.r < 1 or self.p < 1:
            raise ConfigError("scrypt needs n a power of two >= 2, r >= 1 and p >= 1")

    def hash(self, password: str) -> str:
        """A self-describing hash: ``scrypt$n$r$p$salt$digest``."""
        salt = secrets.token_bytes(16)
        digest = self._derive(password, salt, self.n, self.r, self.p)
        return f"{_SCHEME}${self.n}${self.r}${self.p}${_b64(salt)}${_b64(digest)}"

    def verify(self, password: str, encoded: str | None) -> bool:
        """Whether ``password`` matches ``encoded``; with None, spends the same time and fails."""
        if encoded is None:
            self._derive(password, b"\0" * 16, self.n, self.r, self.p)
            return False
        try:
            scheme, n, r, p, salt, digest = encoded.split("$")
            if scheme != _SCHEME:
                return False
            actual = self._derive(password, _unb64(salt), int(n), int(r), int(p))
            return hmac.compare_digest(actual, _unb64(digest))
        except ValueError:
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """Whether ``encoded`` was made with other parameters than this hasher's."""
        return not encoded.startswith(f"{_SCHEME}${self.n}${self.r}${self.p}$")

    @staticmethod
    def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        maxmem = 128 * r * (n + p + 2) + 1024 * 1024
        return hashlib.scrypt(_utf8(password), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32)


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (from JSON's ``"\\ud800"``) is kept as bytes that
    no real text encodes to, so it costs the same work as any value and can never match."""
    return text.encode("utf-8", "surrogatepass")


def new_client_secret(prefix: str) -> str:
    """A fresh client secret: a type prefix and 192 random bits, base64url (no ``:``)."""
    return prefix + _b64(secrets.token_bytes(24))


def hash_client_secret(secret: str, key: bytes) -> str:
    """The stored form of a client secret: HMAC-SHA-256 under the realm's hashing key."""
    return keyed_digest(secret, key)


def keyed_digest(text: str, key: bytes) -> str:
    """HMAC-SHA-256 of ``text`` under ``key``, in hex: what may rest in a store in its place."""
    return hmac.new(key, _utf8(text), hashlib.sha256).hexdigest()


def secret_matches(secret: str, stored_hash: str, key: bytes) -> bool:
    """Constant-time check of a presented secret against its stored hash."""
    expected = hash_client_secret(secret, key).encode("ascii")
    return hmac.compare_digest(expected, stored_hash.encode("ascii", "replace"))
