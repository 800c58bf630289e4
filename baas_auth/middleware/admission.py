"""What the framework helpers need of the middleware that admitted a request; no framework here.

Made by the ASGI adapter (``scope["auth"]``), so it lives with the middleware, not with the
optional framework integrations.

``Guard`` is that middleware's realm and options: which application a request addressed, and how
a refusal looks (the middleware's own JSON and challenge). ``AuthCredentials`` is what the ASGI
adapter puts in ``scope["auth"]``: Starlette's shape (``scopes``), carrying the ``Guard`` so that
``require(role=…)`` needs no second configuration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import get_args

from baas_auth.core.http import Response
from baas_auth.core.routing import route_multi_tenant
from baas_auth.errors import AuthenticationError, AuthError, StoreError
from baas_auth.middleware.decisions import GateOptions
from baas_auth.middleware.refusals import render
from baas_auth.model import Principal, PrincipalKind
from baas_auth.realm import AsyncRealm, Realm

__all__ = [
    "AUTHENTICATED",
    "AuthCredentials",
    "Guard",
    "credentials_by_kind",
    "scopes_of",
    "unguarded_refusal",
]

AUTHENTICATED = "authenticated"
"""The scope of every principal but the guest (Starlette's ``@requires("authenticated")``)."""


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
