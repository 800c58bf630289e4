"""The endpoints the middleware serves itself (behaviour §6, §9): token, ``/management/me``,
revoke, and (``lifecycle_endpoints``) RFC 7662 introspection and RFC 7009 revocation.

Parameters come from the query (GET), a form or a JSON body (POST/PUT); the realm is called in
between; answers carry ``Cache-Control: no-store``. The caller (``Gate``) renders refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from baas_auth.core.credential_names import CREDENTIAL_PARAMS, URI_SECRET_PARAMS
from baas_auth.core.credentials import (
    BearerToken,
    Credential,
    extract_credential,
    parse_query,
)
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.identifiers import is_text
from baas_auth.core.jwt_parts import parse_compact
from baas_auth.core.responses import json_response, method_not_allowed
from baas_auth.core.routing import Route
from baas_auth.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    InvalidClientError,
    MalformedTokenError,
    NotFoundError,
    ResourceNotFoundError,
    UnsupportedGrantTypeError,
)
from baas_auth.middleware.decisions import EndpointCall, GateOptions
from baas_auth.middleware.endpoint_bodies import (
    Params,
    body_params,
    client_pair,
    describe,
    param_text,
    parse_ttl,
    token_body,
)
from baas_auth.middleware.federation import looks_like_jwt
from baas_auth.middleware.freshness import Freshness
from baas_auth.middleware.lifecycle_endpoints import REFUSED_IN_URI, LifecycleEndpoints
from baas_auth.model import Principal, TokenGrant
from baas_auth.realm import flows, refresh_flows
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow

__all__ = ["Endpoints"]

_POST_ONLY = frozenset({"introspect", "revocation"})


class Endpoints:
    """Token, me and revoke endpoints over one realm; answering one is a flow."""

    def __init__(
        self,
        state: RealmState,
        options: GateOptions,
        authenticate: Callable[[Credential, Route], Flow[Principal]],
        freshness: Freshness | None = None,
    ) -> None:
        """``freshness``: where introspection remembers clients and answers (None: nowhere)."""
        self.state = state
        self.options = options
        self.authenticate = authenticate
        self.lifecycle = LifecycleEndpoints(state, authenticate, freshness)

    def _allowed(self, route: Route) -> tuple[str, ...]:
        if route.endpoint == "token":
            return ("POST",) if self.options.strict else ("GET", "POST")
        if route.endpoint == "me":
            return ("GET",)
        if route.endpoint in _POST_ONLY:
            return ("POST",)
        return ("PUT", "POST")

    def start(
        self, route: Route, request: RequestInfo, *, websocket: bool
    ) -> EndpointCall | Response:
        """Refuse a wrong method (405) or a websocket (400); otherwise hand the request back
        to the adapter, which reads its body (POST, PUT) and calls ``finish`` off the loop."""
        if websocket:
            raise BadRequestError("This endpoint does not take websocket connections")
        allowed = self._allowed(route)
        if request.method not in allowed:
            return method_not_allowed(", ".join(allowed), now_ms=self._now())
        return EndpointCall(route, request, request.method in ("POST", "PUT"))

    def finish(
        self, route: Route, request: RequestInfo, body: bytes, stamp: int | None = None
    ) -> Flow[Response]:
        """The endpoint's answer; ``stamp``: the store's change stamp read before the request's
        decision began (None: not known), under which introspection remembers what it found.
        The same introspection request again under the same stamp is answered first."""
        fingerprint = None
        if route.endpoint == "introspect" and stamp is not None:
            fingerprint = self.lifecycle.fingerprint(route, request, body)
            known = self.lifecycle.answered(fingerprint, stamp)
            if known is not None:
                return known
        params = self._params(route, request, body)
        if route.endpoint == "token":
            return (yield from self._token(route, request, params))
        if route.endpoint == "me":
            return (yield from self._me(request, route))
        if route.endpoint in _POST_ONLY:
            header = extract_credential(request._replace(query_string=b""))
            return (yield from self.lifecycle.finish(route, params, header, stamp, fingerprint))
        return (yield from self._revoke(route, request, params))

    def _now(self) -> int:
        return self.state.now_ms()

    # -- parameters ---------------------------------------------------------------------

    def _params(self, route: Route, request: RequestInfo, body: bytes) -> dict[str, object]:
        """The parameters of query and body; each at most once, and one sent without a value
        is treated as omitted (RFC 6749 §3.1)."""
        query = parse_query(request.query_string)
        refused = self._uri_refused(route)
        if any(name in refused for name, _ in query):
            raise BadRequestError("Credentials are not accepted in the URI")
        found: dict[str, object] = {}
        for name, value in [*query, *body_params(request, body)]:
            if name in found:
                raise BadRequestError(f"The parameter {name[:40]!r} was sent more than once")
            if isinstance(value, str) and not is_text(value):
                # JSON can carry lone surrogates ("\ud800"); refused alike for every account,
                # before any lookup, so the answer says nothing about who exists.
                raise BadRequestError(f"The parameter {name[:40]!r} is not valid Unicode text")
            found[name] = value
        return {name: value for name, value in found.items() if value != ""}

    def _uri_refused(self, route: Route) -> frozenset[str]:
        """Parameter names the query string may not carry here (behaviour §2, §6 strict)."""
        if route.endpoint in _POST_ONLY:
            return REFUSED_IN_URI | CREDENTIAL_PARAMS
        if self.options.strict and route.endpoint == "token":
            return URI_SECRET_PARAMS
        if not self.options.allow_query_credentials:
            return CREDENTIAL_PARAMS
        return frozenset()

    # -- token --------------------------------------------------------------------------

    def _token(self, route: Route, request: RequestInfo, params: Params) -> Flow[Response]:
        header = extract_credential(request._replace(query_string=b""))
        if isinstance(header, BearerToken):
            raise BadRequestError("The token endpoint takes no access token")
        grant_type = param_text(params, "grant_type")
        if grant_type is None:
            raise BadRequestError("grant_type is required")
        ttl = parse_ttl(params.get("ttl"))
        if grant_type == "password":
            yield from self._check_presented_client(route, params, header)
            grant = yield from self._password_grant(route, params, ttl)
        elif grant_type == "client_credentials":
            grant = yield from self._client_grant(route, params, header, ttl)
        elif grant_type == "refresh_token":
            yield from self._check_presented_client(route, params, header)
            grant = yield from self._refresh_grant(route, params, ttl)
        else:
            raise UnsupportedGrantTypeError(f"Unsupported grant type: {grant_type[:40]!r}")
        return json_response(200, (yield from token_body(grant)))

    def _password_grant(self, route: Route, params: Params, ttl: int | None) -> Flow[TokenGrant]:
        username, password = param_text(params, "username"), param_text(params, "password")
        if not username or not password:
            raise BadRequestError("username and password are required")
        if route.org is None or route.app is None:
            return (yield from flows.admin_token(self.state, username, password, ttl))
        yield from flows.guest(self.state, route.org, route.app)  # 401 for an unknown app
        return (
            yield from flows.password_token(
                self.state, route.org, route.app, username, password, ttl
            )
        )

    def _refresh_grant(self, route: Route, params: Params, ttl: int | None) -> Flow[TokenGrant]:
        token = param_text(params, "refresh_token")
        if not token:
            raise BadRequestError("refresh_token is required")
        if route.org is None or route.app is None:
            return (yield from refresh_flows.refresh_admin(self.state, token, ttl))
        yield from flows.guest(self.state, route.org, route.app)  # 401 for an unknown app
        return (yield from refresh_flows.refresh(self.state, route.org, route.app, token, ttl))

    def _check_presented_client(self, route: Route, params: Params, header: object) -> Flow[None]:
        """Client credentials that come with a password grant are verified (RFC 6749 §3.2.1)
        before the password is: a client that could not get a client token here (a wrong
        secret, an unknown id, another app's or org's client) is 401 ``invalid_client``, and
        no KDF runs for it. None presented: the grant needs none, as in the original."""
        client_id, secret = client_pair(params, header)
        if client_id is None and secret is None:
            return
        if not client_id or not secret:
            raise InvalidClientError("client_id and client_secret go together")
        principal = yield from flows.authenticate_client(self.state, client_id, secret)
        if route.org is None or route.app is None:
            return  # /management/token serves every client, as its client_credentials grant
        if not principal.covers(route.org.lower(), route.app.lower()):
            raise InvalidClientError()

    def _client_grant(
        self, route: Route, params: Params, header: object, ttl: int | None
    ) -> Flow[TokenGrant]:
        client_id, secret = client_pair(params, header)
        if not client_id or not secret:
            raise InvalidClientError("client_id and client_secret are required")
        for_app = None if route.org is None or route.app is None else (route.org, route.app)
        return (yield from flows.client_token(self.state, client_id, secret, ttl, for_app))

    # -- me -----------------------------------------------------------------------------

    def _me_token(
        self, credential: BearerToken, route: Route
    ) -> Flow[tuple[Principal, int | None]]:
        """Whom the token stands for and when it expires (ms): an org-level identity
        provider's token (a JWT) is authenticated as on every other request."""
        if not looks_like_jwt(credential.token):
            info = yield from flows.token_info(self.state, credential.token)
            return info.principal, info.expires_at_ms
        principal = yield from self.authenticate(credential, route)
        expiry = parse_compact(credential.token).claims.get("exp")  # verified just now
        return principal, int(expiry) * 1000 if isinstance(expiry, int | float) else None

    def _me(self, request: RequestInfo, route: Route) -> Flow[Response]:
        credential = extract_credential(request, allow_query=self.options.allow_query_credentials)
        if not isinstance(credential, BearerToken):  # client credentials carry no admin
            raise AuthenticationError(
                "No admin identity for access credentials provided",
                challenge_error=None if credential is None else "invalid_token",
            )
        principal, expires_at_ms = yield from self._me_token(credential, route)
        if principal.kind != "admin_user":
            raise AuthenticationError(
                "No admin identity for access credentials provided", challenge_error="invalid_token"
            )
        body: dict[str, object] = {"token_type": "Bearer"}
        if expires_at_ms is not None:
            body["expires_in"] = max(0, (expires_at_ms - self._now()) // 1000)
        body.update((yield from describe(principal)))
        return json_response(200, body)

    # -- revoke -------------------------------------------------------------------------

    def _revoke(self, route: Route, request: RequestInfo, params: Params) -> Flow[Response]:
        credential = extract_credential(request, allow_query=self.options.allow_query_credentials)
        if credential is None:
            raise AuthenticationError("Revoking tokens needs credentials")
        caller = yield from self.authenticate(credential, route)
        owner = yield from self._revoke_target(route, caller)
        if route.endpoint == "revoke_all":
            yield from self._revoke_all(owner)
            action = "revoked user tokens"
        else:
            yield from self._revoke_one(param_text(params, "token"), owner)
            action = "revoked user token"
        return json_response(200, {"action": action, "timestamp": self._now(), "duration": 0})

    def _revoke_one(self, token: str | None, owner: Principal) -> Flow[None]:
        """Revoke ``token`` of ``owner``; a value that is no token is the request's fault (400),
        not a challenge to the caller's own credentials."""
        if not token:
            raise BadRequestError("The token parameter is required")
        try:
            yield from flows.revoke_token(self.state, token, owner)
        except MalformedTokenError:
            raise BadRequestError("The token parameter is not a valid access token") from None

    def _revoke_all(self, owner: Principal) -> Flow[None]:
        if owner.kind == "admin_user":
            yield from flows.revoke_admin_tokens(self.state, owner.uuid or "")
        else:
            yield from flows.revoke_user_tokens(
                self.state, owner.org or "", owner.app or "", owner.uuid or ""
            )

    def _revoke_target(self, route: Route, caller: Principal) -> Flow[Principal]:
        """Whose tokens the caller may revoke here: its own, or (clients, admins) any user's."""
        subject = route.subject or ""
        if route.org is None or route.app is None:
            if caller.kind != "admin_user" or not (yield from flows.is_self(caller, subject)):
                raise ForbiddenError("Only an admin user may revoke its own tokens")
            return replace(caller, token_id=None)
        if caller.kind == "app_user":
            if not (yield from flows.is_self(caller, subject)):
                raise ForbiddenError("A user may revoke only its own tokens")
            return replace(caller, token_id=None)
        if subject.lower() == "me":
            raise BadRequestError("'me' names an app user; this caller is not one")
        try:
            user = yield from flows.get_user(route.org, route.app, subject)
        except NotFoundError:
            raise ResourceNotFoundError(f"No user {subject[:64]!r} in this application") from None
        return Principal(
            kind="app_user", org=route.org, app=route.app, uuid=user.uuid, username=user.username
        )


