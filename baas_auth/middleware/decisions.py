"""Values shared by the decision (``gate``), the endpoints and both adapters: the middleware's
options, what a decision can be, and the event that reports one. A leaf module: it imports none
of those. Does no I/O.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

from typing_extensions import TypedDict, Unpack

from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.identifiers import org_or_app_name
from baas_auth.core.routing import Route
from baas_auth.errors import AuthError, ConfigError
from baas_auth.model import Principal

if TYPE_CHECKING:
    from baas_auth.api.table import Match

__all__ = [
    "ROUTE_GUARD_KEY",
    "SAFE_REALM_NAME",
    "Admit",
    "Decision",
    "DecisionEvent",
    "DecisionHook",
    "EndpointCall",
    "GateOptions",
    "GuardCall",
    "MiddlewareOptions",
    "RouteGuard",
]

SAFE_REALM_NAME = re.compile(r"[A-Za-z0-9 _./:@+-]{1,128}")
"""What may stand in a challenge's ``realm="…"`` without escaping."""
ROUTE_GUARD_KEY = "baas_auth.route_guard"
"""The WSGI environ or ASGI scope key set (True) on a request admitted only for the route's
guard to decide (``Admit.guarded``)."""
HEALTH_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")
"""What a health path may be: an absolute path of plain segments, compared as the server
passes it (no percent-encoding, query or fragment to read otherwise)."""


class Admit(NamedTuple):
    """Call the inner app with this principal (None only for a passed-through CORS preflight)."""

    principal: Principal | None
    query_string: bytes
    """The query string the inner app sees: credentials removed, the rest byte-identical."""
    query_token: bool = False
    """A query token authenticated the request: a 2xx answer gets ``Cache-Control: private``."""
    guarded: bool = False
    """No rule allowed it: admitted for the route's guard to decide (``route_guard``). The
    adapters mark the request (``ROUTE_GUARD_KEY``), so that a framework helper that sees the
    view actually called can refuse it if that view carries no guard."""


class EndpointCall(NamedTuple):
    """A request to an endpoint the middleware serves itself. The adapter reads the body (when
    ``has_body``), then has the realm's driver run ``Gate.answer`` (a password grant's KDF
    runs where that driver puts slow work)."""

    route: Route
    request: RequestInfo
    has_body: bool
    started_ns: int | None = None
    """When the decision began, for its event; None when no one listens for events."""
    api_match: Match | None = None
    """The management API's row for the request, matched once when it was read."""
    stamp: int | None = None
    """The store's change stamp read before the decision began (None: not read, or the store
    offers none): what the introspection endpoint remembers its answers under."""


class GuardCall(NamedTuple):
    """An authenticated caller whom no rule allows, on a middleware with a ``route_guard``: the
    adapter asks it about the request (its environ or scope), then ``Gate.settle`` admits the
    request (a guard on the route decides) or refuses it with ``error``, as without the hook."""

    admit: Admit
    """What the adapter calls the app with if a guard takes the request (``guarded``)."""
    error: AuthError
    request: RequestInfo
    route: Route
    started_ns: int | None


Decision = Admit | EndpointCall | Response | GuardCall


class DecisionEvent(NamedTuple):
    """What was decided for one request, handed to ``on_decision`` (``docs/observability.md``).

    A NamedTuple, as the other per-request values: one is built per request while a hook is set
    or the ``baas_auth`` logger is enabled for INFO, and none otherwise.
    """

    principal: Principal | None
    """Who the request was, when that was known: None for a refusal before authentication,
    a CORS preflight and an endpoint's answer."""
    method: str
    path: str
    """The route path (never the query string); both are ``""`` for a request the adapter
    could not read."""
    org: str | None
    app: str | None
    """The application the route belongs to; both None for ``/management`` or before routing."""
    decision: Literal["allow", "refuse", "answer"]
    """``allow``: the inner app was called; ``refuse``: an error answer; ``answer``: an
    endpoint of the middleware (token, me, revoke) answered."""
    status: int | None
    """The status the middleware answered with; None for ``allow`` (the inner app answers)."""
    reason: str
    """A refusal's ``error`` code (``route_requirement``: refused by a route's ``require``,
    after the middleware's allow); for an allow ``rule``, ``all-access``, ``management`` or
    ``cors-preflight``, ``route-guard`` (no rule allowed it; a guard on the framework route
    decides) or ``public-docs`` (FastAPI's docs pages, ``protect(…, public_docs=True)``); for
    an answer the endpoint (``token``, ``me``, ``revoke_one``, …)."""
    duration_ms: float
    """From the start of the decision to its end (an endpoint's: to its answer). NaN only in
    the log record of a store failure that began while no one listened for events."""


DecisionHook = Callable[[DecisionEvent], object]

RouteGuard = Callable[[Mapping[str, Any]], bool]
"""``route_guard``: given the WSGI environ or ASGI scope of a request, whether the framework
route that would answer it carries a route guard (``require(…)``) that decides who may call it.
Asked only for an authenticated caller whom no rule allows; it must only match, with no side
effects (``docs/frameworks.md``, "Guards and rules"). The framework helpers set it."""


class MiddlewareOptions(TypedDict, total=False):
    """The keyword options of both ``AuthMiddleware`` adapters (the README's option table)."""

    application: str | None
    """``"org/app"``: single-app mode (the wrapped app is that application); None: multi-tenant."""
    allow_query_credentials: bool
    """Accept credentials in the query string (True); False refuses them with 400."""
    strict: bool
    """No query credentials, an RFC 6749 token endpoint, 403 for authenticated refusals."""
    usergrid_status_codes: bool
    """Answer 401 where baas_auth answers 403, as the original system does."""
    cors_preflight: bool
    """Let CORS preflights through unauthenticated."""
    case_sensitive_paths: bool
    """Match rules against paths case-sensitively (True, as Python routers route)."""
    realm_name: str | None
    """The ``realm=`` of challenges; None: the app's ``org/app``."""
    endpoints: bool
    """Serve the token, ``/management/me`` and revoke endpoints."""
    management_api: bool
    """Serve the management API (roles, permissions, memberships, credentials, the app's
    token lifetime) on the original system's paths; off by default, as it takes over those
    paths of the wrapped app."""
    on_decision: DecisionHook | None
    """Called with a ``DecisionEvent`` once per request; an error it raises is logged on the
    ``baas_auth`` logger and changes nothing."""
    health_path: str | None
    """A path (e.g. ``"/healthz"``) the middleware answers itself, without credentials: 200
    while the store answers, 503 otherwise (``docs/deployment.md``); None (the default): off."""
    route_guard: RouteGuard | None
    """Whether a route guard of the wrapped framework decides a request that no rule allows an
    authenticated caller (``RouteGuard``); set by ``protect``, ``init_app`` and the Django
    middleware. None (the default): the rules alone decide."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GateOptions:
    """The middleware's options, checked once at construction (see ``GateOptions.build``)."""

    application: tuple[str, str] | None
    allow_query_credentials: bool
    strict: bool
    usergrid_status_codes: bool
    cors_preflight: bool
    case_sensitive: bool
    realm_name: str | None
    endpoints: bool
    management_api: bool = False
    on_decision: DecisionHook | None = None
    health_path: str | None = None
    route_guard: RouteGuard | None = None

    @classmethod
    def build(cls, **options: Unpack[MiddlewareOptions]) -> GateOptions:
        """Validate the keyword options of ``AuthMiddleware``; ``ConfigError`` for a bad one."""
        _check_names(options)
        given = {**_DEFAULTS, **options}
        for name in _FLAGS:
            if not isinstance(given[name], bool):
                raise ConfigError(f"{name} is True or False, not {given[name]!r}")
        strict = given["strict"] is True
        if strict and (given["usergrid_status_codes"] or given["cors_preflight"]):
            raise ConfigError("strict=True excludes usergrid_status_codes and cors_preflight")
        realm_name = given["realm_name"]
        if realm_name is not None and (
            not isinstance(realm_name, str) or not SAFE_REALM_NAME.fullmatch(realm_name)
        ):
            raise ConfigError("realm_name is up to 128 letters, digits and ' _./:@+-'")
        on_decision = _checked_hook(given["on_decision"])
        return cls(
            application=_parse_application(given["application"]),
            allow_query_credentials=given["allow_query_credentials"] is True and not strict,
            strict=strict,
            usergrid_status_codes=given["usergrid_status_codes"] is True,
            cors_preflight=given["cors_preflight"] is True,
            case_sensitive=given["case_sensitive_paths"] is True,
            realm_name=realm_name,
            endpoints=given["endpoints"] is True,
            management_api=given["management_api"] is True,
            on_decision=on_decision,
            health_path=_checked_health_path(given["health_path"]),
            route_guard=_checked_route_guard(given["route_guard"]),
        )


_DEFAULTS: dict[str, object] = {
    "application": None,
    "allow_query_credentials": True,
    "strict": False,
    "usergrid_status_codes": False,
    "cors_preflight": False,
    "case_sensitive_paths": True,
    "realm_name": None,
    "endpoints": True,
    "management_api": False,
    "on_decision": None,
    "health_path": None,
    "route_guard": None,
}
_FLAGS = tuple(name for name, value in _DEFAULTS.items() if isinstance(value, bool))


def _check_names(options: Mapping[str, object]) -> None:
    unknown = sorted(set(options) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(
            f"unknown AuthMiddleware option {', '.join(map(repr, unknown))}; "
            f"the options are {', '.join(_DEFAULTS)}"
        )


def _checked_hook(hook: object) -> DecisionHook | None:
    if hook is None:
        return None
    if not callable(hook):
        raise ConfigError(f"on_decision is a function of a DecisionEvent, not {hook!r}")
    called = type(hook).__call__  # an object's own __call__ may be the async one
    if inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(called):
        # Called where the decision runs, synchronously: a coroutine would never be awaited.
        raise ConfigError(
            "on_decision is called synchronously and cannot be an async function; "
            "hand the event on from a plain function (a queue, loop.call_soon_threadsafe)"
        )
    return cast(DecisionHook, hook)


def _checked_route_guard(guard: object) -> RouteGuard | None:
    if guard is None:
        return None
    if not callable(guard) or inspect.iscoroutinefunction(guard):
        raise ConfigError(
            f"route_guard is a plain function of a WSGI environ or ASGI scope, not {guard!r}"
        )
    return cast(RouteGuard, guard)


def _checked_health_path(path: object) -> str | None:
    if path is None:
        return None
    if not isinstance(path, str) or not HEALTH_PATH.fullmatch(path):
        raise ConfigError(
            f"health_path is an absolute path of letters, digits and '._~-' segments, such as"
            f" '/healthz', or None; not {path!r}"
        )
    return path


def _parse_application(application: object) -> tuple[str, str] | None:
    if application is None:
        return None
    if not isinstance(application, str) or application.count("/") != 1:
        raise ConfigError('application is "org/app", e.g. application="acme/shop"')
    org, app = application.split("/")
    return org_or_app_name(org, "organization"), org_or_app_name(app, "application")
