"""FastAPI helpers: dependencies that hand out the caller (``current_principal``) or require more
of it (``require(role="editor")``), declaring an OAuth2 password scheme whose token URL is the
middleware's own token endpoint, so that ``/docs`` has a working Authorize button.

Importing this module imports FastAPI; ``import baas_auth`` does not. The dependencies never
validate a token again: the middleware did, and they read the principal it put in the scope.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import OAuth2PasswordBearer
from typing_extensions import Unpack

from baas_auth.asgi import PRINCIPAL_KEY, AuthMiddleware
from baas_auth.core.http import RequestInfo
from baas_auth.core.paths import strip_root_path
from baas_auth.core.routing import Route
from baas_auth.core.rules import Rule
from baas_auth.errors import BadRequestError, ConfigError
from baas_auth.integrations.requirements import Requirement, mark_guard, refused
from baas_auth.integrations.starlette import (
    Refused,
    enforce,
    install,
    principal_of,
    refusal_handler,
)
from baas_auth.middleware.admission import unguarded_refusal
from baas_auth.middleware.decisions import MiddlewareOptions
from baas_auth.middleware.events import DecisionEvents
from baas_auth.model import Principal
from baas_auth.realm import AsyncRealm, Realm

__all__ = [
    "PUBLIC_DOCS",
    "TOKEN_URL",
    "Authenticated",
    "CurrentPrincipal",
    "PublicDocs",
    "Refused",
    "current_principal",
    "docs_rule",
    "password_bearer",
    "protect",
    "refusal_handler",
    "require",
]

TOKEN_URL = "token"  # noqa: S105 - a path, not a secret
"""Relative, so Swagger resolves it next to ``/openapi.json``: ``/token`` in single-app mode."""

_SCHEME_DESCRIPTION = (
    "A password grant at baas_auth's token endpoint; the middleware checks the token."
)


@functools.cache
def password_bearer(token_url: str = TOKEN_URL) -> OAuth2PasswordBearer:
    """The security scheme the dependencies declare (one per token URL, so the schema lists
    each once). ``auto_error=False``: a missing token is the middleware's matter (the guest)."""
    name = "baas_auth" if token_url == TOKEN_URL else f"baas_auth {token_url}"
    return OAuth2PasswordBearer(
        tokenUrl=token_url, scheme_name=name, description=_SCHEME_DESCRIPTION, auto_error=False
    )


# A default value, not Annotated: annotations are strings here, and FastAPI resolves them in the
# module's globals, where a dependency made inside require() would not be found.
_DEFAULT_TOKEN = Depends(password_bearer())


async def current_principal(request: Request, _token: str | None = _DEFAULT_TOKEN) -> Principal:
    """The caller as the middleware admitted it: an app user, a client, an admin, or the guest
    (``principal.is_authenticated`` is False) where guest rules let the request through."""
    principal = principal_of(request)
    if principal is None:  # a CORS preflight the middleware passed through unauthenticated
        raise Refused(unguarded_refusal(refused(None)))
    return principal


def require(
    *,
    authenticated: bool = True,
    role: str | None = None,
    rule: str | None = None,
    token_url: str = TOKEN_URL,
) -> Callable[..., Awaitable[Principal]]:
    """A dependency that returns the caller if it meets the requirement and otherwise raises
    ``Refused``: 401 for the guest, 403 for a caller without the role or permission.

    Use it as ``Depends(require(role="editor"))`` in a parameter or in ``dependencies=[…]``.

    Args:
        authenticated: refuse the guest; with False a guest is judged by ``rule``.
        role: an app role the caller must hold (its own, through a group, or ``default``).
        rule: ``verbs:paths`` the realm must permit the caller, e.g. ``"put:/books"``.
        token_url: where Swagger's Authorize sends the password grant (multi-tenant mode:
            ``"/{org}/{app}/token"``).

    Raises:
        ConfigError: a bad role name or rule text (when the route is declared).
    """
    requirement = Requirement.build(authenticated=authenticated, role=role, rule=rule)
    token = Depends(password_bearer(token_url))

    async def dependency(request: Request, _token: str | None = token) -> Principal:
        refusal = await enforce(request, requirement)
        if refusal is not None:
            raise Refused(refusal)
        principal = principal_of(request)
        if principal is None:  # enforce refuses a missing principal; never reached
            raise RuntimeError("baas_auth: a request without a principal was not refused")
        return principal

    dependency.__qualname__ = dependency.__name__ = f"require({requirement})"
    mark_guard(dependency, requirement)
    return dependency


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""``caller: CurrentPrincipal``: the caller, the guest included."""

Authenticated = Annotated[Principal, Depends(require())]
"""``caller: Authenticated``: the caller; the guest is refused with 401."""


PUBLIC_DOCS = "public-docs"
"""The reason reported for a docs page answered under ``protect(…, public_docs=True)``."""
_READS = frozenset({"GET", "HEAD"})


def protect(
    app: FastAPI,
    realm: Realm | AsyncRealm,
    *,
    public_docs: bool = False,
    **options: Unpack[MiddlewareOptions],
) -> None:
    """Put baas_auth's middleware in front of ``app`` and install the handler that renders
    ``require`` refusals as the middleware's own (``baas_auth.integrations.starlette.protect``).

    Args:
        public_docs: let anyone read the app's docs pages (``GET`` or ``HEAD`` of exactly
            ``docs_rule(app)``'s paths: the OpenAPI schema, Swagger UI, its OAuth2 redirect,
            ReDoc) without a credential, in single-app and multi-tenant mode alike; every
            other request, other paths under them included, goes through the middleware.
            False (the default): the docs are behind the middleware (single-app mode: grant
            ``docs_rule(app)`` to ``guest`` to open them).

    Raises:
        ConfigError: a bad option, an application the realm lacks, or ``public_docs`` for an
            app that serves no docs.
    """
    if not public_docs:
        install(app, realm, options)
        return
    install(app, realm, options, PublicDocs, docs_paths=frozenset(_docs_paths(app)))


class PublicDocs:
    """The middleware, with the app's docs pages answered before it: ``GET``/``HEAD`` of
    exactly ``docs_paths`` (compared as the router compares them, after ``root_path``) reach
    the app with no principal and no query string, reported as an allow (``public-docs``);
    everything else is the middleware's (``AuthMiddleware``)."""

    def __init__(
        self,
        app: Any,
        realm: Realm | AsyncRealm,
        *,
        docs_paths: frozenset[str],
        **options: Unpack[MiddlewareOptions],
    ) -> None:
        self.middleware = AuthMiddleware(app, realm, **options)
        self.app = app
        self.docs_paths = docs_paths
        self.events = DecisionEvents(self.middleware.options.on_decision)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = self._docs_path(scope)
        if path is None:
            await self.middleware(scope, receive, send)
            return
        started = self.events.start()
        if started is not None:
            method = scope["method"]
            target = self.middleware.options.application or (None, None)
            route = Route(target[0], target[1], path)
            self.events.emit(
                started, RequestInfo(method, path), route, None, "allow", None, PUBLIC_DOCS
            )
        # No principal (the helpers refuse rather than guess), no query (no credential in it
        # reaches the app or its logs).
        child = {**scope, PRINCIPAL_KEY: None, "query_string": b""}
        await self.app(child, receive, send)

    def _docs_path(self, scope: Any) -> str | None:
        if scope["type"] != "http" or scope.get("method") not in _READS:
            return None
        path, root_path = scope.get("path", ""), scope.get("root_path", "")
        try:
            route_path = strip_root_path(path, root_path) if root_path else path
        except BadRequestError:
            return None
        return route_path if route_path in self.docs_paths else None


def _docs_paths(app: FastAPI) -> list[str]:
    urls = [app.openapi_url, app.docs_url, app.redoc_url]
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        urls.append(app.swagger_ui_oauth2_redirect_url)
    paths = [url for url in urls if url]
    if not paths:
        raise ConfigError("this app serves no OpenAPI schema or docs pages")
    return paths


def docs_rule(app: FastAPI) -> str:
    """The rule that opens the app's interactive docs: ``get`` on its ``openapi_url``,
    ``docs_url``, the Swagger OAuth2 redirect and ``redoc_url`` (those that are enabled).

    One line opens them to anonymous callers::

        realm.grant("acme", "shop", docs_rule(app), role="guest")

    Raises:
        ConfigError: the app serves no docs (all those URLs are None).
    """
    try:
        paths = _docs_paths(app)
    except ConfigError as error:
        raise ConfigError(f"docs_rule(): {error}") from None
    return str(Rule.parse("get:" + ",".join(paths)))
