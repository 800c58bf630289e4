"""Who a request is: the one place the middleware authenticates a credential (behaviour §3, §4).

Every caller goes through ``Authentication.authenticate``: the gate for every request, and the
endpoints and the management API (through ``principal``) for theirs. A bearer token found valid
under the store's change stamp read for this request is not read from the store again while
that stamp holds (``freshness``'s ``tokens``); client secrets are checked every time. A token
shaped like a JWT is one of the addressed app's identity providers' (``federation``), or on
``/management`` an org-level provider's for an admin user, remembered the same way until its
``exp``.
"""

from __future__ import annotations

from typing import NamedTuple

from baas_auth.core.credentials import BearerToken, Credential
from baas_auth.core.records import AppRecord
from baas_auth.core.routing import Route
from baas_auth.errors import (
    AuthenticationError,
    InvalidClientCredentialsError,
    InvalidClientError,
)
from baas_auth.middleware.federation import (
    AppProviders,
    OrgProviders,
    federated,
    federated_admin_token,
    looks_like_jwt,
)
from baas_auth.middleware.freshness import Freshness, KnownToken
from baas_auth.model import Principal
from baas_auth.realm import flows
from baas_auth.realm.cache import MISS
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.views import app_record

__all__ = ["Authenticated", "Authentication"]


class Authenticated(NamedTuple):
    """Whom a credential stands for, and the expiry written in its token (None: never, or not
    a token)."""

    principal: Principal
    expires_at_ms: int | None


class Authentication:
    """Authenticates credentials against one realm, for one middleware."""

    def __init__(self, state: RealmState, freshness: Freshness, *, remember_tokens: bool) -> None:
        """``remember_tokens``: whether a token found valid may be taken as valid again under
        the same change stamp; only where the stamp is read for every request."""
        self.state = state
        self.freshness = freshness
        self.remember_tokens = remember_tokens
        self.providers = AppProviders(lambda: state.now_ms() / 1000)
        self.org_providers = OrgProviders(lambda: state.now_ms() / 1000)

    def authenticate(
        self, credential: Credential | None, route: Route, stamp: int | None = None
    ) -> Flow[Authenticated]:
        """The principal of ``credential`` for ``route``: the app's guest without one; 401
        when it does not belong there. ``stamp``: the store's change stamp read for this
        request (None: not known, nothing is remembered)."""
        org, app = route.org, route.app
        if credential is None:
            if org is None or app is None:
                raise AuthenticationError("No admin identity for the request")
            return Authenticated((yield from flows.guest(self.state, org, app)), None)
        if isinstance(credential, BearerToken):
            found = yield from self._bearer(credential.token, route, stamp)
        else:
            found = Authenticated((yield from self._client(credential)), None)
        if org is not None and app is not None:
            record = self.state.snapshot.apps.lookup((org, app))
            if record is MISS:
                record = yield from app_record(self.state.snapshot, org, app)
            _check_covered(found.principal, record, org, app)
        return found

    def principal(self, credential: Credential | None, route: Route) -> Flow[Principal]:
        """``authenticate``'s principal: what the endpoints and the management API ask."""
        return (yield from self.authenticate(credential, route)).principal

    def _bearer(self, token: str, route: Route, stamp: int | None) -> Flow[Authenticated]:
        """A token found valid under the stamp read for this request is not read from the
        store again: while the stamp holds, no revocation, deletion or key retirement
        happened anywhere."""
        known = self.freshness.known_token(token, stamp, self.state.now_ms())
        if known is not None:
            return Authenticated(known.principal, known.expires_at_ms)
        expires_at_ms: int | None
        if looks_like_jwt(token):
            if route.org is None or route.app is None:
                principal, expires_at_ms = yield from federated_admin_token(
                    self.state, self.org_providers, token, stamp
                )
            else:
                principal, expires_at_ms = yield from federated(
                    self.state, self.providers, token, route.org.lower(), route.app.lower(),
                    stamp,
                )
        else:
            principal = (yield from flows.token_info(self.state, token)).principal
            expires_at_ms = self._token_expiry(token)
        if stamp is not None and self._may_remember_token(principal):
            self.freshness.remember_token(token, KnownToken(stamp, principal, expires_at_ms))
        return Authenticated(principal, expires_at_ms)

    def _client(self, credential: Credential) -> Flow[Principal]:
        if isinstance(credential, BearerToken):  # never: ``authenticate`` took it
            raise TypeError("a bearer token is not a client's credentials")
        try:
            return (
                yield from flows.authenticate_client(
                    self.state, credential.client_id, credential.client_secret
                )
            )
        except InvalidClientError:
            if credential.source == "basic":
                raise InvalidClientCredentialsError() from None
            raise

    def _token_expiry(self, token: str) -> int | None:
        """The expiry written in the token, the one every decision checks (the ring has just
        verified it: a dict lookup)."""
        keys = self.state.keys
        if keys is None:  # never: the token was just verified
            return 0
        return keys.verify(token, now_ms=self.state.now_ms(), allow_expired=True).expires_at_ms

    def recallable(self, credential: Credential | None, principal: Principal, route: Route) -> bool:
        """Whether an admission stays true for as long as the store does not change (and the
        token does not expire): never for client secrets, which are checked every time."""
        if credential is not None and not isinstance(credential, BearerToken):
            return False
        if principal.kind != "app_user":
            return True
        return self._without_timed_roles(route.org or "", route.app or "", principal)

    def _may_remember_token(self, principal: Principal) -> bool:
        """Not where the stamp may be stale, and not for an app user whose roles may lapse
        with inactivity (or who is not known well enough to tell): each of its requests
        records a use, in the store."""
        if not self.remember_tokens:
            return False
        if principal.kind != "app_user":
            return True
        return self._without_timed_roles(principal.org or "", principal.app or "", principal)

    def _without_timed_roles(self, org: str, app: str, principal: Principal) -> bool:
        policy = self.state.snapshot.users.lookup((org, app, principal.uuid or ""))
        return policy is not MISS and policy is not None and not policy.has_timed_roles


def _check_covered(principal: Principal, app: AppRecord | None, org: str, name: str) -> None:
    """401 unless the app exists (``app``, read in the snapshot the principal was found in)
    and the principal belongs to it: a token of one app is a stranger to every other."""
    if app is None or not principal.covers(org, name):
        raise AuthenticationError(
            "No application access authorized", challenge_error="invalid_token"
        )
