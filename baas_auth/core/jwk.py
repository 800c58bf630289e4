"""Public keys of a provider: a JWK set (RFC 7517) parsed into keys that verify signatures.

Keys that cannot serve are skipped, not fatal: an encryption key (``use: enc``), a key whose
``key_ops`` exclude ``verify``, an unknown ``kty`` or curve, a key pinned to an algorithm the
provider does not allow, an RSA key under 2048 bits, or one that does not import. Only public
members are imported, so a private member published by mistake is never kept. The JOSE library
(the ``baas-auth[jwt]`` extra) is imported when first needed, so the package imports without it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from baas_auth.core.identity_providers import ALGORITHM_KEY_TYPES
from baas_auth.errors import ConfigError

__all__ = ["KeySet", "PublicKey", "parse_jwks", "require_jwt_support", "signature_matches"]

_PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
_KEY_CLASSES = {"RSA": "RSAKey", "EC": "ECKey", "OKP": "OKPKey"}
_MIN_RSA_BITS = 2048  # RFC 7518 §3.3


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One verification key: what the token's header is matched against, and the key itself."""

    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    key: Any  # the JOSE library's key object, opaque to the verifier

    def fits(self, alg: str) -> bool:
        """Whether this key may verify an ``alg`` signature: its type, curve and pinned alg."""
        kty, curves = ALGORITHM_KEY_TYPES[alg]
        if self.kty != kty or (curves and self.crv not in curves):
            return False
        return self.alg is None or self.alg == alg


@dataclass(frozen=True, slots=True)
class KeySet:
    """The usable keys of one provider, in the order its JWK set listed them."""

    keys: tuple[PublicKey, ...] = ()

    def named(self, kid: str | None) -> tuple[PublicKey, ...]:
        """The keys a token's ``kid`` selects; a token without one only when there is one key."""
        if kid is None:
            return self.keys if len(self.keys) == 1 else ()
        return tuple(key for key in self.keys if key.kid == kid)


def require_jwt_support() -> ModuleType:
    """The JOSE library's key module, or ConfigError saying how to install it."""
    try:
        return importlib.import_module("joserfc.jwk")
    except ImportError as exc:
        raise ConfigError(
            "tokens from identity providers need the jwt extra: pip install 'baas-auth[jwt]'"
        ) from exc


def parse_jwks(document: object, algorithms: Iterable[str]) -> KeySet:
    """The usable keys of a JWK set document (``{"keys": [...]}``); others are skipped."""
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        return KeySet()
    allowed = frozenset(algorithms)
    parsed = (_public_key(entry, allowed) for entry in entries if isinstance(entry, Mapping))
    return KeySet(tuple(key for key in parsed if key is not None))


def signature_matches(alg: str, key: PublicKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``key``'s ``alg`` signature of ``signing_input``."""
    algorithms, jose_error = _signature_library()
    try:
        return bool(algorithms[alg].verify(signing_input, signature, key.key))
    except (ValueError, TypeError, KeyError, jose_error):
        # A signature of the wrong length or shape for the key is simply not a match.
        return False


@functools.cache
def _signature_library() -> tuple[Mapping[str, Any], type[Exception]]:
    """The library's algorithms by name and its error class, looked up once (not per token)."""
    jws = importlib.import_module("joserfc.jws")
    return jws.JWSRegistry.algorithms, importlib.import_module("joserfc.errors").JoseError


def _public_key(entry: Mapping[str, object], allowed: frozenset[str]) -> PublicKey | None:
    kty, kid, alg, crv = (entry.get(name) for name in ("kty", "kid", "alg", "crv"))
    if not _may_verify(entry) or not isinstance(kty, str) or kty not in _PUBLIC_MEMBERS:
        return None
    if kid is not None and not isinstance(kid, str):
        return None
    if alg is not None and alg not in allowed:
        return None
    crv = crv if isinstance(crv, str) else None
    candidate = PublicKey(kid=kid, kty=kty, crv=crv, alg=alg, key=None)
    if not any(candidate.fits(name) for name in allowed):
        return None
    imported = _import_public(kty, entry)
    return None if imported is None else PublicKey(kid, kty, crv, alg, imported)


def _may_verify(entry: Mapping[str, object]) -> bool:
    use, key_ops = entry.get("use"), entry.get("key_ops")
    if use is not None and use != "sig":
        return False
    return key_ops is None or (isinstance(key_ops, list) and "verify" in key_ops)


def _import_public(kty: str, entry: Mapping[str, object]) -> Any:
    members = {name: entry.get(name) for name in _PUBLIC_MEMBERS[kty]}
    if not all(isinstance(value, str) for value in members.values()):
        return None
    if kty == "RSA" and _rsa_bits(str(members["n"])) < _MIN_RSA_BITS:
        return None  # checked before importing: the library would only warn
    key_class = getattr(require_jwt_support(), _KEY_CLASSES[kty])
    try:
        key = key_class.import_key({"kty": kty, **members})
    except Exception:  # whatever the library finds wrong, the key is skipped, never used
        return None
    return key


def _rsa_bits(modulus: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()
