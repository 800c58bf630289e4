"""The decision for one request, shared by both adapters: refuse, answer, or admit with a principal.

The steps (DESIGN): read the request (``reading``: method and path checks, routing, exactly one
credential), authenticate (``authentication``), authorize (``authorization``). The decision is
a flow, written once; the realm's driver runs it (``Realm.serve``: the blocking driver under
WSGI, the event loop's under ASGI), after giving the decision remembered under the store's
change stamp (``recall``) where there is one. Every refusal is rendered by ``refusals``; a
``StoreError`` anywhere becomes 503: nothing falls through to "allow". Each request's decision
is reported once, here, to ``events``, so both adapters report alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any, cast

from baas_auth.api.dispatch import ManagementApi
from baas_auth.core.credentials import BearerToken
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.routing import Route
from baas_auth.errors import (
    AuthError,
    NotFoundError,
    ResourceNotFoundError,
    StoreError,
)
from baas_auth.middleware.authentication import Authentication
from baas_auth.middleware.authorization import NoRuleAllows, allow_reason, authorize
from baas_auth.middleware.decisions import (
    Admit,
    Decision,
    EndpointCall,
    GateOptions,
    GuardCall,
)
from baas_auth.middleware.endpoints import Endpoints
from baas_auth.middleware.events import DecisionEvents
from baas_auth.middleware.freshness import Admitted, Freshness, Parsed
from baas_auth.middleware.reading import RequestReader, names_a_uuid
from baas_auth.middleware.refusals import render_for_route
from baas_auth.middleware.wiring import check_application
from baas_auth.model import Principal
from baas_auth.realm import flows
from baas_auth.realm.addressing import resolve_prefix
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.views import fresh_view

__all__ = ["ROUTE_GUARD", "Gate"]

_GONE = ResourceNotFoundError("The resource no longer exists")
_LOGGER = logging.getLogger("baas_auth")
ROUTE_GUARD = "route-guard"
"""The reason of an allow that no rule made: a guard on the framework's route decides."""
Recall = tuple[int, Hashable]  # the stamp a decision is made under, the key it is kept by


class Gate:
    """Decides what happens to one request; holds no per-request state. As the realm's
    drivers see it (``realm.drivers.Served``): ``recall``, ``flow``, ``refuse``."""

    remembers = True

    def __init__(
        self,
        state: RealmState,
        options: GateOptions,
        *,
        remember_tokens: bool = True,
        read_request: Callable[[Any], RequestInfo] | None = None,
    ) -> None:
        """``read_request``: the request of an adapter's key, where the key is not the request
        itself (WSGI keys by the raw environ values it reads, which determine the request)."""
        self.state = state
        self._read_request = read_request
        self.options = options
        self.freshness = Freshness()
        self.events = DecisionEvents(options.on_decision)
        self.authentication = Authentication(state, self.freshness, remember_tokens=remember_tokens)
        remembered = self.freshness if remember_tokens else None
        self.endpoints = Endpoints(state, options, self.authentication.principal, remembered)
        self.api = ManagementApi(state, options, self.authentication.principal)
        self.reader = RequestReader(options, self.freshness, self.api)
        self._application_checked = options.application is None

    def check_application(self) -> Flow[None]:
        """Check once that a single-app middleware's application exists (ConfigError if not).
        Adapters run it at construction where they can; a store that is down then (or an
        AsyncRealm, which cannot be read before the loop runs) leaves it to the first request."""
        if not self._application_checked:
            yield from check_application(self.options)
            self._application_checked = True

    # -- as the realm's drivers see it -----------------------------------------------------

    def recall(self, key: Hashable, stamp: int) -> Admit | Response | None:
        """The decision on the request ``key`` made before, if it still holds: made under the
        same stamp (and its token has not expired since). The steady state of a client
        repeating a call, with no store round trip and no flow; None: decide. Only decisions
        that rest on nothing else are remembered (``_admit``)."""
        entry = self.freshness.admitted.get(key)  # inline: the hot path
        if entry is None or entry.stamp != stamp:
            return self._recall_refusal(key, stamp)
        expires = entry.expires_at_ms
        if expires is not None and self.state.now_ms() >= expires:
            return None
        started = self.events.start()
        if started is not None:
            principal = entry.admit.principal
            reason = "rule" if principal is None else allow_reason(principal, entry.route)
            self.events.emit(started, entry.request, entry.route, principal, "allow", None, reason)
        return entry.admit

    def _recall_refusal(self, key: Hashable, stamp: int) -> Response | None:
        refused = self.freshness.refusal(key, stamp, self.state.now_ms())
        if refused is None:
            return None
        started = self.events.start()
        return self._refuse(
            refused.error, started, refused.request, refused.route, refused.principal
        )

    def flow(self, key: Hashable, stamp: int | None) -> Flow[Decision]:
        """The decision on the request ``key``, made under ``stamp``."""
        return self.decide(key, stamp=stamp)

    def refuse(self, error: StoreError) -> Response:
        """The refusal of a request whose freshness check failed (the store is down)."""
        return self.refusal(error, None)

    # -- the decision ----------------------------------------------------------------------

    def decide(
        self, key: Hashable, *, websocket: bool = False, stamp: int | None = None
    ) -> Flow[Decision]:
        """Refuse, answer or admit the request ``key`` (the ``RequestInfo``, or what the
        adapter's ``read_request`` reads it from); never raises for a bad request or a failed
        store. Reports the decision to ``events``, except an endpoint's, which ``answer``
        reports. ``stamp``, the store's freshness check read before this decision began (None:
        the store offers none), lets ``recall`` answer the same request again, by ``key``."""
        started = self.events.start()
        request: RequestInfo | None = None
        route: Route | None = None
        recall: Recall | None = None
        try:
            read = self._read_request
            request = cast(RequestInfo, key) if read is None else read(key)
            if self.state.keys is None or not self._application_checked:
                yield from self._ready()
            parsed = self.freshness.parsed.get(request)
            if parsed is None:  # an endpoint's request with client credentials, kept masked
                parsed = self.freshness.parsed_masked(request)
            seen_before = parsed is not None
            if parsed is None:
                route = self.reader.route(request)
                parsed = self.reader.parse(request, route)
            route = parsed.route
            if self.options.application is None and names_a_uuid(route):
                route = yield from self._named(route)
            if parsed.preflight or route.endpoint is not None:
                return self._passed_on(route, parsed, request, websocket, started, stamp)
            # Remembered from its second sight on: a request made once (a new path each time)
            # then costs no entry, and cannot crowd out the ones a client repeats.
            recall = (stamp, key) if stamp is not None and seen_before else None
            return (yield from self._admit(parsed, request, started, recall, stamp))
        except (AuthError, StoreError) as error:
            if request is not None:  # else: the adapter's key could not be read
                self.freshness.refused_under(recall, error, request, route)
            return self._refuse(error, started, request, route)
        except NotFoundError:  # a user or app deleted while the request was being answered
            return self._refuse(_GONE, started, request, route)

    def _named(self, route: Route) -> Flow[Route]:
        """The route with an org or app given by uuid in the prefix named by its name."""
        org, app = route.org or "", route.app or ""
        named = yield from resolve_prefix((yield from fresh_view(self.state)), org, app)
        return route._replace(org=named[0], app=named[1])

    def _ready(self) -> Flow[None]:
        """Start an AsyncRealm (at its first request), and check the application once."""
        if self.state.keys is None:
            yield from flows.start(self.state)
        yield from self.check_application()

    def _passed_on(
        self,
        route: Route,
        parsed: Parsed,
        request: RequestInfo,
        websocket: bool,
        started: int | None,
        stamp: int | None = None,
    ) -> Decision:
        """A CORS preflight (admitted unauthenticated), or a request for an endpoint."""
        if parsed.preflight:
            if started is not None:
                self.events.emit(started, request, route, None, "allow", None, "cors-preflight")
            return Admit(None, parsed.query_string)
        if route.endpoint == "api":
            call = self.api.start(route, request, parsed.api, websocket=websocket)
        else:
            call = self.endpoints.start(route, request, websocket=websocket)
            if stamp is not None and isinstance(call, EndpointCall):
                call = call._replace(stamp=stamp)
        if started is None:
            return call
        if isinstance(call, Response):  # a method the endpoint does not take
            reason = "method_not_allowed"
            self.events.emit(started, request, route, None, "refuse", call.status, reason)
            return call
        return call._replace(started_ns=started)

    def _admit(
        self,
        parsed: Parsed,
        request: RequestInfo,
        started: int | None,
        recall: Recall | None,
        stamp: int | None,
    ) -> Flow[Admit | Response | GuardCall]:
        route, credential = parsed.route, parsed.credential
        found = yield from self.authentication.authenticate(credential, route, stamp)
        principal = found.principal
        query_token = isinstance(credential, BearerToken) and credential.source == "query"
        recallable = recall is not None and self.authentication.recallable(
            credential, principal, route
        )
        try:
            yield from authorize(
                self.state, principal, request.method, route, self.options.case_sensitive
            )
        except (AuthError, StoreError) as error:  # here, the event can say who was refused
            if isinstance(error, NoRuleAllows) and self.options.route_guard is not None:
                # Neither remembered nor reported yet: the route's guard may take it (settle).
                admit = Admit(principal, parsed.query_string, query_token, guarded=True)
                return GuardCall(admit, error, request, route, started)
            # A refusal of a valid token: it ends with the token (then 401 expired_token).
            where = recall if recallable else None
            self.freshness.refused_under(
                where, error, request, route, principal, found.expires_at_ms
            )
            return self._refuse(error, started, request, route, principal)
        if started is not None:
            reason = allow_reason(principal, route)
            self.events.emit(started, request, route, principal, "allow", None, reason)
        admit = Admit(principal, parsed.query_string, query_token)
        if recall is not None and recallable:
            admitted = Admitted(recall[0], found.expires_at_ms, admit, request, route)
            self.freshness.remember_admission(recall[1], admitted)
        return admit

    def settle(self, call: GuardCall, where: Mapping[str, Any]) -> Admit | Response:
        """Admit a ``GuardCall`` when the framework's route for ``where`` (the request's WSGI
        environ or ASGI scope) carries a guard, which then decides (reason ``route-guard``);
        else refuse it as the rules did. Reported here, once."""
        if not self._claimed(where):
            principal = call.admit.principal
            return self._refuse(call.error, call.started_ns, call.request, call.route, principal)
        if call.started_ns is not None:
            self.events.emit(
                call.started_ns, call.request, call.route, call.admit.principal, "allow", None,
                ROUTE_GUARD,
            )
        return call.admit

    def _claimed(self, where: Mapping[str, Any]) -> bool:
        """What ``route_guard`` says; an error in it (a router that cannot match this request)
        is logged and leaves the request refused: it never opens a route."""
        route_guard = self.options.route_guard
        if route_guard is None:
            return False
        try:
            return route_guard(where) is True
        except Exception:  # any failure of the framework's router: refuse
            _LOGGER.warning("baas_auth: route_guard failed; the request stays refused",
                            exc_info=True)
            return False

    def answer(self, pending: EndpointCall, body: bytes) -> Flow[Response]:
        """The response of an endpoint, given the request body the adapter read (``b""`` when
        it has none). A password grant offloads the KDF to where the driver puts slow work."""
        started, request, route = pending.started_ns, pending.request, pending.route
        try:
            if route.endpoint == "api":
                response = yield from self.api.finish(pending, body)
            else:
                response = yield from self.endpoints.finish(route, request, body, pending.stamp)
        except (AuthError, StoreError) as error:
            return self._refuse(error, started, request, route)
        except NotFoundError:  # a user or app deleted while the request was being answered
            return self._refuse(_GONE, started, request, route)
        if started is not None:
            reason = route.endpoint or ""
            self.events.emit(started, request, route, None, "answer", response.status, reason)
        return response

    # -- refusals --------------------------------------------------------------------------

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
        response = render_for_route(error, self.options, route, now_ms=self.state.now_ms())
        # A store failure is logged even when nothing else is: an operator must hear of it.
        if started is not None or isinstance(error, StoreError):
            reason = error.error
            self.events.emit(
                started, request, route, principal, "refuse", response.status, reason, error
            )
        return response
