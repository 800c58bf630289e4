"""Verification of a provider's JWT against its keys, at ``now``; no I/O (behaviour §8).

The checks run in this order, all before any store read, each refusing with
``MalformedTokenError`` (401 ``auth_bad_access_token``) except an expiry (``ExpiredTokenError``,
401 ``expired_token``): size and form; ``typ``; ``crit``; ``alg`` in the provider's allow-list;
``kid`` among the keys (``UnknownKeyIdError`` when it is not, so the caller may fetch the keys
again); the key's type fits ``alg``; signature; ``iss``; ``aud``; ``exp``; ``nbf``; ``iat``; then
the claims that name the user. ``jku``, ``x5u``, ``jwk`` and ``x5c`` are never read: keys come
only from the provider's configured key set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from baas_auth.core.identifiers import role_name, username
from baas_auth.core.identity_providers import IdentityProvider, claim_path
from baas_auth.core.jwk import KeySet, PublicKey, signature_matches
from baas_auth.core.jwt_parts import CompactJWT, parse_compact
from baas_auth.errors import ConfigError, ExpiredTokenError, MalformedTokenError

__all__ = ["CHECKS", "UnknownKeyIdError", "VerifiedClaims", "verify_provider_token"]

_TOKEN_TYPES = frozenset({"jwt", "at+jwt"})  # RFC 7519 §5.1, RFC 9068 §2.1
_UNDERSTOOD_CRITICAL: frozenset[str] = frozenset()  # no extension is implemented
_MAX_NAMES = 256  # role and group names taken from one claim
_LARGEST_DATE = 2**53


class UnknownKeyIdError(MalformedTokenError):
    """The token names a ``kid`` the provider's current keys lack: the keys may have rotated.

    A caller that fetches keys catches it, fetches (at most once per cooldown) and verifies
    again; one that does not lets it render like any malformed token (401).
    """


@dataclass(frozen=True, slots=True)
class VerifiedClaims:
    """Who a verified provider token names, and what it was issued as."""

    issuer: str
    subject: str
    username: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    expires_at: int
    issued_at: int | None


CHECKS = (
    "size and form",
    "typ, crit and alg in the allow-list",
    "kid names a key whose type fits alg",
    "signature",
    "iss and aud",
    "exp",
    "nbf and iat",
    "sub and the username claim",
)
"""The checks in the order they run, as ``passed`` lists them (for people: ``baas-auth check``)."""


def verify_provider_token(
    token: object,
    provider: IdentityProvider,
    keys: KeySet,
    *,
    now: float,
    passed: list[str] | None = None,
) -> VerifiedClaims:
    """The claims of ``token`` if ``provider`` signed it and it holds at ``now`` (Unix seconds).

    ``passed``, when given, gets the name of each of ``CHECKS`` as it passes: after a refusal,
    the next one is the check that refused. ``token`` may be given already taken apart (a
    ``CompactJWT``, as the caller that chose the provider by its ``iss`` has it)."""
    jwt = token if isinstance(token, CompactJWT) else parse_compact(token)
    _passed(passed, 0)
    alg = _check_header(jwt.header, provider)
    _passed(passed, 1)
    key_candidates = _keys_for(jwt.header, alg, keys)
    _passed(passed, 2)
    if not any(signature_matches(alg, key, jwt.signing_input, jwt.signature)
               for key in key_candidates):
        raise MalformedTokenError()
    _passed(passed, 3)
    return _verified_claims(jwt, provider, now, passed)


def _passed(passed: list[str] | None, step: int) -> None:
    if passed is not None:
        passed.append(CHECKS[step])


def _check_header(header: dict[str, object], provider: IdentityProvider) -> str:
    """The token's ``alg``, once ``typ``, ``crit`` and ``alg`` are acceptable."""
    typ = header.get("typ")
    if typ is not None and _media_type(typ) not in _TOKEN_TYPES:
        raise MalformedTokenError()
    if "crit" in header and not _understood(header["crit"]):
        raise MalformedTokenError()
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in provider.algorithms:
        raise MalformedTokenError()
    return alg


def _media_type(typ: object) -> str | None:
    # RFC 7515 §4.1.9: "application/" may be left out, and media types ignore case.
    if not isinstance(typ, str):
        return None
    lowered = typ.lower()
    return lowered.removeprefix("application/")


def _understood(crit: object) -> bool:
    # RFC 7515 §4.1.11: a list of names, never empty; every one must be understood.
    return (
        isinstance(crit, list)
        and bool(crit)
        and all(isinstance(name, str) and name in _UNDERSTOOD_CRITICAL for name in crit)
    )


def _keys_for(header: dict[str, object], alg: str, keys: KeySet) -> tuple[PublicKey, ...]:
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise MalformedTokenError()
    named = keys.named(kid)
    if not named:
        raise UnknownKeyIdError() if kid is not None else MalformedTokenError()
    fitting = tuple(key for key in named if key.fits(alg))
    if not fitting:
        raise MalformedTokenError()  # the key's type does not fit alg: key confusion
    return fitting


def _verified_claims(
    jwt: CompactJWT, provider: IdentityProvider, now: float, passed: list[str] | None
) -> VerifiedClaims:
    claims = jwt.claims
    _check_issuer_and_audience(claims, provider)
    _passed(passed, 4)
    expires_at = _numeric_date(claims.get("exp"))
    if now >= expires_at + provider.leeway_s:
        raise ExpiredTokenError()
    _passed(passed, 5)
    not_before = _time_claim(claims, "nbf")
    issued_at = _time_claim(claims, "iat")
    for moment in (not_before, issued_at):
        if moment is not None and moment > now + provider.leeway_s:
            raise MalformedTokenError()
    _passed(passed, 6)
    verified = VerifiedClaims(
        issuer=provider.issuer,
        subject=_subject(claims),
        username=_username(claims, provider),
        roles=_roles(claims, provider),
        groups=_names(_claim(claims, provider.groups_claim)),
        expires_at=expires_at,
        issued_at=issued_at,
    )
    _passed(passed, 7)
    return verified


def _check_issuer_and_audience(claims: dict[str, object], provider: IdentityProvider) -> None:
    if claims.get("iss") != provider.issuer:
        raise MalformedTokenError()
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.audience not in audiences:
        raise MalformedTokenError()


def _time_claim(claims: dict[str, object], name: str) -> int | None:
    """An optional NumericDate claim, or None when absent."""
    value = claims.get(name)
    return None if value is None else _numeric_date(value)


def _numeric_date(value: object) -> int:
    """A NumericDate (RFC 7519 §2) as whole seconds; anything else is malformed. Beyond JSON's
    exact integers (2**53) there is no date: such a value (or NaN) is refused, not rounded."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedTokenError()
    if not -_LARGEST_DATE <= value <= _LARGEST_DATE:
        raise MalformedTokenError()
    return math.floor(value)


def _subject(claims: dict[str, object]) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise MalformedTokenError()
    return subject


def _username(claims: dict[str, object], provider: IdentityProvider) -> str:
    value = _claim(claims, provider.username_claim)
    if provider.username_claim == "email" and claims.get("email_verified", True) is not True:
        raise MalformedTokenError()  # an address the provider did not verify names nobody
    try:
        return username(value)  # type: ignore[arg-type]  # a non-string fails the rule too
    except ConfigError as exc:
        raise MalformedTokenError() from exc


def _roles(claims: dict[str, object], provider: IdentityProvider) -> tuple[str, ...]:
    """Role names from the roles claim, and, with a role map, mapped names of either claim."""
    names = _names(_claim(claims, provider.roles_claim))
    if provider.role_map is not None:
        role_map = provider.role_map
        groups = _names(_claim(claims, provider.groups_claim))
        return tuple(dict.fromkeys(role_map[name] for name in names + groups if name in role_map))
    valid: list[str] = []
    for name in names:
        try:
            valid.append(role_name(name))
        except ConfigError:
            continue  # a name no role can have grants nothing
    return tuple(dict.fromkeys(valid))


def _claim(claims: dict[str, object], path: str | None) -> object:
    """The value at a claim path, or None where the path leads nowhere. A claim whose whole
    name is the path wins (Auth0's namespaced ``https://example.com/roles`` holds dots);
    otherwise the dots walk into objects (Keycloak's ``realm_access.roles``)."""
    if path is None:
        return None
    if path in claims:
        return claims[path]
    value: object = claims
    for part in claim_path(path, "claim path") or ():
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _names(value: object) -> tuple[str, ...]:
    """Names from a list of strings, or a space-separated string (as ``scope`` is)."""
    if isinstance(value, str):
        items: list[object] = list(value.split())
    elif isinstance(value, list):
        items = value
    else:
        return ()
    names = (item for item in items[:_MAX_NAMES] if isinstance(item, str) and item.isprintable())
    return tuple(dict.fromkeys(name for name in names if name))
