"""Which application a route path belongs to, and whether it is one of the behaviour §6 endpoints.

Multi-tenant mode: ``/{org}/{app}/…`` and ``/management/…``. Single-app mode: the wrapped app is
one application and the same paths come without the prefix. Does no I/O.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from baas_auth.errors import AuthenticationError

__all__ = ["Endpoint", "Route", "route_multi_tenant", "route_single_app"]

Endpoint = Literal["token", "me", "revoke_one", "revoke_all", "introspect", "revocation", "api"]
"""Which endpoint of the middleware answers; ``api`` is the management API (``baas_auth.api``),
``introspect`` RFC 7662 introspection and ``revocation`` RFC 7009 revocation (behaviour §9)."""

_REVOKE = {"revoketoken": "revoke_one", "revoketokens": "revoke_all"}


class Route(NamedTuple):
    """Where a request goes: an app (``org``/``app``), or the management area (both None).

    Immutable; a NamedTuple because one is built per request (see ``http.RequestInfo``)."""

    org: str | None
    app: str | None
    path: str
    """The app-relative route path (the prefix removed), what rules are checked against."""
    endpoint: Endpoint | None = None
    subject: str | None = None
    """The ``{user}`` or ``{admin}`` segment of a revoke endpoint."""


def _endpoint(segments: list[str]) -> tuple[Endpoint | None, str | None]:
    if segments == ["token"]:
        return "token", None
    if segments == ["introspect"]:
        return "introspect", None
    if segments == ["revoke"]:
        return "revocation", None
    if len(segments) == 3 and segments[0] == "users" and segments[2] in _REVOKE:
        kind: Endpoint = "revoke_one" if segments[2] == "revoketoken" else "revoke_all"
        return kind, segments[1]
    return None, None


def route_single_app(path: str, org: str, app: str, *, endpoints: bool) -> Route:
    """The route of a request to an app-wrapping middleware; ``path`` is already canonical."""
    endpoint, subject = _endpoint(path.strip("/").split("/")) if endpoints else (None, None)
    return Route(org, app, path, endpoint, subject)


def route_multi_tenant(path: str, *, endpoints: bool) -> Route:
    """The route of ``/{org}/{app}/…`` or ``/management/…``; org and app names are lower-cased.

    Raises:
        AuthenticationError: a path outside both (``/``, ``/{org}`` alone): 401, no such app.
    """
    segments = path.strip("/").split("/")
    if segments[0].lower() == "management":
        return _management(path, segments[1:], endpoints=endpoints)
    if len(segments) < 2 or not segments[0]:
        raise AuthenticationError("No application addressed", challenge_error=None)
    org, app = segments[0].lower(), segments[1].lower()
    prefix_length = len(segments[0]) + len(segments[1]) + 2
    rest = path[prefix_length:] or "/"
    endpoint, subject = _endpoint(segments[2:]) if endpoints else (None, None)
    return Route(org, app, rest, endpoint, subject)


def _management(path: str, segments: list[str], *, endpoints: bool) -> Route:
    rest = path[len("/management") :] or "/"
    if not endpoints:
        return Route(None, None, rest)
    if segments in (["token"], ["me"]):
        kind: Endpoint = "token" if segments == ["token"] else "me"
        return Route(None, None, rest, kind)
    endpoint, subject = _endpoint(segments)
    return Route(None, None, rest, endpoint, subject)
