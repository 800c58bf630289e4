"""Serving the management API (``management_api=True``): which requests it takes, and the
answer to one, as a flow: authenticate the caller, resolve the addressed org and app,
authorize (``baas_auth.api.authorize``), run the row's handler, render Usergrid's shape.

Bodies are JSON or forms, read by the adapters under the endpoints' limit and parsed as the
token endpoint parses them. Every change goes through the realm's flows, so caches and
revocation behave as for any other write.
"""

from __future__ import annotations

from collections.abc import Callable

from baas_auth.api.authorize import authorize
from baas_auth.api.holders import addressed
from baas_auth.api.rows import ROWS
from baas_auth.api.shapes import api_response
from baas_auth.api.table import ApiCall, ApiResult, Area, Match, RouteTable
from baas_auth.core.credential_names import CREDENTIAL_PARAMS
from baas_auth.core.credentials import Credential, extract_credential, parse_query
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.identifiers import is_text
from baas_auth.core.responses import method_not_allowed
from baas_auth.core.routing import Route
from baas_auth.errors import (
    BadRequestError,
    ConfigError,
    ConflictError,
    IllegalArgumentError,
    NotFoundError,
    ResourceNotFoundError,
)
from baas_auth.middleware.decisions import EndpointCall, GateOptions
from baas_auth.middleware.endpoint_bodies import body_params
from baas_auth.model import App, Principal
from baas_auth.realm import flows
from baas_auth.realm.addressing import app_name_of, org_name_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow

__all__ = ["DuplicateError", "ManagementApi"]

_BODY_METHODS = frozenset({"POST", "PUT"})


class DuplicateError(BadRequestError):
    """400 ``duplicate_unique_property_exists``: the role or group exists (Usergrid's code)."""

    default_error = "duplicate_unique_property_exists"
    default_description = "An entity with this name exists"
    default_challenge = None


class ManagementApi:
    """The management API over one realm: ``route`` when a request is read, ``start`` and
    ``finish`` as the other endpoints (``baas_auth.middleware.endpoints``)."""

    def __init__(
        self,
        state: RealmState,
        options: GateOptions,
        authenticate: Callable[[Credential | None, Route], Flow[Principal]],
        table: RouteTable | None = None,
    ) -> None:
        self.state = state
        self.options = options
        self.authenticate = authenticate
        self.table = table if table is not None else RouteTable(ROWS)

    def route(self, route: Route, method: str) -> Match | tuple[str, ...] | None:
        """The row that serves this request; else the methods the API takes on a path it
        owns (the request is then a 405); None when the request is not the API's. Matched
        once, when the request is read: ``start`` and ``finish`` are handed the result."""
        area = _area(route)
        match = self.table.match(area, method, route.path)
        if match is not None:
            return match
        return self.table.allowed(area, route.path) or None

    def start(
        self,
        route: Route,
        request: RequestInfo,
        api: Match | tuple[str, ...] | None,
        *,
        websocket: bool,
    ) -> EndpointCall | Response:
        if websocket:
            raise BadRequestError("This endpoint does not take websocket connections")
        if not isinstance(api, Match):
            return method_not_allowed(", ".join(api or ()), now_ms=self.state.now_ms())
        return EndpointCall(route, request, request.method in _BODY_METHODS, api_match=api)

    def finish(self, pending: EndpointCall, body: bytes) -> Flow[Response]:
        route, request, match = pending.route, pending.request, pending.api_match
        if match is None:  # start() answered every other request
            raise BadRequestError("No such endpoint")
        args = _args(request, body)
        principal = yield from self._caller(route, request, match)
        org, app, params = yield from self._target(route, match, principal)
        call = ApiCall(self.state, principal, org, app, params, args, request)
        try:
            app_value = None if app is None else (yield from flows.get_app(org, app))
            result = yield from match.row.handler(call)
        except ConflictError as error:
            raise DuplicateError(str(error)) from None
        except NotFoundError as error:
            raise ResourceNotFoundError(str(error)) from None
        except ConfigError as error:
            raise IllegalArgumentError(str(error)) from None
        return self._render(match, result, org, app_value, route, request)

    def _caller(self, route: Route, request: RequestInfo, match: Match) -> Flow[Principal]:
        """Who calls: authenticated as for any request (a guest of the app without
        credentials); under ``/management`` without credentials, an ``anyone`` row's
        caller is a guest of no app, and every other row's is refused (401)."""
        credential = extract_credential(request, allow_query=self.options.allow_query_credentials)
        if credential is None and route.org is None and match.row.access == "anyone":
            return Principal(kind="guest")
        return (yield from self.authenticate(credential, route))

    def _target(
        self, route: Route, match: Match, principal: Principal
    ) -> Flow[tuple[str, str | None, dict[str, str]]]:
        """The org and app addressed (names) and the row's parameters (a role or group named
        by uuid turned to its name), after checking the caller may address them: the caller
        is authorized before anything else is looked up, so a 404 tells only those entitled
        to know."""
        row = match.row
        if route.org is not None:
            org, app = route.org, route.app
        else:
            org, app = match.params.get("org", ""), match.params.get("app")
        names, paths = yield from addressed(org, app, match)
        yield from authorize(
            self.state,
            principal,
            row,
            org,
            app,
            match.params,
            paths,
            self.options.case_sensitive,
        )
        if route.org is not None or "org" not in match.params:
            return org, app, names
        try:
            org = yield from org_name_of(self.state, org)
            app = None if app is None else (yield from app_name_of(self.state, org, app))
        except NotFoundError as error:
            raise ResourceNotFoundError(str(error)) from None
        return org, app, names

    def _render(
        self,
        match: Match,
        result: ApiResult,
        org: str,
        app: App | None,
        route: Route,
        request: RequestInfo,
    ) -> Response:
        return api_response(
            result,
            action=match.row.answer_action,
            org=org,
            app=app,
            path=route.path,
            query_string=request.query_string,
            now_ms=self.state.now_ms(),
            management=route.org is None,
        )


def _area(route: Route) -> Area:
    return "management" if route.org is None else "app"


def _args(request: RequestInfo, body: bytes) -> dict[str, tuple[object, ...]]:
    """Query and body parameters, each with all its values (``?permission=`` may repeat);
    credentials are the caller's, never a parameter."""
    found: dict[str, list[object]] = {}
    query = [(k, v) for k, v in parse_query(request.query_string) if k not in CREDENTIAL_PARAMS]
    for name, value in [*query, *body_params(request, body)]:
        if isinstance(value, str) and not is_text(value):
            raise BadRequestError(f"The parameter {name[:40]!r} is not valid Unicode text")
        found.setdefault(name, []).append(value)
    return {name: tuple(values) for name, values in found.items()}
