"""Django helpers: ``AuthMiddleware`` for ``settings.MIDDLEWARE``, configured by
``settings.BAAS_AUTH``, ``request.user`` for a signed-in caller (``PrincipalUser``), and
``@require(…)`` for views. Importing this module imports Django; ``import baas_auth`` does not.

The middleware decides with the WSGI adapter itself (``baas_auth.wsgi.AuthMiddleware``), around
the rest of Django's middleware chain: one decision, one token endpoint, one set of refusals.
A check made later by a view's permission classes (Django REST framework) notes its refusal on
the request (``note_refusal``); the middleware reports it once the answer is known.
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

from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.paths import wsgi_route_path
from baas_auth.core.routing import Route
from baas_auth.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    ForbiddenError,
    NotFoundError,
    StoreError,
)
from baas_auth.integrations.requirements import Requirement, check, decides, mark_guard
from baas_auth.middleware.admission import ROUTE_REQUIREMENT, Guard
from baas_auth.middleware.decisions import ROUTE_GUARD_KEY, MiddlewareOptions
from baas_auth.middleware.events import DecisionEvents
from baas_auth.model import Principal
from baas_auth.realm import Realm
from baas_auth.wsgi import PRINCIPAL_KEY
from baas_auth.wsgi import AuthMiddleware as WSGIAuthMiddleware

__all__ = [
    "AuthMiddleware",
    "PrincipalUser",
    "guard_of",
    "note_refusal",
    "require",
    "route_guard",
    "route_path",
]

View = TypeVar("View", bound=Callable[..., Any])
GetResponse = Callable[[HttpRequest], HttpResponse]

_OPTIONS = {name.upper(): name for name in MiddlewareOptions.__annotations__}
_REQUEST = "baas_auth.django.request"  # the request, handed through the WSGI adapter
_RESPONSE = "baas_auth.django.response"  # and Django's response, handed back
_GUARD = "baas_auth_guard"  # the request attribute ``require`` reads
_USER = "baas_auth_user"  # the PrincipalUser made for the request, if any
_NOTED = "baas_auth_noted_refusal"  # a permission class's refusal, reported if the answer refuses
_REFUSING_STATUSES = frozenset({401, 403})


class AuthMiddleware:
    """``"baas_auth.integrations.django.AuthMiddleware"`` in ``MIDDLEWARE``, first in the list.

    Configured by ``settings.BAAS_AUTH``: ``REALM`` (a URL for ``Realm.open``, or a ``Realm``)
    and the middleware options in upper case (``APPLICATION="acme/shop"``, ``STRICT``, …).
    Sets ``request.principal``, and ``request.user`` to a ``PrincipalUser``: always where
    ``django.contrib.auth`` is not installed; where it is, for a caller who signed in through
    baas_auth (a credential the middleware accepted), whose user Django's
    ``AuthenticationMiddleware`` then hands on, and never for an anonymous caller (the guest),
    whose ``request.user`` stays Django's own (its session login, or ``AnonymousUser``).

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
        """Just before the view. A request admitted only for its view's guard to decide (no
        rule allowed it) is refused when the view Django is about to call carries none:
        ``route_guard``'s match and Django's own must agree (a middleware that sets
        ``request.urlconf`` could change it). Otherwise the signed-in caller's user is set
        again, over whatever a later middleware set (Django's ``AuthenticationMiddleware``
        sets a lazy session user)."""
        if request.META.get(ROUTE_GUARD_KEY) and not decides(view):
            path = route_path(request)
            started = self.guard.start()
            refusal = self.guard.refuse(
                ForbiddenError(), request.principal, request.method or "", path, started
            )
            return _django(refusal)
        user = getattr(request, _USER, None)
        if user is not None:
            _set_user(request, user)
        return None

    def _call_django(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The 'inner WSGI app': the rest of Django's chain, for an admitted request."""
        request: HttpRequest = environ[_REQUEST]
        principal: Principal | None = environ[PRINCIPAL_KEY]
        request.principal = principal
        setattr(request, _GUARD, self.guard)
        if principal is not None and (self.sets_user or principal.is_authenticated):
            _set_user(request, PrincipalUser(principal, self.guard))
        response = self.get_response(request)
        _report_noted_refusal(request, response, self.guard)
        environ[_RESPONSE] = response
        # Through start_response so that the adapter can mark an answer to a query token private.
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return []


def _set_user(request: HttpRequest, user: PrincipalUser) -> None:
    """``request.user`` (and ``await request.auser()``) is ``user``. The cached values are
    where ``django.contrib.auth``'s lazy user looks first, so that a middleware between this
    one and the view reads the same user."""
    setattr(request, _USER, user)
    request.user = request._cached_user = request._acached_user = user

    async def auser() -> PrincipalUser:
        return user

    request.auser = auser


def guard_of(request: HttpRequest) -> Guard | None:
    """The ``Guard`` of the ``AuthMiddleware`` that admitted ``request``; None without it."""
    guard = getattr(request, _GUARD, None)
    return guard if isinstance(guard, Guard) else None


def route_path(request: HttpRequest) -> str:
    """The request's route path, as the middleware judged it."""
    try:
        return wsgi_route_path(request.META.get("PATH_INFO", ""))
    except BadRequestError:
        return "/"  # routes to no application: a requirement that needs one is refused


def note_refusal(request: HttpRequest, error: AuthError, started: int | None) -> None:
    """A check (a permission class) refused ``request`` with ``error``; ``started`` is
    ``Guard.start()``'s value. Whether the request is refused is known only from the answer (a
    permission may be one side of an ``or``): the middleware reports the first refusal noted
    once the answer is a 401 or 403 (``_report_noted_refusal``)."""
    if getattr(request, _NOTED, None) is None:
        setattr(request, _NOTED, (error, started))


def _report_noted_refusal(request: HttpRequest, response: HttpResponse, guard: Guard) -> None:
    """The decision that follows the middleware's allow, as ``Guard.refuse`` reports a
    ``require`` refusal, with the status the view answered."""
    noted: tuple[AuthError, int | None] | None = getattr(request, _NOTED, None)
    if noted is None or response.status_code not in _REFUSING_STATUSES:
        return
    error, started = noted
    if started is None:  # nobody listened when the check began
        return
    principal: Principal | None = request.principal
    path = route_path(request)
    target = None if principal is None else guard.application(principal, path)
    org, app = (None, None) if target is None else target
    DecisionEvents(guard.options.on_decision).emit(
        started,
        RequestInfo(request.method or "", path),
        Route(org, app, path),
        principal,
        "refuse",
        response.status_code,
        ROUTE_REQUIREMENT,
        error,
    )


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
    """``request.user`` for a caller the middleware admitted: the principal in the shape Django
    code reads of a user, honest about what it is.

    It is not a database user: ``pk`` and ``id`` are None (no row of any user table is it),
    it cannot be saved, deleted or logged in, it is neither staff nor superuser, and it holds
    no Django permission or group (``has_perm`` is False: the realm's roles and rules are not
    Django permissions). What the realm knows of it: ``principal``, ``uuid``, ``kind``,
    ``holds_role(name)`` and ``group_paths()`` (store reads, made when called).
    """

    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, principal: Principal, guard: Guard | None = None) -> None:
        self.principal = principal
        self._guard = guard

    @property
    def is_authenticated(self) -> bool:
        return self.principal.is_authenticated

    @property
    def is_anonymous(self) -> bool:
        return not self.principal.is_authenticated

    @property
    def is_active(self) -> bool:
        """The middleware admits no disabled or unactivated user: True for every signed-in
        caller, False for the guest."""
        return self.principal.is_authenticated

    @property
    def uuid(self) -> str | None:
        """The principal's uuid in the realm (a client's is its client_id), not a Django key."""
        return self.principal.uuid

    @property
    def kind(self) -> str:
        return self.principal.kind

    @property
    def username(self) -> str:
        return self.principal.username or ""

    def get_username(self) -> str:
        return self.username

    def get_full_name(self) -> str:
        return self.principal.display_name

    def get_short_name(self) -> str:
        return self.principal.display_name

    def holds_role(self, role: str) -> bool:
        """Whether the caller holds the app role ``role`` (its own, a group's, or
        ``default``), as ``require(role=…)`` judges it: app users only.

        Raises:
            StoreError: the store failed.
        """
        guard, target = self._application()
        if target is None:
            return False
        org, app = target
        realm = guard.realm
        if not isinstance(realm, Realm):
            raise TypeError("PrincipalUser reads a Realm; the Django middleware has one")
        return realm.holds_role(self.principal, role, org=org, app=app)

    def group_paths(self) -> tuple[str, ...]:
        """The paths of the groups the caller is a member of (app users only; others are in
        none), groups deleted since left out.

        Raises:
            StoreError: the store failed.
        """
        found = self._groups()
        if found is None:
            return ()
        realm, org, app, paths = found
        return tuple(path for path in paths if _group_exists(realm, org, app, path))

    def is_member(self, path: str) -> bool:
        """Whether the caller is a member of the group ``path`` itself (not of a group below
        it only); app users only. Paths compare ignoring case, as the realm names them.

        Raises:
            StoreError: the store failed.
        """
        found = self._groups()
        if found is None:
            return False
        realm, org, app, paths = found
        if path.lower() not in {member.lower() for member in paths}:
            return False
        return _group_exists(realm, org, app, path)

    def _groups(self) -> tuple[Realm, str, str, tuple[str, ...]] | None:
        """The realm, org, app and the group paths its record lists (deleted groups too)."""
        guard, target = self._application()
        uuid = self.principal.uuid
        if target is None or self.principal.kind != "app_user" or uuid is None:
            return None
        org, app = target
        realm = guard.realm
        if not isinstance(realm, Realm):
            raise TypeError("PrincipalUser reads a Realm; the Django middleware has one")
        try:
            return realm, org, app, realm.user_groups(org, app, uuid)
        except NotFoundError:  # deleted since its token was accepted
            return None

    def _application(self) -> tuple[Guard, tuple[str, str] | None]:
        if self._guard is None:
            raise RuntimeError("this PrincipalUser was made without the middleware's Guard")
        target = None
        if self.principal.org is not None and self.principal.app is not None:
            target = self.principal.org, self.principal.app
        return self._guard, target

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perm_list: Iterable[str], obj: object = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def get_user_permissions(self, obj: object = None) -> set[str]:
        return set()

    def get_group_permissions(self, obj: object = None) -> set[str]:
        return set()

    def get_all_permissions(self, obj: object = None) -> set[str]:
        return set()

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(_NOT_A_DATABASE_USER)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(_NOT_A_DATABASE_USER)

    def set_password(self, raw_password: str) -> None:
        raise NotImplementedError(_NOT_A_DATABASE_USER)

    def check_password(self, raw_password: str) -> bool:
        raise NotImplementedError(_NOT_A_DATABASE_USER)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrincipalUser) and other.principal == self.principal

    def __hash__(self) -> int:
        return hash(self.principal)

    def __str__(self) -> str:
        return self.principal.display_name

    def __repr__(self) -> str:
        return f"<PrincipalUser {self.principal.kind} {self.principal.display_name!r}>"


_NOT_A_DATABASE_USER = (
    "a PrincipalUser is a caller signed in through baas_auth, not a database user: "
    "change the user in the realm (baas_auth.Realm), not through Django"
)


def _group_exists(realm: Realm, org: str, app: str, path: str) -> bool:
    try:
        realm.get_group(org, app, path)
    except NotFoundError:
        return False
    return True


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
    guard = guard_of(request)
    if guard is None:
        raise RuntimeError(
            "baas_auth: require() needs baas_auth.integrations.django.AuthMiddleware in MIDDLEWARE"
        )
    principal: Principal | None = request.principal
    path = route_path(request)
    started = guard.start()
    try:
        check(guard, requirement, principal, path)
    except (AuthError, StoreError) as error:  # a decision: reported after the middleware's
        method = request.method or ""
        return _django(guard.refuse(error, principal, method, path, started))
    return None


def _django(response: Response) -> HttpResponse:
    started = _StartResponse()
    started(f"{response.status} {HTTPStatus(response.status).phrase}", list(response.headers))
    return started.django_response([response.body])
