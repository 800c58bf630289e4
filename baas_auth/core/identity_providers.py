"""An external identity provider as a frozen value, validated when it is made (behaviour §8).

Everything a token from that provider is checked against: its exact issuer, the audience that
must be present, where its public keys come from, the algorithms allowed, and how claims become
a username, roles and groups. HMAC algorithms and ``none`` are refused outright: a provider's
keys are public, so a shared-secret algorithm would let anyone who can read them sign.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

from baas_auth.core.identifiers import role_name
from baas_auth.errors import ConfigError

__all__ = [
    "ALGORITHM_KEY_TYPES",
    "DEFAULT_ALGORITHMS",
    "PROVIDER_FIELDS",
    "IdentityProvider",
    "claim_path",
    "is_loopback_host",
]

ALGORITHM_KEY_TYPES: Mapping[str, tuple[str, frozenset[str]]] = MappingProxyType({
    # alg -> (the JWK ``kty`` it needs, the ``crv`` values allowed; empty: no curve)
    "RS256": ("RSA", frozenset()),
    "RS384": ("RSA", frozenset()),
    "RS512": ("RSA", frozenset()),
    "PS256": ("RSA", frozenset()),
    "PS384": ("RSA", frozenset()),
    "PS512": ("RSA", frozenset()),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "Ed25519": ("OKP", frozenset({"Ed25519"})),
})
"""The public-key algorithms a provider may allow, and the key each one must be verified with:
the token's ``alg`` never chooses the kind of key (RFC 8725 §3.1, key confusion)."""

DEFAULT_ALGORITHMS = ("RS256", "ES256")
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
"""JWK members that hold a private or shared secret (RFC 7518 §6.2.2, §6.3.2, §6.4)."""
_MAX_LEEWAY_S = 60
_MAX_COOLDOWN_S = 3600
_MAX_TIMEOUT_S = 60


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` names this machine: ``localhost`` or a loopback address."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def claim_path(path: str | None, what: str) -> tuple[str, ...] | None:
    """A dotted claim path (``realm_access.roles``) as its parts, or ConfigError."""
    if path is None:
        return None
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise ConfigError(f"{what} is a claim name or a dotted path such as realm_access.roles")
    return tuple(path.split("."))


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    """A provider whose signed JWTs an app (or, with no app, an org's admins) accepts.

    Made with keyword arguments as in ``Realm.add_identity_provider``; every field is checked
    here, so a bad provider is refused when configured, never while serving. ``jwks`` (an inline
    key set) and ``role_map`` are copied into read-only mappings; the value is not hashable.
    """

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks: Mapping[str, object] | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    username_claim: str = "sub"
    roles_claim: str | None = None
    groups_claim: str | None = None
    role_map: Mapping[str, str] | None = None
    provision: bool = False
    leeway_s: int = 30
    cooldown_s: float = 30
    timeout_s: float = 5

    def __post_init__(self) -> None:
        _text(self.issuer, "issuer")
        _text(self.audience, "audience")
        self._check_key_source()
        object.__setattr__(self, "algorithms", _algorithms(self.algorithms))
        claim_path(self.username_claim, "username_claim")
        claim_path(self.roles_claim, "roles_claim")
        claim_path(self.groups_claim, "groups_claim")
        if self.role_map is not None:
            object.__setattr__(self, "role_map", _role_map(self.role_map))
        if not isinstance(self.provision, bool):
            raise ConfigError("provision is True or False")
        _bounded(self.leeway_s, 0, _MAX_LEEWAY_S, "leeway_s", whole=True)
        _bounded(self.cooldown_s, 1, _MAX_COOLDOWN_S, "cooldown_s")
        _bounded(self.timeout_s, 0.1, _MAX_TIMEOUT_S, "timeout_s")

    def as_dict(self) -> dict[str, object]:
        """Every setting as plain JSON values: how the realm stores a provider, and how the
        command line shows one."""
        return {
            "issuer": self.issuer,
            "audience": self.audience,
            "jwks_url": self.jwks_url,
            "jwks": None if self.jwks is None else dict(self.jwks),
            "algorithms": list(self.algorithms),
            "username_claim": self.username_claim,
            "roles_claim": self.roles_claim,
            "groups_claim": self.groups_claim,
            "role_map": None if self.role_map is None else dict(self.role_map),
            "provision": self.provision,
            "leeway_s": self.leeway_s,
            "cooldown_s": self.cooldown_s,
            "timeout_s": self.timeout_s,
        }

    def _check_key_source(self) -> None:
        if (self.jwks_url is None) == (self.jwks is None):
            raise ConfigError("give exactly one of jwks_url and jwks (an inline key set)")
        if self.jwks_url is not None:
            _jwks_url(self.jwks_url)
        else:
            object.__setattr__(self, "jwks", _inline_jwks(self.jwks))


def _text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value or not value.isprintable() or len(value) > 2048:
        raise ConfigError(f"{what} is a non-empty printable string")


def _jwks_url(url: str) -> None:
    """HTTPS only; plain HTTP only to a loopback host (tests, a provider on the same machine)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname or parts.fragment or parts.username:
        raise ConfigError("jwks_url is an absolute https:// URL without credentials or fragment")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        return
    raise ConfigError("jwks_url must use https:// (http:// only for a loopback host)")


def _inline_jwks(jwks: object) -> Mapping[str, object]:
    """A detached, read-only copy of an inline JWK set (its shape only: keys parse later)."""
    try:
        copy = json.loads(json.dumps(jwks))
    except (TypeError, ValueError) as exc:
        raise ConfigError("jwks is a JSON object: {'keys': [...]}") from exc
    keys = copy.get("keys") if isinstance(copy, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
        raise ConfigError("jwks is a JSON object with a non-empty list of keys: {'keys': [...]}")
    # A private member given by mistake is never kept: a provider's key set is public data
    # (stored, listed, exported), and verifying needs none of them.
    copy["keys"] = [{name: value for name, value in key.items() if name not in _PRIVATE_MEMBERS}
                    for key in keys]
    return MappingProxyType(copy)


def _algorithms(algorithms: object) -> tuple[str, ...]:
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    names: tuple[object, ...] = tuple(algorithms) if isinstance(algorithms, list | tuple) else ()
    if not names:
        raise ConfigError("algorithms names at least one algorithm")
    for name in names:
        if isinstance(name, str) and (name.lower() == "none" or name.upper().startswith("HS")):
            raise ConfigError(
                f"algorithm {name!r} is refused: a provider's keys are public, so only "
                "public-key signatures (RS*, PS*, ES*, EdDSA) can prove who signed"
            )
        if not isinstance(name, str) or name not in ALGORITHM_KEY_TYPES:
            raise ConfigError(f"algorithm {name!r} is not one of {sorted(ALGORITHM_KEY_TYPES)}")
    return tuple(dict.fromkeys(str(name) for name in names))


def _role_map(role_map: object) -> Mapping[str, str]:
    if not isinstance(role_map, Mapping):
        raise ConfigError("role_map maps the provider's role names to the app's role names")
    mapped: dict[str, str] = {}
    for source, target in role_map.items():
        _text(source, "a role_map key")
        mapped[source] = role_name(target)
    return MappingProxyType(mapped)


def _bounded(value: object, low: float, high: float, what: str, *, whole: bool = False) -> None:
    kinds = (int,) if whole else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, kinds)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        kind = "a whole number of seconds" if whole else "a number of seconds"
        raise ConfigError(f"{what} is {kind} from {low} to {high}")


PROVIDER_FIELDS: tuple[str, ...] = tuple(IdentityProvider.__dataclass_fields__)
"""The settings of a provider, as ``Realm.add_identity_provider`` takes them."""
