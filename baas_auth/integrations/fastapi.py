"""FastAPI helpers: dependencies that hand out the caller (``current_principal``) or require more
of it (``require(role="editor")``), declaring an OAuth2 password scheme whose token URL is the
middleware's own token endpoint, so that ``/docs`` has a working Authorize button.

Importing this module imports FastAPI; ``import baas_auth`` does not. The dependencies never
validate a token again: the middleware did, and they read the principal it put in the scope.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import OAuth2PasswordBearer

from baas_auth.core.rules import Rule
from baas_auth.errors import ConfigError
from baas_auth.integrations.requirements import Requirement, mark_guard, refused
from baas_auth.integrations.starlette import (
    Refused,
    enforce,
    principal_of,
    protect,
    refusal_handler,
)
from baas_auth.middleware.admission import unguarded_refusal
from baas_auth.model import Principal

__all__ = [
    "TOKEN_URL",
    "Authenticated",
    "CurrentPrincipal",
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


def docs_rule(app: FastAPI) -> str:
    """The rule that opens the app's interactive docs: ``get`` on its ``openapi_url``,
    ``docs_url``, the Swagger OAuth2 redirect and ``redoc_url`` (those that are enabled).

    One line opens them to anonymous callers::

        realm.grant("acme", "shop", docs_rule(app), role="guest")

    Raises:
        ConfigError: the app serves no docs (all those URLs are None).
    """
    urls = [app.openapi_url, app.docs_url, app.redoc_url]
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        urls.append(app.swagger_ui_oauth2_redirect_url)
    paths = [url for url in urls if url]
    if not paths:
        raise ConfigError("docs_rule(): this app serves no OpenAPI schema or docs pages")
    return str(Rule.parse("get:" + ",".join(paths)))
