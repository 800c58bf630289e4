"""Starlette helpers: ``require(…)`` for endpoints, ``protect(app, realm, …)``, and the check that
the FastAPI helpers share. Importing this module imports Starlette; ``import baas_auth`` does not.

``request.user`` (the ``Principal``) and ``request.auth`` (``.scopes``) need no helper: the ASGI
middleware sets ``scope["user"]`` and ``scope["auth"]``, so Starlette's ``@requires`` works as is.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Match
from starlette.websockets import WebSocket
from typing_extensions import Unpack

from baas_auth.asgi import PRINCIPAL_KEY, AuthMiddleware
from baas_auth.core.http import Response
from baas_auth.core.paths import strip_root_path
from baas_auth.errors import AuthError, BadRequestError, StoreError
from baas_auth.integrations.requirements import (
    Requirement,
    check,
    check_async,
    decides,
    mark_guard,
    refused,
)
from baas_auth.middleware.admission import AuthCredentials, Guard, unguarded_refusal
from baas_auth.middleware.decisions import GateOptions, MiddlewareOptions, RouteGuard
from baas_auth.middleware.wiring import check_application
from baas_auth.model import Principal
from baas_auth.realm import AsyncRealm, Realm
from baas_auth.realm.drivers import AS_IS

__all__ = [
    "Refused",
    "enforce",
    "principal_of",
    "protect",
    "refusal_handler",
    "require",
    "route_guard_of",
    "to_starlette",
]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_POLICY_VIOLATION = 1008  # the websocket close code the middleware refuses with


def principal_of(conn: HTTPConnection) -> Principal | None:
    """The principal the middleware admitted (None only for a passed-through CORS preflight).

    Raises:
        RuntimeError: no baas_auth middleware is in front of this app: nothing was checked.
    """
    if PRINCIPAL_KEY not in conn.scope:
        raise RuntimeError(
            "baas_auth: no principal in the scope; add the middleware first: "
            "app.add_middleware(baas_auth.asgi.AuthMiddleware, realm, application='org/app') "
            "or baas_auth.integrations.starlette.protect(app, realm, …)"
        )
    principal: Principal | None = conn.scope[PRINCIPAL_KEY]
    return principal


def _guard_of(conn: HTTPConnection) -> Guard:
    credentials = conn.scope.get("auth")
    if not isinstance(credentials, AuthCredentials):
        # Another middleware (Starlette's AuthenticationMiddleware, say) replaced scope["auth"]
        # after baas_auth's: the realm that admitted the request is out of reach.
        raise RuntimeError("baas_auth: scope['auth'] is not baas_auth's; was it replaced?")
    return credentials.guard


def _route_path(conn: HTTPConnection) -> str:
    """The path the middleware routed: before any ``Mount`` added to ``root_path``."""
    scope = conn.scope
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    try:
        return strip_root_path(scope.get("path", ""), root_path)
    except BadRequestError:
        return "/"  # routes to no application: a requirement that needs one is refused


async def enforce(conn: HTTPConnection, requirement: Requirement) -> Response | None:
    """None when the caller meets ``requirement``; else the refusal, rendered as the
    middleware renders its own (401 or 403, or 503 when the store fails)."""
    principal = principal_of(conn)
    if principal is None:
        return unguarded_refusal(refused(None))
    guard = _guard_of(conn)
    path = _route_path(conn)
    started = guard.start()
    try:
        await _check(guard, requirement, principal, path)
    except (AuthError, StoreError) as error:  # a decision: reported after the middleware's
        method = conn.scope.get("method", "GET")  # a websocket's handshake is a GET
        return guard.refuse(error, principal, method, path, started)
    return None


async def _check(guard: Guard, requirement: Requirement, principal: Principal, path: str) -> None:
    """Run the check where it does not block the event loop: awaited with an AsyncRealm, on a
    worker thread for a Realm whose store blocks (SQLite), inline for the memory store."""
    if isinstance(guard.realm, AsyncRealm):
        await check_async(guard, requirement, principal, path)
    elif requirement.needs_realm and getattr(guard.realm.store, "blocking", True):
        await run_in_threadpool(check, guard, requirement, principal, path)
    else:
        check(guard, requirement, principal, path)


def to_starlette(response: Response) -> StarletteResponse:
    """A refusal as a Starlette response, headers as the middleware sends them (a 401 may
    carry two ``WWW-Authenticate`` challenges, which a header mapping cannot hold)."""
    answer = StarletteResponse(response.body, status_code=response.status)
    answer.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    return answer


class Refused(HTTPException):
    """A refusal raised from a FastAPI dependency. ``refusal_handler`` (installed by
    ``protect``) sends ``response``, the middleware's JSON; without it, the framework's own
    HTTPException handler still answers with the right status and challenge."""

    def __init__(self, response: Response) -> None:
        challenges = [v for k, v in response.headers if k == "www-authenticate"]
        headers = {"www-authenticate": ", ".join(challenges)} if challenges else None
        super().__init__(response.status, _description(response), headers)
        self.response = response


def _description(response: Response) -> str:
    body = json.loads(response.body)
    return str(body.get("error_description", "")) if isinstance(body, dict) else ""


async def refusal_handler(request: Request, exc: Exception) -> StarletteResponse:
    """The exception handler ``protect`` installs for ``Refused``."""
    if not isinstance(exc, Refused):  # registered for Refused only; be safe anyway
        raise exc
    return to_starlette(exc.response)


def protect(
    app: Starlette, realm: Realm | AsyncRealm, **options: Unpack[MiddlewareOptions]
) -> None:
    """Put baas_auth's middleware in front of a Starlette or FastAPI ``app`` and install the
    handler that renders ``require`` refusals as the middleware renders its own.

    The same as ``app.add_middleware(baas_auth.asgi.AuthMiddleware, realm, **options)`` plus
    ``app.add_exception_handler(Refused, refusal_handler)``, except that a wrong
    ``application=`` is told at once (Starlette builds its middleware only at the app's first
    call): with a ``Realm``, a ``ConfigError`` here; with an ``AsyncRealm`` (read only on the
    event loop), the same ``ConfigError`` when the app starts, which fails its startup (the
    lifespan). A store that is down then leaves the check to the first request, as the
    middleware does.

    A route whose endpoint (or, in FastAPI, a dependency) is a ``require(…)`` guard is decided
    by that guard when no rule allows an authenticated caller (``route_guard_of``);
    ``route_guard=None`` leaves every decision to the rules.
    """
    install(app, realm, options)


def install(
    app: Starlette,
    realm: Realm | AsyncRealm,
    options: MiddlewareOptions,
    middleware: Any = AuthMiddleware,
    **arguments: Any,
) -> None:
    """``protect``, with the middleware class to add (``AuthMiddleware``, or one that hands
    it the requests it does not answer itself) and its own keyword ``arguments``."""
    if "route_guard" not in options:
        options["route_guard"] = route_guard_of(app)
    checked = GateOptions.build(**options)  # a bad option is a ConfigError here, too
    if isinstance(realm, Realm):
        with contextlib.suppress(StoreError):
            realm.serve(AS_IS, check_application(checked))
    elif checked.application is not None:
        _check_at_startup(app, realm, checked)
    keywords: dict[str, Any] = {**arguments, **options}
    app.add_middleware(middleware, realm, **keywords)
    app.add_exception_handler(Refused, refusal_handler)


def route_guard_of(app: Starlette) -> RouteGuard:
    """The ``route_guard`` of ``app``: whether the route Starlette's router would choose for a
    scope carries a ``require`` guard that decides (``docs/frameworks.md``, "Guards and
    rules"). Only ``route.matches``, which has no side effects; the routes are read at each
    call, so routes added after ``protect`` count. A ``Mount`` (a sub-app, static files), a
    ``Host``, a route matched only by path (405) or no route at all: False."""

    def guarded(scope: Mapping[str, Any]) -> bool:
        # Matching may note things in the scope (FastAPI does, and restores them): a copy, one
        # level deep, so the request's own scope is never touched.
        copy = {key: dict(value) if isinstance(value, dict) else value
                for key, value in scope.items()}
        return _guarded_route(app.router.routes, copy)

    return guarded


def _guarded_route(routes: Iterable[BaseRoute], scope: dict[str, Any]) -> bool:
    for route in routes:  # the router's order: the first full match answers
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return _guards(route, scope)
    return False


def _guards(route: BaseRoute, scope: dict[str, Any]) -> bool:
    """Whether ``route`` (chosen for ``scope``) runs a deciding guard before its code: a
    FastAPI dependency made by ``require``, or an endpoint (an ``HTTPEndpoint`` method) that
    ``@require`` decorated. Anything else, such as a ``Mount``, is no guarded route."""
    dependant = getattr(route, "dependant", None)  # FastAPI's routes
    if dependant is not None:
        return _guarded_dependencies(dependant)
    if hasattr(route, "effective_candidates"):  # FastAPI's include_router()
        return _guarded_inclusion(route, scope)
    endpoint = getattr(route, "endpoint", None)
    if inspect.isclass(endpoint):  # an HTTPEndpoint: the method's handler decides
        method = str(scope.get("method", "")).lower()
        if method == "head" and not hasattr(endpoint, "head"):
            method = "get"
        return scope.get("type") == "http" and decides(getattr(endpoint, method, None))
    return decides(endpoint)


def _guarded_inclusion(included: Any, scope: dict[str, Any]) -> bool:
    """A router FastAPI included (``include_router``): the route it would choose, with the
    dependencies the inclusion adds. FastAPI's own matching, read through its internal
    ``_match``; if that ever changes shape, the error (or no guard found) leaves the request
    refused, as ``route_guard`` fails closed."""
    match, _, route, context = included._match(scope)
    if match is not Match.FULL or route is None:
        return False
    dependant = getattr(context, "dependant", None)
    if dependant is not None:
        return _guarded_dependencies(dependant)
    return _guards(route, scope)


def _guarded_dependencies(dependant: Any) -> bool:
    """Whether a FastAPI route's dependency tree holds a ``require`` dependency."""
    pending = [dependant]
    while pending:  # a finite tree: FastAPI resolved it when the route was declared
        current = pending.pop()
        if decides(getattr(current, "call", None)):
            return True
        pending.extend(getattr(current, "dependencies", ()))
    return False


def _check_at_startup(app: Starlette, realm: AsyncRealm, options: GateOptions) -> None:
    """Run the application check when ``app`` starts, before its own lifespan."""
    own_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        with contextlib.suppress(StoreError):
            await realm.serve(AS_IS, check_application(options))
        async with own_lifespan(started) as state:
            yield state

    app.router.lifespan_context = lifespan


def require(
    *, authenticated: bool = True, role: str | None = None, rule: str | None = None
) -> Callable[[Endpoint], Endpoint]:
    """Decorate a Starlette endpoint (function or ``HTTPEndpoint`` method; http or websocket)
    so that it runs only for callers meeting the requirement; others get the middleware's 401
    or 403 (a websocket is closed with 1008 before it is accepted).

    Args:
        authenticated: refuse the guest; with False a guest is judged by ``rule``.
        role: an app role the caller must hold (its own, through a group, or ``default``).
        rule: ``verbs:paths`` the realm must permit the caller, e.g. ``"put:/books"``.

    Raises:
        ConfigError: a bad role name or rule text (at decoration time).
    """
    requirement = Requirement.build(authenticated=authenticated, role=role, rule=rule)

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            conn = _connection(args, kwargs)
            refusal = await enforce(conn, requirement)
            if refusal is not None:
                if isinstance(conn, WebSocket):
                    await conn.close(code=_POLICY_VIOLATION)
                    return None
                return to_starlette(refusal)
            return await _call(endpoint, *args, **kwargs)

        mark_guard(guarded, requirement)
        return cast(Endpoint, guarded)

    return decorate


def _connection(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPConnection:
    for value in (*args, *kwargs.values()):
        if isinstance(value, HTTPConnection):
            return value
    raise TypeError("baas_auth require(): the endpoint takes no Request or WebSocket")


async def _call(endpoint: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Starlette runs a sync endpoint on a thread; the wrapper (async) must do the same."""
    if inspect.iscoroutinefunction(endpoint):
        return await cast(Callable[..., Awaitable[Any]], endpoint)(*args, **kwargs)
    return await run_in_threadpool(endpoint, *args, **kwargs)

