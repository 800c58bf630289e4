"""Flask helpers: ``init_app(app, realm, …)`` wraps ``app.wsgi_app``; ``current_principal`` is the
caller; ``@require(…)`` guards a view. Importing this module imports Flask; ``import baas_auth``
does not.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from flask import Response as FlaskResponse
from typing_extensions import Unpack
from werkzeug.exceptions import HTTPException
from werkzeug.local import LocalProxy
from werkzeug.routing import RequestRedirect

from baas_auth.core.http import Response
from baas_auth.core.paths import wsgi_route_path
from baas_auth.errors import AuthError, BadRequestError, ForbiddenError, StoreError
from baas_auth.integrations.requirements import (
    Requirement,
    check,
    decides,
    mark_guard,
    screen,
)
from baas_auth.middleware.admission import Guard, unguarded_refusal
from baas_auth.middleware.decisions import ROUTE_GUARD_KEY, MiddlewareOptions, RouteGuard
from baas_auth.model import Principal
from baas_auth.realm import Realm
from baas_auth.wsgi import PRINCIPAL_KEY, AuthMiddleware

__all__ = ["EXTENSION", "current_principal", "init_app", "require", "route_guard_of"]

EXTENSION = "baas_auth"
"""The key of ``app.extensions`` where ``init_app`` keeps the middleware's ``Guard``."""

View = TypeVar("View", bound=Callable[..., Any])

_REQUIRED: weakref.WeakKeyDictionary[Callable[..., Any], Requirement] = (
    weakref.WeakKeyDictionary()
)
"""Each view ``require`` decorated (the function itself, not its guarded wrapper), and what it
requires. A view written with ``@require`` *above* ``@app.route`` was registered unguarded;
``init_app``'s hook finds it here and applies the requirement all the same."""


def init_app(app: Flask, realm: Realm, **options: Unpack[MiddlewareOptions]) -> AuthMiddleware:
    """Wrap ``app.wsgi_app`` in baas_auth's middleware (the token and revoke endpoints come
    with it) and remember it for ``require``. Returns the middleware.

    A view guarded by ``@require`` (either order of the decorators) is decided by its guard
    when no rule allows an authenticated caller (``route_guard_of``); ``route_guard=None``
    leaves every decision to the rules."""
    if "route_guard" not in options:
        options["route_guard"] = route_guard_of(app)
    middleware = AuthMiddleware(app.wsgi_app, realm, **options)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.extensions[EXTENSION] = Guard(realm, middleware.options)
    app.before_request(_required_of_unguarded_view)
    return middleware


def route_guard_of(app: Flask) -> RouteGuard:
    """The ``route_guard`` of ``app``: whether the view Flask's URL map would dispatch a WSGI
    environ to was guarded by ``@require`` with a requirement that decides (``docs/
    frameworks.md``, "Guards and rules"). Only a match of the URL map (no request context, no
    view called); no match, a redirect, a 405, the static files or an unguarded view: False."""

    def guarded(environ: Mapping[str, Any]) -> bool:
        adapter = app.url_map.bind_to_environ(
            dict(environ), server_name=app.config.get("SERVER_NAME")
        )
        try:
            rule, _ = adapter.match(return_rule=True)
        except (HTTPException, RequestRedirect):  # 404, 405, or a redirect to add a slash
            return False
        automatic = getattr(rule, "provide_automatic_options", False)  # set by Flask
        if environ.get("REQUEST_METHOD") == "OPTIONS" and automatic:
            return False  # Flask answers it itself, without calling the view or its guard
        view = app.view_functions.get(str(rule.endpoint))
        return view is not None and _view_decides(view)

    return guarded


def _required_of_unguarded_view() -> FlaskResponse | None:
    """The refusal for a view registered before ``require`` wrapped it (the decorators in the
    other order), so that their order never leaves a route open; None for every other view.
    And the refusal of a request admitted only for its view's guard to decide (no rule allowed
    it) when the view Flask dispatches to carries none: ``route_guard``'s match and Flask's
    own must agree."""
    view = current_app.view_functions.get(request.endpoint or "")
    requirement = None if view is None else _REQUIRED.get(view)
    if request.environ.get(ROUTE_GUARD_KEY) and not _guarded(view):
        guard = _guard()
        if guard is None:  # init_app set this hook: never reached
            raise RuntimeError("baas_auth: the middleware of init_app is not found")
        path, started = _route_path(), guard.start()
        return _flask(guard.refuse(ForbiddenError(), _principal(), request.method, path, started))
    return None if requirement is None else _refusal(requirement)


def _guarded(view: Callable[..., Any] | None) -> bool:
    """Whether Flask calls ``view`` for this request with a deciding guard before it."""
    automatic = getattr(request.url_rule, "provide_automatic_options", False)
    if view is None or (request.method == "OPTIONS" and automatic):
        return False  # no view, or one Flask answers for itself (automatic OPTIONS)
    return _view_decides(view)


def _view_decides(view: Callable[..., Any]) -> bool:
    """Whether ``view`` is guarded by ``require`` with a requirement that decides: the
    guarded wrapper, or the bare view of ``@require`` above ``@app.route``."""
    required = _REQUIRED.get(view)
    return decides(view) or (required is not None and required.decides)


def _principal() -> Principal | None:
    if PRINCIPAL_KEY not in request.environ:
        raise RuntimeError(
            "baas_auth: no principal in the WSGI environ; wrap the app first: "
            "baas_auth.integrations.flask.init_app(app, realm, application='org/app')"
        )
    principal: Principal | None = request.environ[PRINCIPAL_KEY]
    return principal


current_principal = cast(Principal, LocalProxy(_principal))
"""The caller of the current request, as the middleware admitted it (the guest included)."""


def _guard() -> Guard | None:
    """The middleware's realm and options: from ``init_app``, or found as ``app.wsgi_app``."""
    found = current_app.extensions.get(EXTENSION)
    if isinstance(found, Guard):
        return found
    wrapped = current_app.wsgi_app
    if isinstance(wrapped, AuthMiddleware):
        return Guard(wrapped.realm, wrapped.options)
    return None  # wrapped further out (around the whole WSGI app): rules and roles unknown


def _refusal(requirement: Requirement) -> FlaskResponse | None:
    """None when the caller of the current request meets ``requirement``; else the refusal,
    rendered as the middleware renders its own (401, 403, or 503 when the store fails)."""
    principal = _principal()
    guard = _guard()
    if guard is None:
        if requirement.needs_realm:
            raise RuntimeError("baas_auth: require(role=/rule=) needs init_app(app, realm, …)")
        try:
            screen(requirement, principal)
        except AuthError as error:
            return _flask(unguarded_refusal(error))
        return None
    path = _route_path()
    started = guard.start()
    try:
        check(guard, requirement, principal, path)
    except (AuthError, StoreError) as error:  # a decision: reported after the middleware's
        return _flask(guard.refuse(error, principal, request.method, path, started))
    return None


def _route_path() -> str:
    try:
        return wsgi_route_path(request.environ.get("PATH_INFO", ""))
    except BadRequestError:
        return "/"  # routes to no application: a requirement that needs one is refused


def _flask(response: Response) -> FlaskResponse:
    return FlaskResponse(response.body, status=response.status, headers=list(response.headers))


def require(
    *, authenticated: bool = True, role: str | None = None, rule: str | None = None
) -> Callable[[View], View]:
    """Decorate a view (sync or async) so that it runs only for callers meeting the
    requirement; others get the middleware's 401 or 403. Below ``@app.route`` or above it:
    with ``init_app``, either order guards the route.

    Args:
        authenticated: refuse the guest; with False a guest is judged by ``rule``.
        role: an app role the caller must hold (its own, through a group, or ``default``).
        rule: ``verbs:paths`` the realm must permit the caller, e.g. ``"put:/books"``.

    Raises:
        ConfigError: a bad role name or rule text (at decoration time).
    """
    requirement = Requirement.build(authenticated=authenticated, role=role, rule=rule)

    def decorate(view: View) -> View:
        _REQUIRED[view] = requirement
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                answer = _refusal(requirement)
                return answer if answer is not None else await view(*args, **kwargs)

            mark_guard(guarded_async, requirement)
            return cast(View, guarded_async)

        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            answer = _refusal(requirement)
            return answer if answer is not None else view(*args, **kwargs)

        mark_guard(guarded, requirement)
        return cast(View, guarded)

    return decorate
