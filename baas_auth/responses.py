"""Rendering answers the middleware gives itself: error bodies, challenges, JSON (behaviour §4, §6).

Usergrid's JSON error body with RFC 6750 §3 ``WWW-Authenticate`` challenges. Does no I/O.
"""

from __future__ import annotations

import json
from typing import Literal

from baas_auth.errors import AuthError, MethodNotAllowedError, StoreError
from baas_auth.http import Headers, Response

__all__ = ["error_response", "json_response", "method_not_allowed"]

_JSON = ("content-type", "application/json")
_NO_STORE = (("cache-control", "no-store"), ("pragma", "no-cache"))
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

Side = Literal["resource", "token"]


def json_response(status: int, payload: object, *, extra: Headers = ()) -> Response:
    """A JSON answer that is never cached (it may carry a token or describe a refusal)."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers: Headers = (_JSON, *_NO_STORE, ("content-length", str(len(body))), *extra)
    return Response(status, headers, body)


_CHALLENGED = frozenset({400, 401, 403})  # behaviour §4: a 405 or 404 carries no challenge


def _challenges(error: AuthError, realm_name: str, side: Side) -> Headers:
    if error.status_code not in _CHALLENGED:
        return ()
    if side == "token":
        # RFC 6749 §5.2: a client that failed to authenticate is told how to, with Basic.
        if error.status_code != 401:
            return ()
        return (("www-authenticate", f'Basic realm="{realm_name}"'),)
    bearer = f'Bearer realm="{realm_name}"'
    if error.challenge_error:
        bearer += f', error="{error.challenge_error}"'
    found: list[tuple[str, str]] = [("www-authenticate", bearer)]
    if error.basic_challenge:
        found.append(("www-authenticate", f'Basic realm="{realm_name}"'))
    return tuple(found)


def error_response(
    error: AuthError | StoreError,
    *,
    realm_name: str,
    now_ms: int,
    duration_ms: int = 0,
    side: Side = "resource",
) -> Response:
    """The complete refusal for ``error``; a StoreError becomes 503 ``service_unavailable``."""
    if isinstance(error, StoreError):
        payload = _body(error.error, "The authorization store is unavailable", now_ms, duration_ms)
        return json_response(503, payload, extra=(("retry-after", "1"),))
    extra = _challenges(error, realm_name, side)
    if isinstance(error, MethodNotAllowedError):
        extra = (*extra, ("allow", ALLOWED_METHODS))
    payload = _body(error.error, error.error_description, now_ms, duration_ms)
    return json_response(error.status_code, payload, extra=extra)


def method_not_allowed(allowed: str, *, now_ms: int) -> Response:
    """405 for an endpoint that takes only some methods; ``allowed`` goes in ``Allow``."""
    error = MethodNotAllowedError()
    payload = _body(error.error, error.error_description, now_ms, 0)
    return json_response(405, payload, extra=(("allow", allowed),))


def _body(error: str, description: str, now_ms: int, duration_ms: int) -> dict[str, object]:
    return {
        "error": error,
        "error_description": description,
        "timestamp": now_ms,
        "duration": duration_ms,
    }
