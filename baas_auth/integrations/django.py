"""Django helpers: ``AuthMiddleware`` for ``settings.MIDDLEWARE``, configured by
``settings.BAAS_AUTH``, and ``@require(…)`` for views. Importing this module imports Django;
``import baas_auth`` does not.

The middleware decides with the WSGI adapter itself (``baas_auth.wsgi.AuthMiddleware``), around
the rest of Django's middleware chain: one decision, one token endpoint, one set of refusals.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar, cast

from django.apps import apps  # type: ignore[import-untyped]
from django.conf import settings  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.urls import Resolver404, resolve  # type: ignore[import-untyped]

from baas_auth.core.http import Response
from baas_auth.core.paths import wsgi_route_path
from baas_auth.errors import AuthError, BadRequestError, ConfigError, ForbiddenError, StoreError
from baas_auth.integrations.requirements import Requirement, check, decides, mark_guard
from baas_auth.middleware.admission import Guard
from baas_auth.middleware.decisions import ROUTE_GUARD_KEY, MiddlewareOptions
from baas_auth.model import Principal
from baas_auth.realm import Realm
from baas_auth.wsgi import PRINCIPAL_KEY
from baas_auth.wsgi import AuthMiddleware as WSGIAuthMiddleware

__all__ = ["AuthMiddleware", "PrincipalUser", "require", "route_guard"]

View = TypeVar("View", bound=Callable[..., Any])
GetResponse = Callable[[HttpRequest], HttpResponse]

_OPTIONS = {name.upper(): name for name in MiddlewareOptions.__annotations__}
_REQUEST = "baas_auth.django.request"  # the request, handed through the WSGI adapter
_RESPONSE = "baas_auth.django.response"  # and Django's response, handed back
_GUARD = "baas_auth_guard"  # the request attribute ``require`` reads


class AuthMiddleware:
    """``"baas_auth.integrations.django.AuthMiddleware"`` in ``MIDDLEWARE``, first in the list.

    Configured by ``settings.BAAS_AUTH``: ``REALM`` (a URL for ``Realm.open``, or a ``Realm``)
    and the middleware options in upper case (``APPLICATION="acme/shop"``, ``STRICT``, …).
    Sets ``request.principal``; sets ``request.user`` (a ``PrincipalUser``) only when
    ``django.contrib.auth`` is not installed, whose ``request.user`` it leaves alone.

    A view guarded by ``@require`` is decided by its guard when no rule allows an
    authenticated caller (``route_guard``); ``"ROUTE_GUARD": None`` leaves every decision to
    the rules.
    """

    sync_capable = True
    async_capable = False  # the realm blocks; Django runs a sync middleware on a thread

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        realm, options = _configuration(getattr(settings, "BAAS_AUTH", None))
        if "route_guard" not in options:
            options["route_guard"] = route_guard
        try:
            self.wsgi = WSGIAuthMiddleware(self._call_django, realm, **options)
        except ConfigError as error:
            raise ImproperlyConfigured(f"BAAS_AUTH: {error}") from error
        self.guard = Guard(realm, self.wsgi.options)
        self.sets_user = not apps.is_installed("django.contrib.auth")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        environ = request.META  # the WSGI environ itself under a WSGI server
        environ.setdefault("wsgi.input", request)  # an ASGI request has none: read the request
        environ[_REQUEST] = request
        started = _StartResponse()
        try:
            body = self.wsgi(environ, started)
            response: HttpResponse | None = environ.pop(_RESPONSE, None)
        finally:
            environ.pop(_REQUEST, None)
        if response is None:  # refused, or answered by the middleware (the token endpoint)
            return started.django_response(body)
        started.copy_cache_control(response)
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """Refuse a request admitted only for its view's guard to decide (no rule allowed it)
        when the view Django is about to call carries none: ``route_guard``'s match and
        Django's own must agree (a middleware that sets ``request.urlconf`` could change it)."""
        if not request.META.get(ROUTE_GUARD_KEY) or decides(view):
            return None
        path = _route_path(request)
        started = self.guard.start()
        refusal = self.guard.refuse(
            ForbiddenError(), request.principal, request.method or "", path, started
        )
        return _django(refusal)

    def _call_django(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The 'inner WSGI app': the rest of Django's chain, for an admitted request."""
        request: HttpRequest = environ[_REQUEST]
        principal: Principal | None = environ[PRINCIPAL_KEY]
        request.principal = principal
        setattr(request, _GUARD, self.guard)
        if self.sets_user and principal is not None:
            request.user = PrincipalUser(principal)
        response = self.get_response(request)
        environ[_RESPONSE] = response
        # Through start_response so that the adapter can mark an answer to a query token private.
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return []


def route_guard(environ: Mapping[str, Any]) -> bool:
    """Whether the view Django's URL resolver gives the request's path was guarded by
    ``@require`` with a requirement that decides (``docs/frameworks.md``, "Guards and rules"):
    only ``django.urls.resolve``, no view called. No match (a 404, a path that needs its
    slash appended): False. A class-based view decorated with ``method_decorator(require(…),
    name="dispatch")`` carries the guard's mark through ``as_view``."""
    request = environ.get(_REQUEST)
    if isinstance(request, HttpRequest):
        path, urlconf = request.path_info, getattr(request, "urlconf", None)
    else:
        path, urlconf = wsgi_route_path(str(environ.get("PATH_INFO", ""))), None
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return False
    return decides(match.func)


def _configuration(config: object) -> tuple[Realm, MiddlewareOptions]:
    if not isinstance(config, Mapping) or "REALM" not in config:
        raise ImproperlyConfigured(
            'settings.BAAS_AUTH = {"REALM": "sqlite:///auth.db", "APPLICATION": "acme/shop"} '
            "is needed by baas_auth.integrations.django.AuthMiddleware"
        )
    unknown = sorted(set(config) - {"REALM", *_OPTIONS})
    if unknown:
        known = ", ".join(["REALM", *_OPTIONS])
        raise ImproperlyConfigured(f"BAAS_AUTH: unknown keys {unknown}; the keys are {known}")
    options = cast(MiddlewareOptions, {_OPTIONS[k]: v for k, v in config.items() if k != "REALM"})
    return _realm(config["REALM"]), options


def _realm(value: object) -> Realm:
    if isinstance(value, Realm):
        return value
    if isinstance(value, str):
        try:
            return Realm.open(value)
        except ConfigError as error:
            raise ImproperlyConfigured(f"BAAS_AUTH['REALM']: {error}") from error
    raise ImproperlyConfigured("BAAS_AUTH['REALM'] is a URL such as 'sqlite:///auth.db' or a Realm")


class _StartResponse:
    """Records what the WSGI adapter starts: its own answer, or Django's with its changes."""

    status = 500
    headers: list[tuple[str, str]]

    def __init__(self) -> None:
        self.headers = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = int(status.split(" ", 1)[0])
        self.headers = headers
        return None

    def django_response(self, body: Iterable[bytes]) -> HttpResponse:
        response = HttpResponse(b"".join(body), status=self.status)
        for name, value in self.headers:
            if name.lower() == "www-authenticate" and name in response:  # two challenges
                response[name] = f"{response[name]}, {value}"
            else:
                response[name] = value
        return response

    def copy_cache_control(self, response: HttpResponse) -> None:
        for name, value in self.headers:
            if name.lower() == "cache-control":
                response["Cache-Control"] = value


class PrincipalUser:
    """``request.user`` where ``django.contrib.auth`` is not installed: the principal in the
    shape Django code reads of a user. Not a database user; it has no Django permissions."""

    is_staff = False
    is_superuser = False

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return self.principal.is_authenticated

    @property
    def is_anonymous(self) -> bool:
        return not self.principal.is_authenticated

    @property
    def is_active(self) -> bool:
        return self.principal.is_authenticated

    @property
    def pk(self) -> str | None:
        return self.principal.uuid

    id = pk

    @property
    def username(self) -> str:
        return self.principal.username or ""

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perm_list: Iterable[str], obj: object = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __str__(self) -> str:
        return self.principal.display_name

    def __repr__(self) -> str:
        return f"<PrincipalUser {self.principal.kind} {self.principal.display_name!r}>"


def require(
    *, authenticated: bool = True, role: str | None = None, rule: str | None = None
) -> Callable[[View], View]:
    """Decorate a view so that it runs only for callers meeting the requirement; others get
    the middleware's 401 or 403 (see ``baas_auth.integrations.starlette.require``).

    Raises:
        ConfigError: a bad role name or rule text (at decoration time).
    """
    requirement = Requirement.build(authenticated=authenticated, role=role, rule=rule)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            answer = _refusal(request, requirement)
            return answer if answer is not None else view(request, *args, **kwargs)

        mark_guard(guarded, requirement)
        return cast(View, guarded)

    return decorate


def _refusal(request: HttpRequest, requirement: Requirement) -> HttpResponse | None:
    guard = getattr(request, _GUARD, None)
    if not isinstance(guard, Guard):
        raise RuntimeError(
            "baas_auth: require() needs baas_auth.integrations.django.AuthMiddleware in MIDDLEWARE"
        )
    principal: Principal | None = request.principal
    path = _route_path(request)
    started = guard.start()
    try:
        check(guard, requirement, principal, path)
    except (AuthError, StoreError) as error:  # a decision: reported after the middleware's
        method = request.method or ""
        return _django(guard.refuse(error, principal, method, path, started))
    return None


def _route_path(request: HttpRequest) -> str:
    try:
        return wsgi_route_path(request.META.get("PATH_INFO", ""))
    except BadRequestError:
        return "/"  # routes to no application: a requirement that needs one is refused


def _django(response: Response) -> HttpResponse:
    started = _StartResponse()
    started(f"{response.status} {HTTPStatus(response.status).phrase}", list(response.headers))
    return started.django_response([response.body])
