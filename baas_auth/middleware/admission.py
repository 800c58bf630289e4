"""What the framework helpers need of the middleware that admitted a request; no framework here.

Made by the ASGI adapter (``scope["auth"]``), so it lives with the middleware, not with the
optional framework integrations.

``Guard`` is that middleware's realm and options: which application a request addressed, and how
a refusal looks (the middleware's own JSON and challenge). ``AuthCredentials`` is what the ASGI
adapter puts in ``scope["auth"]``: Starlette's shape (``scopes``), carrying the ``Guard`` so that
``require(role=…)`` needs no second configuration.

A refusal by a route's requirement is a decision too (behaviour §10): ``Guard.refuse`` renders it
and reports it to the middleware's ``on_decision`` hook and the ``baas_auth`` logger, after the
middleware's ``allow`` of the same request, with the reason ``route_requirement``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import get_args

from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.routing import Route, route_multi_tenant
from baas_auth.errors import AuthenticationError, AuthError, StoreError
from baas_auth.middleware.decisions import GateOptions
from baas_auth.middleware.events import DecisionEvents
from baas_auth.middleware.refusals import render
from baas_auth.model import Principal, PrincipalKind
from baas_auth.realm import AsyncRealm, Realm

__all__ = [
    "AUTHENTICATED",
    "ROUTE_REQUIREMENT",
    "AuthCredentials",
    "Guard",
    "credentials_by_kind",
    "scopes_of",
    "unguarded_refusal",
]

AUTHENTICATED = "authenticated"
"""The scope of every principal but the guest (Starlette's ``@requires("authenticated")``)."""
ROUTE_REQUIREMENT = "route_requirement"
"""The reason of a refusal made by a route's requirement (``require(...)``) after the middleware
allowed the request; a store failure there keeps its own code (``service_unavailable``)."""


@dataclass(frozen=True, slots=True)
class Guard:
    """The realm and options of the middleware that admitted a request."""

    realm: Realm | AsyncRealm = field(repr=False)
    options: GateOptions

    def application(self, principal: Principal, route_path: str) -> tuple[str, str] | None:
        """The ``(org, app)`` whose roles and rules judge ``principal`` on ``route_path``.

        Single-app mode: the middleware's application. Multi-tenant mode: the principal's own
        app (an app user, app client or guest belongs to exactly the one it was admitted to),
        else the ``/{org}/{app}/…`` prefix of the path; None under ``/management``.
        """
        if self.options.application is not None:
            return self.options.application
        if principal.org is not None and principal.app is not None:
            return principal.org, principal.app
        try:
            route = route_multi_tenant(route_path, endpoints=False)
        except AuthenticationError:  # the middleware admits no such path; be safe anyway
            return None
        if route.org is None or route.app is None:
            return None
        return route.org, route.app

    def refusal(self, error: AuthError | StoreError, target: tuple[str, str] | None) -> Response:
        """``error`` rendered as the middleware renders its own refusals (``refusals.render``);
        ``target`` None: under ``/management``."""
        return render(error, self.options, target, now_ms=self.realm.state.now_ms())

    def start(self) -> int | None:
        """When a route's check began, for its event; None while nobody would hear of it."""
        return DecisionEvents(self.options.on_decision).start()

    def refuse(
        self,
        error: AuthError | StoreError,
        principal: Principal | None,
        method: str,
        route_path: str,
        started: int | None,
    ) -> Response:
        """``error``, raised by a route's requirement for ``principal`` on ``method
        route_path``, rendered (``refusal``) and reported as the decision that follows the
        middleware's allow: ``refuse``, the status answered, ``route_requirement``. ``started``
        is ``start()``'s value, taken before the check."""
        target = None if principal is None else self.application(principal, route_path)
        response = self.refusal(error, target)
        # A store failure is logged even when nothing else is: an operator must hear of it.
        if started is not None or isinstance(error, StoreError):
            reason = error.error if isinstance(error, StoreError) else ROUTE_REQUIREMENT
            org, app = (None, None) if target is None else target
            DecisionEvents(self.options.on_decision).emit(
                started,
                RequestInfo(method, route_path),
                Route(org, app, route_path),
                principal,
                "refuse",
                response.status,
                reason,
                error,
            )
        return response


def unguarded_refusal(error: AuthError) -> Response:
    """A refusal where no middleware's options are known (no principal came, or the middleware
    wraps the app from further out): the default challenge realm, the wall clock."""
    return render(error, None, None, now_ms=int(time.time() * 1000))


def scopes_of(kind: PrincipalKind) -> tuple[str, ...]:
    """A principal's scopes: ``authenticated`` unless it is the guest, and ``kind:<kind>``.

    Roles are not scopes: knowing them costs a store read, which ``require(role=…)`` makes
    only where a route asks for one."""
    kind_scope = f"kind:{kind}"
    return (kind_scope,) if kind == "guest" else (AUTHENTICATED, kind_scope)


@dataclass(frozen=True, slots=True)
class AuthCredentials:
    """``scope["auth"]``: Starlette's ``AuthCredentials`` shape (``request.auth.scopes``, read by
    ``@requires``), made without importing Starlette; ``guard`` serves baas_auth's helpers."""

    scopes: tuple[str, ...]
    guard: Guard = field(repr=False)


def credentials_by_kind(guard: Guard) -> Mapping[str, AuthCredentials]:
    """One immutable ``AuthCredentials`` per principal kind, made once per middleware: a
    request only looks its own up."""
    kinds: tuple[PrincipalKind, ...] = get_args(PrincipalKind)
    return {kind: AuthCredentials(scopes_of(kind), guard) for kind in kinds}
