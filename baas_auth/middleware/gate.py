"""The decision for one request, shared by both adapters: refuse, answer, or admit with a principal.

The steps (DESIGN): method and path checks, routing, exactly one credential, authentication
through the realm's flows, then the rules. The decision is itself a flow: the WSGI adapter runs
it with a blocking driver, the ASGI adapter on its event loop. Every refusal is a rendered
``Response``; the inner app is only called on ``Admit``. A ``StoreError`` anywhere becomes 503:
nothing falls through to "allow". Each request's decision is reported once, here, to
``events`` (the ``on_decision`` hook and the ``baas_auth`` logger), so both adapters report alike.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from baas_auth.api.dispatch import ManagementApi
from baas_auth.core.credentials import (
    BearerHeaders,
    BearerToken,
    ClientSecretPair,
    Credential,
    check_method,
    check_method_override,
    extract_credential,
    scrub_query,
)
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.identifiers import is_uuid
from baas_auth.core.paths import check_raw_path, check_route_path, rule_path, split_segments
from baas_auth.core.records import AppRecord
from baas_auth.core.responses import Side, error_response
from baas_auth.core.routing import Route, route_multi_tenant, route_single_app
from baas_auth.errors import (
    AuthenticationError,
    AuthError,
    ConfigError,
    ForbiddenError,
    InvalidClientCredentialsError,
    InvalidClientError,
    NotFoundError,
    ResourceNotFoundError,
    StoreError,
)
from baas_auth.middleware.decisions import (
    SAFE_REALM_NAME,
    Admit,
    Decision,
    EndpointCall,
    GateOptions,
)
from baas_auth.middleware.endpoints import Endpoints
from baas_auth.middleware.events import DecisionEvents
from baas_auth.middleware.freshness import (
    Admitted,
    KnownToken,
    Recalls,
    Refused,
    may_remember_refusal,
)
from baas_auth.model import Principal
from baas_auth.realm import flows
from baas_auth.realm.access_flows import allows, manages_org
from baas_auth.realm.addressing import resolve_prefix
from baas_auth.realm.cache import MISS
from baas_auth.realm.directory import get_app
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.views import app_record, fresh_view

__all__ = ["Gate"]

_ORG_AREAS = frozenset({"orgs", "organizations"})
_ALL_ACCESS_KINDS = frozenset({"app_client", "org_client", "admin_user"})
_UUID_LENGTH = 36


class Parsed(NamedTuple):
    """What the checks that need no store made of a request."""

    route: Route
    credential: Credential | None
    preflight: bool
    query_string: bytes


_PARSED_CACHE_SIZE = 4096
_GONE = ResourceNotFoundError("The resource no longer exists")


def check_application(options: GateOptions) -> Flow[None]:
    """A single-app middleware for an app the realm lacks would answer 401 to everyone."""
    if options.application is None:
        return
    org, app = options.application
    try:
        yield from get_app(org, app)
    except NotFoundError:
        raise ConfigError(
            f"application={f'{org}/{app}'!r}: the realm has no such application; create it first "
            f"(realm.create_app({org!r}, {app!r}), or `baas-auth create-app {org} {app}`)"
        ) from None


def _check_covered(principal: Principal, app: AppRecord | None, org: str, name: str) -> None:
    """401 unless the app exists (``app``, read in the snapshot the principal was found in)
    and the principal belongs to it: a token of one app is a stranger to every other."""
    if app is None or not principal.covers(org, name):
        raise AuthenticationError(
            "No application access authorized", challenge_error="invalid_token"
        )


class Gate:
    """Decides what happens to one request; holds no per-request state."""

    def __init__(
        self, state: RealmState, options: GateOptions, *, remember_tokens: bool = True
    ) -> None:
        """``remember_tokens``: whether a token found valid may be taken as valid again under
        the same change stamp (``_bearer``); only where the stamp is read for every request."""
        self.state = state
        self.options = options
        self.endpoints = Endpoints(state, options, self.authenticate)
        self.api = ManagementApi(state, options, self.authenticate)
        self.events = DecisionEvents(options.on_decision)
        self._parsed: dict[RequestInfo, Parsed] = {}
        self._bearer_headers = BearerHeaders()
        self.recalls = Recalls()
        self._remember_tokens = remember_tokens
        self._application_checked = options.application is None

    def check_application(self) -> Flow[None]:
        """Check once that a single-app middleware's application exists (ConfigError if not).
        Adapters run it at construction where they can; a store that is down then (or an
        AsyncRealm, which cannot be read before the loop runs) leaves it to the first request."""
        if not self._application_checked:
            yield from check_application(self.options)
            self._application_checked = True

    def now_ms(self) -> int:
        return self.state.now_ms()

    def recall(self, key: Hashable, stamp: int | None) -> Admit | Response | None:
        """The decision on the request ``key`` made before, if it still holds: the store's
        freshness check read for this request (``stamp``) is the one it was made under (and an
        admission's token has not expired since). The steady state of a client repeating a
        call, with no store round trip and no flow; None sends the request to ``decide``.

        Only decisions that rest on nothing else are remembered (``decide``): for bearer
        tokens and guests, never client secrets, never a user whose roles lapse with
        inactivity (each of its requests is a use to record), never a store failure."""
        entry = self.recalls.admitted.get(key)  # inline, not Recalls.admission: the hot path
        if entry is None or entry.stamp != stamp:
            return self._recall_refusal(key, stamp)
        expires = entry.expires_at_ms
        if expires is not None and self.state.now_ms() >= expires:
            return None
        started = self.events.start()
        if started is not None:
            principal = entry.admit.principal
            reason = "rule" if principal is None else _allow_reason(principal, entry.route)
            self.events.emit(started, entry.request, entry.route, principal, "allow", None, reason)
        return entry.admit

    def _recall_refusal(self, key: Hashable, stamp: int | None) -> Response | None:
        refused = self.recalls.refusal(key, stamp, self.state.now_ms())
        if refused is None:
            return None
        started = self.events.start()
        return self._refuse(
            refused.error, started, refused.request, refused.route, refused.principal
        )

    def decide(
        self,
        request: RequestInfo,
        *,
        websocket: bool = False,
        stamp: int | None = None,
        recall_key: Hashable = None,
    ) -> Flow[Decision]:
        """Refuse, answer or admit ``request``; never raises for a bad request or a failed store.
        Reports the decision to ``events``, except an endpoint's, which ``answer`` reports.
        ``stamp``, the store's freshness check read before this decision began (None: the
        store offers none), lets ``recall`` answer the same request again, under
        ``recall_key`` (default: ``request``; an adapter may key by what it reads more cheaply,
        provided the key determines ``request``)."""
        started = self.events.start()
        route: Route | None = None
        recall: tuple[int, Hashable] | None = None
        try:
            if self.state.keys is None:  # an AsyncRealm starts on its first request
                yield from flows.start(self.state)
            if not self._application_checked:
                yield from self.check_application()
            parsed = self._parsed.get(request)
            seen_before = parsed is not None
            if parsed is None:
                route = self._route_checked(request)
                parsed = self._parse(request, route)
            route = parsed.route
            if self.options.application is None and _names_a_uuid(route):
                route = yield from self._named(route)
            if parsed.preflight:
                if started is not None:
                    self.events.emit(started, request, route, None, "allow", None, "cors-preflight")
                return Admit(None, parsed.query_string)
            if route.endpoint is not None:
                return self._endpoint(route, request, websocket, started)
            # Remembered from its second sight on: a request made once (a new path each time)
            # then costs no entry, and cannot crowd out the ones a client repeats.
            key = request if recall_key is None else recall_key
            recall = (stamp, key) if stamp is not None and seen_before else None
            return (yield from self._admit(parsed, request, started, recall, stamp))
        except (AuthError, StoreError) as error:
            if recall is not None and may_remember_refusal(error):
                self._remember_refusal(recall, error, request, route, None)
            return self._refuse(error, started, request, route)
        except NotFoundError:  # a user or app deleted while the request was being answered
            return self._refuse(_GONE, started, request, route)

    def _named(self, route: Route) -> Flow[Route]:
        """The route with an org or app given by uuid in the prefix named by its name."""
        org, app = route.org or "", route.app or ""
        named = yield from resolve_prefix((yield from fresh_view(self.state)), org, app)
        return route._replace(org=named[0], app=named[1])

    def _remember_refusal(
        self,
        recall: tuple[int, Hashable],
        error: AuthError | StoreError,
        request: RequestInfo,
        route: Route | None,
        principal: Principal | None,
        expires_at_ms: int | None = None,
    ) -> None:
        if isinstance(error, AuthError):  # may_remember_refusal said so; this tells mypy
            stamp, key = recall
            entry = Refused(stamp, error, request, route, principal, expires_at_ms)
            self.recalls.remember_refusal(key, entry)

    def _endpoint(
        self, route: Route, request: RequestInfo, websocket: bool, started: int | None
    ) -> EndpointCall | Response:
        served_by = self.api if route.endpoint == "api" else self.endpoints
        call = served_by.start(route, request, websocket=websocket)
        if started is None:
            return call
        if isinstance(call, Response):  # a method the endpoint does not take
            self.events.emit(
                started, request, route, None, "refuse", call.status, "method_not_allowed"
            )
            return call
        return call._replace(started_ns=started)

    def _route_checked(self, request: RequestInfo) -> Route:
        """The route, after the checks of the method and the path that come before routing."""
        check_method(request.method)
        if request.raw_path is not None:
            check_raw_path(request.raw_path)
        check_route_path(request.path, allow_trailing_slash=True)
        return self._route(request)

    def _parse(self, request: RequestInfo, route: Route) -> Parsed:
        """The checks that depend on the request alone (no store, no clock), after routing.

        The outcome is a pure function of ``request``, so a successful one is remembered and a
        request seen again skips straight to authentication. Requests carrying client secrets
        are not remembered, so that no secret lingers in memory.
        """
        check_method_override(request)
        scrubbed = scrub_query(request.query_string)
        if self._is_preflight(request):
            return Parsed(route, None, True, scrubbed)
        if route.endpoint is not None:
            return Parsed(route, None, False, scrubbed)
        credential = self._credential(request)
        parsed = Parsed(route, credential, False, scrubbed)
        if not isinstance(credential, ClientSecretPair):
            if len(self._parsed) >= _PARSED_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[request] = parsed
        return parsed

    def answer(self, pending: EndpointCall, body: bytes) -> Flow[Response]:
        """The response of an endpoint, given the request body the adapter read (``b""`` when
        it has none). A password grant offloads the KDF to where the driver puts slow work."""
        started, request, route = pending.started_ns, pending.request, pending.route
        served_by = self.api if route.endpoint == "api" else self.endpoints
        try:
            response = yield from served_by.finish(route, request, body)
        except (AuthError, StoreError) as error:
            return self._refuse(error, started, request, route)
        except NotFoundError:  # a user or app deleted while the request was being answered
            return self._refuse(_GONE, started, request, route)
        if started is not None:
            reason = route.endpoint or ""
            self.events.emit(started, request, route, None, "answer", response.status, reason)
        return response

    def refusal(self, error: AuthError | StoreError, route: Route | None) -> Response:
        """Refuse a request the adapter could not read (the decision never saw it), and report
        that to ``events``, with an empty method and path."""
        return self._refuse(error, self.events.start(), None, route)

    def refuse_call(self, pending: EndpointCall, error: AuthError | StoreError) -> Response:
        """Refuse an endpoint request whose body the adapter could not take, and report it."""
        return self._refuse(error, pending.started_ns, pending.request, pending.route)

    def _refuse(
        self,
        error: AuthError | StoreError,
        started: int | None,
        request: RequestInfo | None,
        route: Route | None,
        principal: Principal | None = None,
    ) -> Response:
        response = self.render(error, route)
        # A store failure is logged even when nothing else is: an operator must hear of it.
        if started is not None or isinstance(error, StoreError):
            reason = error.error
            self.events.emit(
                started, request, route, principal, "refuse", response.status, reason, error
            )
        return response

    def render(self, error: AuthError | StoreError, route: Route | None) -> Response:
        """Render ``error``; with ``usergrid_status_codes`` every 403 is answered as 401."""
        if isinstance(error, ForbiddenError) and self.options.usergrid_status_codes:
            error = AuthenticationError(
                error.error_description, challenge_error=error.challenge_error
            )
        side: Side = "token" if route is not None and route.endpoint == "token" else "resource"
        return error_response(
            error, realm_name=self.realm_name(route), now_ms=self.now_ms(), side=side
        )

    def realm_name(self, route: Route | None) -> str:
        """The ``realm=`` of challenges: configured, else the app's full name (in single-app
        mode always that app), else ``management`` or ``baas``."""
        if self.options.realm_name is not None:
            return self.options.realm_name
        if self.options.application is not None:
            return "/".join(self.options.application)
        if route is None:
            return "baas"
        if route.org is None or route.app is None:
            return "management"
        name = f"{route.org}/{route.app}"
        return name if SAFE_REALM_NAME.fullmatch(name) else "baas"

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
            route = route_single_app(
                request.path, target[0], target[1], endpoints=self.options.endpoints
            )
        else:
            route = self._route_multi_tenant(request)
        if self.options.management_api and route.endpoint is None:
            return self._api_route(route, request.method)
        return route

    def _api_route(self, route: Route, method: str) -> Route:
        """The route marked for the management API when the API serves it."""
        return route._replace(endpoint="api") if self.api.serves(route, method) else route

    def _route_multi_tenant(self, request: RequestInfo) -> Route:
        try:
            return route_multi_tenant(request.path, endpoints=self.options.endpoints)
        except AuthenticationError as error:
            if self._credential(request) is None:
                raise
            raise AuthenticationError(
                error.error_description, challenge_error="invalid_token"
            ) from None

    def _credential(self, request: RequestInfo) -> Credential | None:
        return extract_credential(
            request,
            allow_query=self.options.allow_query_credentials,
            parse_authorization=self._bearer_headers.parse,
        )

    def _admit(
        self,
        parsed: Parsed,
        request: RequestInfo,
        started: int | None,
        recall: tuple[int, Hashable] | None,
        stamp: int | None,
    ) -> Flow[Admit | Response]:
        route, credential = parsed.route, parsed.credential
        expires_at_ms: int | None = None
        if isinstance(credential, BearerToken):
            # The most common request, one flow shallower than ``authenticate``.
            principal, expires_at_ms = yield from self._bearer(credential.token, stamp)
            if route.org is not None and route.app is not None:
                app = self.state.snapshot.apps.lookup((route.org, route.app))
                if app is MISS:
                    app = yield from app_record(self.state.snapshot, route.org, route.app)
                _check_covered(principal, app, route.org, route.app)
        else:
            principal = yield from self.authenticate(credential, route)
        try:
            if route.org is None or route.app is None:
                yield from self._check_management(principal, route.path)
            else:
                yield from self._check_rules(principal, request.method, route)
        except (AuthError, StoreError) as error:  # here, the event can say who was refused
            recallable = recall is not None and self._recallable(credential, principal, route)
            if recall is not None and recallable and may_remember_refusal(error):
                # A refusal of a valid token: it ends with the token (then 401 expired_token).
                self._remember_refusal(recall, error, request, route, principal, expires_at_ms)
            return self._refuse(error, started, request, route, principal)
        if started is not None:
            reason = _allow_reason(principal, route)
            self.events.emit(started, request, route, principal, "allow", None, reason)
        query_token = isinstance(credential, BearerToken) and credential.source == "query"
        admit = Admit(principal, parsed.query_string, query_token)
        if recall is not None and self._recallable(credential, principal, route):
            stamp, key = recall
            entry = Admitted(stamp, expires_at_ms, admit, request, route)
            self.recalls.remember_admission(key, entry)
        return admit

    def _bearer(self, token: str, stamp: int | None) -> Flow[tuple[Principal, int | None]]:
        """Whom a bearer token stands for, and the expiry written in it. A token found valid
        under the stamp read for this request is not read from the store again: while the
        stamp holds, no revocation, deletion or key retirement happened anywhere."""
        known = self.recalls.known_token(token, stamp, self.state.now_ms())
        if known is not None:
            return known.principal, known.expires_at_ms
        principal = (yield from flows.token_info(self.state, token)).principal
        expires_at_ms = self._token_expiry(token)
        if stamp is not None and self._may_remember_token(principal):
            self.recalls.remember_token(token, KnownToken(stamp, principal, expires_at_ms))
        return principal, expires_at_ms

    def _token_expiry(self, token: str) -> int | None:
        """The expiry written in the token, the one every decision checks (the ring has just
        verified it: a dict lookup)."""
        keys = self.state.keys
        if keys is None:  # never: the token was just verified
            return 0
        return keys.verify(token, now_ms=self.state.now_ms(), allow_expired=True).expires_at_ms

    def _recallable(
        self, credential: Credential | None, principal: Principal, route: Route
    ) -> bool:
        """Whether this admission stays true for as long as the store does not change (and
        the token does not expire): see ``recall``."""
        if credential is not None and not isinstance(credential, BearerToken):
            return False  # client secrets are checked every time, and never remembered
        if principal.kind != "app_user":
            return True
        return self._known_without_timed_roles(route.org or "", route.app or "", principal)

    def _may_remember_token(self, principal: Principal) -> bool:
        """Not where the stamp may be stale, and not for an app user whose roles may lapse
        with inactivity (or who is not known well enough to tell): each of its requests
        records a use, in the store."""
        if not self._remember_tokens:
            return False
        if principal.kind != "app_user":
            return True
        org, app = principal.org or "", principal.app or ""
        return self._known_without_timed_roles(org, app, principal)

    def _known_without_timed_roles(self, org: str, app: str, principal: Principal) -> bool:
        policy = self.state.snapshot.users.lookup((org, app, principal.uuid or ""))
        return policy is not MISS and policy is not None and not policy.has_timed_roles

    def authenticate(self, credential: Credential | None, route: Route) -> Flow[Principal]:
        """The principal of ``credential`` for ``route``; 401 when it does not belong there."""
        if credential is None:
            if route.org is None or route.app is None:
                raise AuthenticationError("No admin identity for the request")
            return (yield from flows.guest(self.state, route.org, route.app))
        principal = yield from self._principal(credential)
        if route.org is not None and route.app is not None:
            app = yield from app_record(self.state.snapshot, route.org, route.app)
            _check_covered(principal, app, route.org, route.app)
        return principal

    def _principal(self, credential: Credential) -> Flow[Principal]:
        if isinstance(credential, BearerToken):
            return (yield from flows.token_info(self.state, credential.token)).principal
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

    def _check_management(self, principal: Principal, path: str) -> Flow[None]:
        """Behaviour §6.1: ``/management/orgs/{org}[/…]`` for that org's admins and clients,
        ``/management/users/{admin}[/…]`` for that admin itself, ``/management/orgs`` for any
        admin user; everything else under ``/management`` for nobody."""
        if not (yield from self._may_manage(principal, split_segments(rule_path(path)))):
            raise ForbiddenError("No access to this management resource")

    def _may_manage(self, principal: Principal, segments: list[str]) -> Flow[bool]:
        if not segments:
            return False
        area = segments[0].casefold()
        if area in _ORG_AREAS:
            if len(segments) == 1:
                return principal.kind == "admin_user"
            return (yield from manages_org(self.state.snapshot, principal, segments[1]))
        if area == "users" and len(segments) > 1:
            if principal.kind != "admin_user":
                return False
            return (yield from flows.is_self(principal, segments[1]))
        return False

    def _check_rules(self, principal: Principal, method: str, route: Route) -> Flow[None]:
        allowed = yield from allows(
            self.state,
            self.state.snapshot,
            principal,
            method,
            rule_path(route.path),
            route.org or "",
            route.app or "",
            self.options.case_sensitive,
        )
        if allowed:
            return
        if not principal.is_authenticated:
            raise AuthenticationError("No application guest access authorized")
        raise ForbiddenError()


def _names_a_uuid(route: Route) -> bool:
    """Whether the multi-tenant prefix names its org or app by uuid (checked by length first:
    this runs on every request)."""
    org, app = route.org or "", route.app or ""
    return (len(org) == _UUID_LENGTH and is_uuid(org)) or (
        len(app) == _UUID_LENGTH and is_uuid(app)
    )


def _allow_reason(principal: Principal, route: Route) -> str:
    """Why an admitted request was allowed, as far as the decision knows without explaining
    it (``Realm.explain`` names the very rule)."""
    if route.org is None or route.app is None:
        return "management"
    return "all-access" if principal.kind in _ALL_ACCESS_KINDS else "rule"
