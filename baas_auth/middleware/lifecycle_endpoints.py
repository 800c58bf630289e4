"""The RFC 7662 introspection and RFC 7009 revocation endpoints (behaviour §9).

``POST /{org}/{app}/introspect`` and ``…/revoke`` answer for that app's tokens, ``POST
/management/introspect`` and ``…/revoke`` for the management tokens of the calling client's org.
The caller is a client of that app or org: ``client_secret_basic``, ``client_secret_post``, or
such a client's token; anyone else is 401 (a token's holder learns nothing by introspecting).
Revocation also takes the token's own holder presenting that same token as its Bearer
credential. Neither answer ever echoes the token or says why a token is inactive.

Under the store's change stamp read before the request's decision began (behaviour §7), a
client authenticated by its secret and the answer for an active access token are remembered
(``freshness``'s ``clients`` and ``introspected``): the steady state of a resource server asking
again about the same token is two lookups, no store read and no rendering. Any change to the
store, by any process, moves the stamp and both are found afresh; the answer ends at the
token's expiry whatever the stamp.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from baas_auth.core.credentials import BearerToken, ClientSecretPair, Credential
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.responses import json_response
from baas_auth.core.routing import Route
from baas_auth.errors import AuthenticationError, BadRequestError
from baas_auth.middleware.endpoint_bodies import Params, client_pair, param_text
from baas_auth.middleware.freshness import Freshness, Introspected, request_digest
from baas_auth.model import Principal
from baas_auth.realm.introspection import introspect, revoke_for
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow

__all__ = ["REFUSED_IN_URI", "LifecycleEndpoints"]

REFUSED_IN_URI = frozenset({"token", "client_secret", "access_token"})
"""What these endpoints refuse in the query string: the token asked about, and secrets (RFC
7662 §2.1 and RFC 7009 §2.1 send them in a POST body, out of every access log)."""

_EMPTY_OK = Response(
    200,
    (("cache-control", "no-store"), ("pragma", "no-cache"), ("content-length", "0")),
    b"",
)

_ANSWER_HEADERS = frozenset({"authorization", "content-type"})
"""The headers an introspection answer depends on (the caller's credentials, how the body is
read): part of the request's fingerprint."""

_CLIENTS_ONLY = "Only the application's or organization's clients may call this endpoint"


class LifecycleEndpoints:
    """Introspection and revocation over one realm; answering one is a flow."""

    def __init__(
        self,
        state: RealmState,
        authenticate: Callable[[Credential, Route], Flow[Principal]],
        freshness: Freshness | None = None,
    ) -> None:
        """``freshness``: where clients and answers are remembered under the store's change
        stamp; None where the stamp is not read for every request (nothing is remembered)."""
        self.state = state
        self.authenticate = authenticate
        self.freshness = freshness

    def fingerprint(self, route: Route, request: RequestInfo, body: bytes) -> bytes | None:
        """A keyed digest of what an introspection request's answer depends on besides the
        store: its org and app, query, Authorization and Content-Type headers, and body (the
        method is POST: any other was refused before). None: nothing is remembered here."""
        if self.freshness is None:
            return None
        headers = [
            part
            for name, value in request.headers
            if name in _ANSWER_HEADERS
            for part in (name, value)
        ]
        return request_digest((route.org, route.app, request.query_string, *headers, body))

    def answered(self, fingerprint: bytes | None, stamp: int) -> Response | None:
        """The answer given to the request of ``fingerprint`` under ``stamp``, if it holds."""
        if fingerprint is None or self.freshness is None:
            return None
        return self.freshness.answer(fingerprint, stamp, self.state.now_ms())

    def finish(
        self,
        route: Route,
        params: Params,
        header: Credential | None,
        stamp: int | None = None,
        fingerprint: bytes | None = None,
    ) -> Flow[Response]:
        """The answer; ``stamp``: the store's change stamp read before the request's decision
        began (None: not known, nothing is remembered); ``fingerprint``: the request's, to
        remember an introspection answer by."""
        memory = None if stamp is None else self.freshness
        under = None if memory is None or stamp is None else (memory, stamp)
        if route.endpoint == "introspect":
            return (yield from self._introspect(route, params, header, under, fingerprint))
        return (yield from self._revoke(route, params, header, under))

    def _introspect(
        self,
        route: Route,
        params: Params,
        header: Credential | None,
        under: tuple[Freshness, int] | None,
        fingerprint: bytes | None,
    ) -> Flow[Response]:
        org, app = yield from self._tenant(route, params, header, under)
        token = _token(params)
        if under is None:
            return json_response(200, (yield from introspect(self.state, token, org, app)))
        memory, stamp = under
        key = (org.lower(), None if app is None else app.lower(), token)
        known = memory.introspection(key, stamp, self.state.now_ms())
        if known is not None:
            return known
        claims = yield from introspect(self.state, token, org, app)
        response = json_response(200, claims)
        entry = self._to_remember(token, claims, stamp, response)
        if entry is not None:
            memory.remember_introspection(key, fingerprint, entry)
        return response

    def _to_remember(
        self, token: str, claims: dict[str, object], stamp: int, response: Response
    ) -> Introspected | None:
        """The answer as remembered under ``stamp``, until the expiry written in the token;
        None: not remembered. Only an active access token's answer is kept: inactive ones
        (any string at all) would crowd out the tokens a resource server asks about again,
        and a refresh token's family ends by a clock of its own."""
        keys = self.state.keys
        if claims.get("active") is not True or claims.get("token_type") != "Bearer":
            return None
        if keys is None:  # never: the token was just verified
            return None
        now = self.state.now_ms()
        expires = keys.verify(token, now_ms=now, allow_expired=True).expires_at_ms
        return Introspected(stamp, expires, response)

    def _revoke(
        self,
        route: Route,
        params: Params,
        header: Credential | None,
        under: tuple[Freshness, int] | None,
    ) -> Flow[Response]:
        token = param_text(params, "token")
        if isinstance(header, BearerToken) and token is not None and header.token == token:
            # The holder proves it holds the token by presenting it: revoking it is all it may
            # do with it (RFC 7009 §2.1 lets a server take this in place of a client's).
            _client_pair_absent(params)
            if route.app is not None:
                yield from revoke_for(self.state, token, route.org, route.app)
            else:  # on /management the holder's org is not in the path: wherever it belongs
                yield from revoke_for(self.state, token, None, None)
            return _EMPTY_OK
        org, app = yield from self._tenant(route, params, header, under)
        yield from revoke_for(self.state, _token(params), org, app)
        return _EMPTY_OK

    def _tenant(
        self,
        route: Route,
        params: Params,
        header: Credential | None,
        under: tuple[Freshness, int] | None,
    ) -> Flow[tuple[str, str | None]]:
        """The tenant the calling client answers for: the route's app, or (on /management)
        the org of the org client calling; 401 for every other caller."""
        caller = yield from self._caller(route, params, header, under)
        if route.org is not None and route.app is not None:
            if caller.kind not in ("app_client", "org_client"):  # covered: authenticate checked
                raise AuthenticationError(_CLIENTS_ONLY, challenge_error="invalid_token")
            return route.org, route.app
        if caller.kind != "org_client" or caller.org is None:
            raise AuthenticationError(_CLIENTS_ONLY, challenge_error="invalid_token")
        return caller.org, None

    def _caller(
        self,
        route: Route,
        params: Params,
        header: Credential | None,
        under: tuple[Freshness, int] | None,
    ) -> Flow[Principal]:
        client_id, secret = client_pair(params, header)
        if isinstance(header, BearerToken):
            _client_pair_absent(params)
        if client_id is not None or secret is not None:
            if not client_id or not secret:
                raise BadRequestError("client_id and client_secret go together")
            source: Literal["basic", "query"] = (
                "basic" if isinstance(header, ClientSecretPair) else "query"
            )
            pair = ClientSecretPair(client_id, secret, source)
            return (yield from self._client(pair, route, under))
        elif isinstance(header, BearerToken):
            credential = header
        else:
            raise AuthenticationError(_CLIENTS_ONLY, challenge_error=None)
        return (yield from self.authenticate(credential, route))

    def _client(
        self, pair: ClientSecretPair, route: Route, under: tuple[Freshness, int] | None
    ) -> Flow[Principal]:
        """The client of ``pair``, authenticated for ``route``: as found under the same stamp
        with the same secret (its keyed digest compared in constant time), else in full. A
        wrong secret is never remembered, and finds nothing: it is checked in full (401)."""
        if under is None:
            return (yield from self.authenticate(pair, route))
        memory, stamp = under
        key = (pair.client_id, route.org, route.app)
        known = memory.known_client(key, pair.client_secret, stamp)
        if known is not None:
            return known
        found = yield from self.authenticate(pair, route)
        memory.remember_client(key, pair.client_secret, stamp, found)
        return found


def _token(params: Params) -> str:
    token = param_text(params, "token")
    if not token:
        raise BadRequestError("The token parameter is required")
    return token


def _client_pair_absent(params: Params) -> None:
    if param_text(params, "client_id") is not None or param_text(params, "client_secret"):
        raise BadRequestError("Client credentials and a Bearer token were both sent")
