"""Reading a request before any store is asked: method and path checks, routing (the management
API's table matched here, once), exactly one credential, the query without credentials.

The outcome is a pure function of the request, so it is remembered (``freshness``'s ``parsed``):
a request seen again skips straight to authentication.
"""

from __future__ import annotations

from baas_auth.api.dispatch import ManagementApi
from baas_auth.api.table import Match
from baas_auth.core.credentials import (
    Credential,
    check_method,
    check_method_override,
    extract_credential,
    scrub_query,
)
from baas_auth.core.http import RequestInfo
from baas_auth.core.identifiers import is_uuid
from baas_auth.core.paths import check_raw_path, check_route_path
from baas_auth.core.routing import Route, route_multi_tenant, route_single_app
from baas_auth.errors import AuthenticationError, BadRequestError
from baas_auth.middleware.decisions import GateOptions
from baas_auth.middleware.freshness import Freshness, Parsed

__all__ = ["RequestReader", "names_a_uuid"]

_UUID_LENGTH = 36


class RequestReader:
    """Reads requests for one middleware; remembers what it read in ``freshness``."""

    def __init__(self, options: GateOptions, freshness: Freshness, api: ManagementApi) -> None:
        self.options = options
        self.freshness = freshness
        self.api = api

    def route(self, request: RequestInfo) -> Route:
        """The route, after the checks of the method and the path that come before routing.

        An encoded ``/`` in the raw path is refused (behaviour §5.2), except in a request the
        management API answers on a row with a group's path (``/groups/staff%2Fmanagers/users``,
        as the original's SDKs send it): no other router reads that path, and the API matches
        and checks the decoded one, which is the same as ``/groups/staff/managers/users``."""
        check_method(request.method)
        refused: BadRequestError | None = None
        if request.raw_path is not None:
            try:
                check_raw_path(request.raw_path)
            except BadRequestError as error:
                refused = error
        check_route_path(request.path, allow_trailing_slash=True)
        try:
            route = self._route(request)
        except AuthenticationError:
            if refused is not None:
                raise refused from None
            raise
        if refused is not None and not self._takes_encoded_slash(request, route):
            raise refused
        return route

    def _takes_encoded_slash(self, request: RequestInfo, route: Route) -> bool:
        if not self.options.management_api or route.endpoint is not None:
            return False
        try:
            check_raw_path(request.raw_path or b"", encoded_slash=True)
        except BadRequestError:
            return False
        match = self.api.route(route, request.method)
        return isinstance(match, Match) and any(
            part.endswith("+}") for part in match.row.segments
        )

    def parse(self, request: RequestInfo, route: Route) -> Parsed:
        """The checks that depend on the request alone, after routing (and the API's match),
        remembered unless the request carries a client secret."""
        parsed = self._parse(request, route)
        self.freshness.remember_parsed(request, parsed)
        return parsed

    def _parse(self, request: RequestInfo, route: Route) -> Parsed:
        check_method_override(request)
        scrubbed = scrub_query(request.query_string)
        if self._is_preflight(request):
            return Parsed(route, None, True, scrubbed)
        if self.options.management_api and route.endpoint is None:
            api = self.api.route(route, request.method)
            if api is not None:
                return Parsed(route._replace(endpoint="api"), None, False, scrubbed, api)
        if route.endpoint is not None:
            return Parsed(route, None, False, scrubbed)
        return Parsed(route, self.credential(request), False, scrubbed)

    def _is_preflight(self, request: RequestInfo) -> bool:
        if not self.options.cors_preflight or request.method != "OPTIONS":
            return False
        names = {key for key, _ in request.headers}
        return "origin" in names and "access-control-request-method" in names

    def _route(self, request: RequestInfo) -> Route:
        """The route of ``request``; 401 for a multi-tenant path outside every app, whose
        challenge says ``invalid_token`` when credentials came (they belong to no app here)."""
        target = self.options.application
        if target is not None:
            return route_single_app(
                request.path, target[0], target[1], endpoints=self.options.endpoints
            )
        try:
            return route_multi_tenant(request.path, endpoints=self.options.endpoints)
        except AuthenticationError as error:
            if self.credential(request) is None:
                raise
            raise AuthenticationError(
                error.error_description, challenge_error="invalid_token"
            ) from None

    def credential(self, request: RequestInfo) -> Credential | None:
        return extract_credential(
            request,
            allow_query=self.options.allow_query_credentials,
            parse_authorization=self.freshness.bearer_headers.parse,
        )


def names_a_uuid(route: Route) -> bool:
    """Whether the multi-tenant prefix names its org or app by uuid (checked by length first:
    this runs on every request)."""
    org, app = route.org or "", route.app or ""
    return (len(org) == _UUID_LENGTH and is_uuid(org)) or (
        len(app) == _UUID_LENGTH and is_uuid(app)
    )
