"""Tokens from an app's identity providers on the request path (behaviour §8).

``AppProviders`` keeps, per app, the providers read from the store under the change stamp of
the request that read them (the ``providers`` cache of docs/design.md), each with its key set;
a provider whose settings did not change keeps its fetched keys across stamps. ``federated``
is the flow the authentication runs for a token shaped like a JWT: the provider is chosen by
the token's unverified ``iss``, the token is verified by the core with that provider's keys
(a ``NetworkCall``: the blocking entry on a WSGI thread, the awaitable one on an event loop,
which fetches in a worker thread), and only then does the realm read who it stands for.

``OrgProviders`` and ``federated_admin`` do the same on ``/management`` for the org-level
providers (no app): every org's, read once per change stamp and chosen by the token's
``iss``; the token is an admin user's, found by its email, for the orgs whose providers
verified it.
"""

from __future__ import annotations

from collections.abc import Callable

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwt_parts import peek_issuer
from baas_auth.core.jwt_tokens import VerifiedClaims
from baas_auth.errors import AuthenticationError, MalformedTokenError
from baas_auth.federation.verifier import ProviderTokens
from baas_auth.model import Principal
from baas_auth.realm.federated_users import federated_admin, federated_caller
from baas_auth.realm.identity_provider_flows import provider_from_record
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, network_call, scan
from baas_auth.realm.views import fresh_view

__all__ = ["AppProviders", "OrgProviders", "federated", "federated_admin_token", "looks_like_jwt"]

_MAX_APPS = 4096


def looks_like_jwt(token: str) -> bool:
    """A compact JWS has three segments; baas_auth's own tokens have no dot."""
    return token.count(".") == 2


class AppProviders:
    """The identity providers of each app, with their key sets, for one middleware."""

    __slots__ = ("_by_app", "_wall_clock")

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self._by_app: dict[tuple[str, str], tuple[int | None, ProviderTokens]] = {}
        self._wall_clock = wall_clock

    def __len__(self) -> int:
        return len(self._by_app)

    def of_app(self, org: str, app: str, stamp: int | None) -> Flow[ProviderTokens]:
        """The app's providers, read again unless read under ``stamp`` (None: always)."""
        known = self._by_app.get((org, app))
        if known is not None and stamp is not None and known[0] == stamp:
            return known[1]
        rows = yield from scan(record_keys.identity_provider_prefix(org, app))
        providers = [provider_from_record(rec.decode(rec.IdentityProviderRecord, raw))
                     for _, raw in rows]
        previous = None if known is None else known[1]
        tokens = ProviderTokens(providers, wall_clock=self._wall_clock, previous=previous)
        if len(self._by_app) >= _MAX_APPS:
            self._by_app.clear()
        self._by_app[(org, app)] = (stamp, tokens)
        return tokens


class OrgProviders:
    """Every org's own identity providers (for its admin users), with their key sets."""

    __slots__ = ("_by_org", "_stamp", "_wall_clock")

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self._stamp: int | None = None
        self._by_org: dict[str, ProviderTokens] | None = None
        self._wall_clock = wall_clock

    def trusting(self, issuer: str, stamp: int | None) -> Flow[list[tuple[str, ProviderTokens]]]:
        """The orgs (by name) with a provider of exactly ``issuer``, and their providers; read
        again unless read under ``stamp`` (None: always)."""
        by_org = self._by_org
        if by_org is None or stamp is None or self._stamp != stamp:
            by_org = yield from self._read(by_org)
            self._by_org, self._stamp = by_org, stamp
        return [(org, tokens) for org, tokens in sorted(by_org.items())
                if tokens.key_set(issuer) is not None]

    def _read(self, previous: dict[str, ProviderTokens] | None) -> Flow[dict[str, ProviderTokens]]:
        rows = yield from scan(record_keys.identity_providers_prefix())
        grouped: dict[str, list[IdentityProvider]] = {}
        for _, raw in rows:
            record = rec.decode(rec.IdentityProviderRecord, raw)
            if record.app is None:
                grouped.setdefault(record.org, []).append(provider_from_record(record))
        kept = previous or {}
        return {
            org: ProviderTokens(found, wall_clock=self._wall_clock, previous=kept.get(org))
            for org, found in grouped.items()
        }


def federated_admin_token(
    state: RealmState, providers: OrgProviders, token: str, stamp: int | None
) -> Flow[tuple[Principal, int]]:
    """Whom an org-level provider's token stands for on ``/management``: an admin user, for
    the orgs whose providers verified it; 401 when none did, 503 when the keys were never
    obtained and cannot be fetched."""
    issuer = peek_issuer(token)
    candidates = [] if issuer is None else (yield from providers.trusting(issuer, stamp))
    verified: list[tuple[str, VerifiedClaims]] = []
    refusal: Exception = MalformedTokenError()  # an issuer no org trusts: 401
    for org, tokens in candidates:
        try:
            verified.append((org, (yield from _verified(tokens, token))))
        except AuthenticationError as error:  # another org's provider may have other settings
            refusal = error
    if not verified:
        raise refusal
    claims = verified[0][1]
    view = yield from fresh_view(state)
    principal = yield from federated_admin(view, [org for org, _ in verified], claims)
    return principal, min(found.expires_at for _, found in verified) * 1000


def _verified(tokens: ProviderTokens, token: str) -> Flow[VerifiedClaims]:
    def blocking() -> VerifiedClaims:
        return tokens.verify(token)

    return (yield from network_call(blocking, lambda: tokens.verify_async(token)))


def federated(
    state: RealmState, providers: AppProviders, token: str, org: str, app: str,
    stamp: int | None,
) -> Flow[tuple[Principal, int]]:
    """Whom a provider token stands for in ``org/app``, and its expiry (ms); 401 when no
    provider of the app issued it or it does not verify, 503 when the provider's keys were
    never obtained and cannot be fetched."""
    tokens = yield from providers.of_app(org, app, stamp)
    claims = yield from _verified(tokens, token)  # an issuer none of the app's has: 401
    provider_keys = tokens.key_set(claims.issuer)
    if provider_keys is None:  # never: the claims were verified with this issuer's keys
        raise MalformedTokenError()
    view = yield from fresh_view(state)
    caller = yield from federated_caller(
        state, view, org, app, provider_keys.provider, claims, create=True
    )
    return caller.principal, claims.expires_at * 1000
