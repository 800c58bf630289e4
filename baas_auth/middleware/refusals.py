"""How a refusal looks, for both adapters and the framework helpers: the error as JSON with its
challenge, ``usergrid_status_codes`` applied, and the challenge's ``realm=`` (its fallback
written once, here).
"""

from __future__ import annotations

from baas_auth.core.http import Response
from baas_auth.core.responses import Side, error_response
from baas_auth.core.routing import Route
from baas_auth.errors import AuthenticationError, AuthError, ForbiddenError, StoreError
from baas_auth.middleware.decisions import SAFE_REALM_NAME, GateOptions

__all__ = ["challenge_realm", "render", "render_for_route"]

_UNKNOWN = "baas"
"""The realm of a request the middleware could not route, or whose middleware is not known."""
_MANAGEMENT = "management"


def challenge_realm(
    options: GateOptions | None, target: tuple[str, str] | None, *, routed: bool = True
) -> str:
    """The ``realm=`` of a challenge: configured, else the middleware's application in
    single-app mode, else the addressed ``org/app`` (``target``; None: ``/management``)
    when it may stand unescaped, else ``baas`` (also before routing, ``routed=False``, and
    where no middleware's ``options`` are known)."""
    if options is not None:
        if options.realm_name is not None:
            return options.realm_name
        if options.application is not None:
            return "/".join(options.application)
    if options is None or not routed:
        return _UNKNOWN
    if target is None:
        return _MANAGEMENT
    name = "/".join(target)
    return name if SAFE_REALM_NAME.fullmatch(name) else _UNKNOWN


def render(
    error: AuthError | StoreError,
    options: GateOptions | None,
    target: tuple[str, str] | None,
    *,
    now_ms: int,
) -> Response:
    """``error`` as the middleware answers it on ``target`` (None: ``/management``); with
    ``usergrid_status_codes`` every 403 is answered as 401. ``options`` None: no middleware is
    known (its defaults apply). What the framework helpers answer."""
    if isinstance(error, ForbiddenError) and options is not None and options.usergrid_status_codes:
        error = _as_401(error)
    realm_name = challenge_realm(options, target)
    return error_response(error, realm_name=realm_name, now_ms=now_ms)


def render_for_route(
    error: AuthError | StoreError, options: GateOptions, route: Route | None, *, now_ms: int
) -> Response:
    """``error`` refused on ``route`` (None: before routing): the token endpoint's refusals
    take its own side (RFC 6749's Basic challenge), every other the resource's. What the
    middleware answers."""
    if isinstance(error, ForbiddenError) and options.usergrid_status_codes:
        error = _as_401(error)
    if route is None:
        realm_name = challenge_realm(options, None, routed=False)
        return error_response(error, realm_name=realm_name, now_ms=now_ms)
    target = None if route.org is None or route.app is None else (route.org, route.app)
    side: Side = "token" if route.endpoint == "token" else "resource"
    realm_name = challenge_realm(options, target)
    return error_response(error, realm_name=realm_name, now_ms=now_ms, side=side)


def _as_401(error: ForbiddenError) -> AuthenticationError:
    """``usergrid_status_codes``: a 403 answered as the original answers it, 401."""
    return AuthenticationError(error.error_description, challenge_error=error.challenge_error)
