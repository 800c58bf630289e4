"""Tokens from an app's identity providers on the request path (behaviour §8).

``AppProviders`` keeps, per app, the providers read from the store under the change stamp of
the request that read them (the ``providers`` cache of docs/design.md), each with its key set;
a provider whose settings did not change keeps its fetched keys across stamps. ``federated``
is the flow the authentication runs for a token shaped like a JWT: the provider is chosen by
the token's unverified ``iss``, the token is verified by the core with that provider's keys
(a ``NetworkCall``: the blocking entry on a WSGI thread, the awaitable one on an event loop,
which fetches in a worker thread), and only then does the realm read who it stands for.
"""

from __future__ import annotations

from collections.abc import Callable

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.jwt_tokens import VerifiedClaims
from baas_auth.errors import MalformedTokenError
from baas_auth.federation.verifier import ProviderTokens
from baas_auth.model import Principal
from baas_auth.realm.federated_users import federated_principal
from baas_auth.realm.identity_provider_flows import provider_from_record
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, network_call, scan
from baas_auth.realm.views import fresh_view

__all__ = ["AppProviders", "looks_like_jwt"]

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


def federated(
    state: RealmState, providers: AppProviders, token: str, org: str, app: str,
    stamp: int | None,
) -> Flow[tuple[Principal, int]]:
    """Whom a provider token stands for in ``org/app``, and its expiry (ms); 401 when no
    provider of the app issued it or it does not verify, 503 when the provider's keys were
    never obtained and cannot be fetched."""
    tokens = yield from providers.of_app(org, app, stamp)

    def blocking() -> VerifiedClaims:
        return tokens.verify(token)  # an issuer none of the app's providers has: 401

    claims = yield from network_call(blocking, lambda: tokens.verify_async(token))
    provider_keys = tokens.key_set(claims.issuer)
    if provider_keys is None:  # never: the claims were verified with this issuer's keys
        raise MalformedTokenError()
    view = yield from fresh_view(state)
    principal = yield from federated_principal(
        state, view, org, app, provider_keys.provider, claims
    )
    return principal, claims.expires_at * 1000
