"""Rendering answers the middleware gives itself: error bodies, challenges, JSON (behaviour §4, §6).

Usergrid's JSON error body with RFC 6750 §3 ``WWW-Authenticate`` challenges. Does no I/O.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Literal, NamedTuple

from baas_auth.core.http import Headers, Response
from baas_auth.errors import AuthError, MethodNotAllowedError, StoreError, TooManyRequestsError

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


def _challenges(
    status: int, challenge_error: str | None, basic: bool, realm_name: str, side: Side
) -> Headers:
    if status not in _CHALLENGED:
        return ()
    if side == "token":
        # RFC 6749 §5.2: a client that failed to authenticate is told how to, with Basic.
        if status != 401:
            return ()
        return (("www-authenticate", f'Basic realm="{realm_name}"'),)
    bearer = f'Bearer realm="{realm_name}"'
    if challenge_error:
        bearer += f', error="{challenge_error}"'
    found: list[tuple[str, str]] = [("www-authenticate", bearer)]
    if basic:
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
    if isinstance(error, TooManyRequestsError):
        payload = _body(error.error, error.error_description, now_ms, duration_ms)
        return json_response(429, payload, extra=(("retry-after", str(error.retry_after)),))
    template = _refusal_template(
        error.status_code,
        error.error,
        error.error_description,
        error.challenge_error,
        error.basic_challenge,
        isinstance(error, MethodNotAllowedError),
        realm_name,
        side,
    )
    return template.render(now_ms, duration_ms)


class _Template(NamedTuple):
    """A refusal with everything but its timestamp and duration already rendered."""

    status: int
    headers: Headers
    body_start: bytes

    def render(self, now_ms: int, duration_ms: int) -> Response:
        body = b'%s%d,"duration":%d}' % (self.body_start, now_ms, duration_ms)
        return Response(self.status, (*self.headers, ("content-length", str(len(body)))), body)


@lru_cache(maxsize=256)
def _refusal_template(
    status: int,
    error: str,
    description: str,
    challenge_error: str | None,
    basic_challenge: bool,
    method_not_allowed: bool,
    realm_name: str,
    side: Side,
) -> _Template:
    # Refusals are the path an attacker controls: render each kind once, not per request.
    extra = _challenges(status, challenge_error, basic_challenge, realm_name, side)
    if method_not_allowed:
        extra = (*extra, ("allow", ALLOWED_METHODS))
    start = json.dumps(
        {"error": error, "error_description": description, "timestamp": 0}, separators=(",", ":")
    )
    body_start = start[: -len("0}")].encode("utf-8")
    return _Template(status, (_JSON, *_NO_STORE, *extra), body_start)


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
