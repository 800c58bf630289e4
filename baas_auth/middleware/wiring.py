"""Checks of how a middleware is wired, run once at construction (behaviour §6.3).

A wrong realm or an app of the other protocol would otherwise fail at the first request with a
raw ``TypeError`` or ``AttributeError``; here it fails at once, saying what to write instead.
Detection is best-effort and never refuses an app it cannot classify.
"""

from __future__ import annotations

import inspect

from baas_auth.errors import ConfigError, NotFoundError
from baas_auth.middleware.decisions import GateOptions
from baas_auth.realm import AsyncRealm, Realm
from baas_auth.realm.directory import get_app
from baas_auth.realm.store_commands import Flow
from baas_auth.stores.protocols import AsyncStore, Store

__all__ = ["check_application", "check_asgi_app", "check_realm", "check_wsgi_app"]

_WSGI_PARAMETERS = ("environ", "start_response")
_ASGI_PARAMETERS = ("scope", "receive", "send")


def check_realm(realm: object, middleware: str, *, async_ok: bool) -> None:
    """Refuse anything but a ``Realm`` (or, where ``async_ok``, an ``AsyncRealm``), naming the
    fix for a URL string, a store, or an ``AsyncRealm`` under WSGI."""
    if isinstance(realm, str):
        raise ConfigError(
            f"{middleware} takes a Realm, not a URL: write Realm.open({realm!r}) and pass that"
        )
    if isinstance(realm, Store | AsyncStore):
        kind = "AsyncRealm" if inspect.iscoroutinefunction(getattr(realm, "get", None)) else "Realm"
        raise ConfigError(
            f"{middleware} takes a Realm, not a store: write {kind}({type(realm).__name__}(...))"
        )
    if isinstance(realm, AsyncRealm) and not async_ok:
        raise ConfigError(
            f"{middleware} takes a Realm: a WSGI server has no event loop for an AsyncRealm "
            "(use baas_auth.asgi.AuthMiddleware, or Realm over the same store kind)"
        )
    if not isinstance(realm, Realm | AsyncRealm):
        raise ConfigError(
            f"{middleware} takes a baas_auth.Realm as its second argument, "
            f"not {type(realm).__name__}"
        )


def check_application(options: GateOptions) -> Flow[None]:
    """A single-app middleware for an app the realm lacks would answer 401 to everyone: a
    ``ConfigError`` instead, naming the fix. A flow, run by the realm's driver (at
    construction where the store can be read, else at the first request)."""
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


def check_wsgi_app(app: object) -> None:
    """Refuse an ASGI application handed to the WSGI middleware."""
    _check_callable(app, "baas_auth.wsgi.AuthMiddleware")
    if _is_coroutine_callable(app) or _parameters(app) == _ASGI_PARAMETERS:
        raise ConfigError(
            f"{_describe(app)} is an ASGI application: wrap it with "
            "baas_auth.asgi.AuthMiddleware (or app.add_middleware(AuthMiddleware, realm, ...))"
        )


def check_asgi_app(app: object) -> None:
    """Refuse a WSGI application handed to the ASGI middleware."""
    _check_callable(app, "baas_auth.asgi.AuthMiddleware")
    if _is_coroutine_callable(app):
        return
    if hasattr(app, "wsgi_app") or _parameters(app) == _WSGI_PARAMETERS:
        raise ConfigError(
            f"{_describe(app)} is a WSGI application: wrap it with baas_auth.wsgi.AuthMiddleware"
            " (for Flask: app.wsgi_app = AuthMiddleware(app.wsgi_app, realm, ...))"
        )


def _check_callable(app: object, middleware: str) -> None:
    if not callable(app):
        raise ConfigError(f"{middleware} wraps an application (a callable), not {app!r}")


def _is_coroutine_callable(app: object) -> bool:
    call = getattr(type(app), "__call__", None)  # noqa: B004 - the class's, not an instance attribute
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


def _parameters(app: object) -> tuple[str, ...]:
    """The names of the positional parameters ``app`` is called with, if they can be read."""
    try:
        signature = inspect.signature(app)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in signature.parameters.values() if p.kind in kinds)


def _describe(app: object) -> str:
    return getattr(app, "__qualname__", None) or type(app).__qualname__
