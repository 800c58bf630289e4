"""The RFC 7662 introspection and RFC 7009 revocation endpoints (behaviour §9).

``POST /{org}/{app}/introspect`` and ``…/revoke`` answer for that app's tokens, ``POST
/management/introspect`` and ``…/revoke`` for the management tokens of the calling client's org.
The caller is a client of that app or org: ``client_secret_basic``, ``client_secret_post``, or
such a client's token; anyone else is 401 (a token's holder learns nothing by introspecting).
Revocation also takes the token's own holder presenting that same token as its Bearer
credential. Neither answer ever echoes the token or says why a token is inactive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from baas_auth.core.credentials import BearerToken, ClientSecretPair, Credential
from baas_auth.core.http import Response
from baas_auth.core.responses import json_response
from baas_auth.core.routing import Route
from baas_auth.errors import AuthenticationError, BadRequestError
from baas_auth.middleware.endpoint_bodies import Params, client_pair, param_text
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

_CLIENTS_ONLY = "Only the application's or organization's clients may call this endpoint"


class LifecycleEndpoints:
    """Introspection and revocation over one realm; answering one is a flow."""

    def __init__(
        self, state: RealmState, authenticate: Callable[[Credential, Route], Flow[Principal]]
    ) -> None:
        self.state = state
        self.authenticate = authenticate

    def finish(self, route: Route, params: Params, header: Credential | None) -> Flow[Response]:
        if route.endpoint == "introspect":
            return (yield from self._introspect(route, params, header))
        return (yield from self._revoke(route, params, header))

    def _introspect(
        self, route: Route, params: Params, header: Credential | None
    ) -> Flow[Response]:
        org, app = yield from self._tenant(route, params, header)
        token = _token(params)
        return json_response(200, (yield from introspect(self.state, token, org, app)))

    def _revoke(self, route: Route, params: Params, header: Credential | None) -> Flow[Response]:
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
        org, app = yield from self._tenant(route, params, header)
        yield from revoke_for(self.state, _token(params), org, app)
        return _EMPTY_OK

    def _tenant(
        self, route: Route, params: Params, header: Credential | None
    ) -> Flow[tuple[str, str | None]]:
        """The tenant the calling client answers for: the route's app, or (on /management)
        the org of the org client calling; 401 for every other caller."""
        caller = yield from self._caller(route, params, header)
        if route.org is not None and route.app is not None:
            if caller.kind not in ("app_client", "org_client"):  # covered: authenticate checked
                raise AuthenticationError(_CLIENTS_ONLY, challenge_error="invalid_token")
            return route.org, route.app
        if caller.kind != "org_client" or caller.org is None:
            raise AuthenticationError(_CLIENTS_ONLY, challenge_error="invalid_token")
        return caller.org, None

    def _caller(self, route: Route, params: Params, header: Credential | None) -> Flow[Principal]:
        client_id, secret = client_pair(params, header)
        if isinstance(header, BearerToken):
            _client_pair_absent(params)
        if client_id is not None or secret is not None:
            if not client_id or not secret:
                raise BadRequestError("client_id and client_secret go together")
            source: Literal["basic", "query"] = (
                "basic" if isinstance(header, ClientSecretPair) else "query"
            )
            credential: Credential = ClientSecretPair(client_id, secret, source)
        elif isinstance(header, BearerToken):
            credential = header
        else:
            raise AuthenticationError(_CLIENTS_ONLY, challenge_error=None)
        return (yield from self.authenticate(credential, route))


def _token(params: Params) -> str:
    token = param_text(params, "token")
    if not token:
        raise BadRequestError("The token parameter is required")
    return token


def _client_pair_absent(params: Params) -> None:
    if param_text(params, "client_id") is not None or param_text(params, "client_secret"):
        raise BadRequestError("Client credentials and a Bearer token were both sent")
