"""Password hashes imported from API BaaS (Usergrid), kept until each user's next login.

The original system stores a password as a credentials record: a chain of commands
(``plaintext``, ``md5``, ``sha-1``, ``bcrypt``) that the password's UTF-8 bytes run through in
order, and the base64url (unpadded) of the last command's output. ``md5`` outputs the hex
digest as ASCII, ``sha-1`` the raw digest, ``bcrypt`` the modular-crypt string (its salt and cost
are read from the stored value). ``md5`` and ``sha-1`` may prepend a per-application salt
string. Such a hash is kept here tagged ``usergrid$<chain>$<salt>$<secret>``; a successful login
replaces it with the realm's scrypt hash (``baas_auth.realm.token_flows``). Does no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import re
from collections.abc import Callable, Sequence
from types import ModuleType

from baas_auth.core.hashing import PasswordHasher
from baas_auth.errors import ConfigError, StoreError

__all__ = [
    "BCRYPT_MISSING",
    "SCHEMES",
    "WEAK_SCHEMES",
    "bcrypt_available",
    "check_legacy_secret",
    "is_legacy_hash",
    "legacy_hash",
    "verify_password",
]

SCHEMES = ("plaintext", "md5", "sha-1", "bcrypt")
WEAK_SCHEMES = frozenset({"md5", "sha-1"})
"""Fast unsalted digests: anyone holding such a hash can try billions of guesses a second."""
BCRYPT_MISSING = "bcrypt password hashes need the bcrypt package: pip install 'baas-auth[bcrypt]'"
_TAG = "usergrid"
_BCRYPT_MAX_BYTES = 72  # what the original's bcrypt reads of a password; the rest is ignored
_BCRYPT_HASH = re.compile(rb"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url, refusing anything else (ValueError)."""
    if not text.isascii() or "=" in text:
        raise ValueError("not unpadded base64url")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ValueError("not base64url") from None


def legacy_hash(chain: Sequence[str], secret: str, salt: str | None) -> str:
    """The stored form of an imported hash; ``check_legacy_secret`` has vetted its parts."""
    return f"{_TAG}${','.join(chain)}${_b64((salt or '').encode('utf-8'))}${secret}"


def is_legacy_hash(stored: str | None) -> bool:
    return stored is not None and stored.startswith(f"{_TAG}$")


def check_legacy_secret(chain: Sequence[str], secret: str) -> None:
    """Refuse (ConfigError) a stored value that no password could ever match under ``chain``:
    it would lock its user out silently."""
    try:
        raw = _unb64(secret)
    except ValueError:
        raise ConfigError("the secret is not base64url, as the original system writes it") from None
    last = chain[-1]
    if last == "bcrypt" and not _BCRYPT_HASH.fullmatch(raw):
        raise ConfigError("the bcrypt secret does not hold a $2a$ hash")
    expected = {"md5": 32, "sha-1": 20}.get(last)
    if expected is not None and len(raw) != expected:
        raise ConfigError(f"the {last} secret has {len(raw)} bytes, not {expected}")


def bcrypt_available() -> bool:
    try:
        _bcrypt()
    except StoreError:
        return False
    return True


def _bcrypt() -> ModuleType:
    try:
        return importlib.import_module("bcrypt")
    except ImportError:
        # At login: the hash cannot be checked, so the grant fails closed (503), never
        # "wrong password" (which would count against the account's throttle).
        raise StoreError(BCRYPT_MISSING) from None


def verify_password(hasher: PasswordHasher, password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (the realm's scrypt or an imported hash).

    An imported hash also costs one scrypt derivation, so that a known account with a fast
    legacy hash answers no sooner than an unknown one (which ``hasher`` makes as slow).
    """
    if not is_legacy_hash(stored):
        return hasher.verify(password, stored)
    matches = _verify_legacy(password, stored or "")
    hasher.verify(password, None)
    return matches


def _verify_legacy(password: str, stored: str) -> bool:
    try:
        _, chain_text, salt_text, secret = stored.split("$", 3)
        salt = _unb64(salt_text)
    except ValueError:
        return False  # a damaged record matches no password
    output = password.encode("utf-8", "surrogatepass")
    for name in chain_text.split(","):
        step = _STEPS.get(name)
        if step is None:
            return False
        try:
            output = step(output, salt, secret)
        except ValueError:  # a stored bcrypt value its library cannot read
            return False
    return hmac.compare_digest(_b64(output).encode("ascii"), secret.encode("ascii", "replace"))


def _md5(data: bytes, salt: bytes, _secret: str) -> bytes:
    return hashlib.md5(salt + data, usedforsecurity=False).hexdigest().encode("ascii")


def _sha1(data: bytes, salt: bytes, _secret: str) -> bytes:
    return hashlib.sha1(salt + data, usedforsecurity=False).digest()


def _plaintext(data: bytes, _salt: bytes, _secret: str) -> bytes:
    return data


def _bcrypt_step(data: bytes, _salt: bytes, secret: str) -> bytes:
    """bcrypt of ``data`` with the salt and cost of the stored hash; the original reads its
    input as UTF-8 text (a raw digest before it loses its invalid bytes the same way)."""
    existing = _unb64(secret)
    text = data.decode("utf-8", "replace").encode("utf-8")
    hashed: bytes = _bcrypt().hashpw(text[:_BCRYPT_MAX_BYTES], existing)
    return hashed


_STEPS: dict[str, Callable[[bytes, bytes, str], bytes]] = {
    "plaintext": _plaintext,
    "md5": _md5,
    "sha-1": _sha1,
    "bcrypt": _bcrypt_step,
}
