"""WSGI adapter: ``AuthMiddleware(app, realm, …)`` around any PEP 3333 application.

The only module that knows the WSGI environ. One call per request to the realm's own driver
(``Realm.serve``), which gives the decision remembered under the store's change stamp or runs the
gate's flow (reading the environ, deciding, answering an endpoint with its body); then sends the
refusal or answer, or calls the inner app with ``environ["baas_auth.principal"]`` set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from baas_auth.core.cache_control import private_cache_control
from baas_auth.core.credential_names import DECISION_HEADERS
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.paths import wsgi_route_path
from baas_auth.errors import BadRequestError, StoreError
from baas_auth.middleware.decisions import (
    ROUTE_GUARD_KEY,
    Admit,
    EndpointCall,
    GateOptions,
    GuardCall,
    MiddlewareOptions,
)
from baas_auth.middleware.endpoint_bodies import BODY_TOO_LARGE, MAX_BODY_BYTES
from baas_auth.middleware.freshness import CacheFigures
from baas_auth.middleware.gate import Gate
from baas_auth.middleware.health import HealthCheck
from baas_auth.middleware.wiring import check_realm, check_wsgi_app
from baas_auth.realm import Realm
from baas_auth.realm.drivers import AS_IS, stamp_is_exact

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["AuthMiddleware"]

PRINCIPAL_KEY = "baas_auth.principal"


def _environ_key(header: str) -> str:
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"


# The request headers the decision reads, and their environ names.
_HEADERS = tuple((name, _environ_key(name)) for name in DECISION_HEADERS)
_RAW_URI_KEYS = ("RAW_URI", "REQUEST_URI")
# Every environ value the request is read from (``_read``): together they determine it.
_RECALL_KEYS = (
    "REQUEST_METHOD",
    "PATH_INFO",
    *_RAW_URI_KEYS,
    "QUERY_STRING",
    *(key for _, key in _HEADERS),
)


class AuthMiddleware:
    """Authenticate and authorize every request before ``app`` sees it (behaviour §2 to §6).

    Args:
        app: the WSGI application to protect, passed positionally.
        realm: the ``Realm`` that holds users, credentials, tokens and rules.
        options: ``application="org/app"`` for single-app mode (None: multi-tenant
            ``/{org}/{app}/…``), and the others of ``MiddlewareOptions`` (the README's table).
    """

    def __init__(
        self, app: WSGIApplication, realm: Realm, **options: Unpack[MiddlewareOptions]
    ) -> None:
        check_realm(realm, "baas_auth.wsgi.AuthMiddleware", async_ok=False)
        check_wsgi_app(app)
        self.app = app
        self.realm = realm
        self.options = GateOptions.build(**options)
        exact = stamp_is_exact(realm.store)
        self._gate = Gate(realm.state, self.options, remember_tokens=exact, read_request=_read)
        self._serve = realm.serve
        path = self.options.health_path
        self._health = None if path is None else HealthCheck(realm.state, path)
        with contextlib.suppress(StoreError):  # a store down at start-up: checked at a request
            realm.serve(AS_IS, self._gate.check_application())

    def __repr__(self) -> str:
        target = self.options.application
        mode = "multi-tenant" if target is None else f"application={'/'.join(target)!r}"
        return f"<baas_auth.wsgi.AuthMiddleware {mode} app={self.app!r}>"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        health = self._health
        if health is not None and environ.get("PATH_INFO") == health.path:
            # Answered here, before the decision: no credential read, nothing remembered.
            method = environ.get("REQUEST_METHOD", "")
            return _send(self._serve(AS_IS, health.answer(method)), start_response)
        # One call, keyed by the raw environ values the request is read from (so the steady
        # state reads no more): the decision remembered under the store's change stamp, else
        # the gate's flow run by the realm's driver.
        decision = self._serve(self._gate, tuple(map(environ.get, _RECALL_KEYS)))
        if type(decision) is Admit:  # the common case first
            return self._call_app(environ, start_response, decision)
        if isinstance(decision, EndpointCall):
            decision = self._answer(decision, environ)
        elif isinstance(decision, GuardCall):  # no rule allows it: a guard on the route may
            decision = self._gate.settle(decision, environ)
        if isinstance(decision, Response):
            return _send(decision, start_response)
        return self._call_app(environ, start_response, decision)

    def _answer(self, pending: EndpointCall, environ: WSGIEnvironment) -> Response:
        try:
            body = _read_body(environ) if pending.has_body else b""
        except BadRequestError as error:
            return self._gate.refuse_call(pending, error)
        return self._serve(AS_IS, self._gate.answer(pending, body))

    def cache_figures(self) -> CacheFigures:
        """How many entries each cache of this middleware's request path holds (``docs/
        design.md``, "Freshness"): for tests and monitoring; reading it changes nothing."""
        return self._gate.freshness.figures()

    def caches_hold(self, text: str) -> bool:
        """Whether ``text`` appears in anything this middleware remembers: for tests that no
        secret lingers in memory."""
        return self._gate.freshness.holds(text)

    def _call_app(
        self, environ: WSGIEnvironment, start_response: StartResponse, admit: Admit
    ) -> Iterable[bytes]:
        environ[PRINCIPAL_KEY] = admit.principal
        if admit.guarded:
            environ[ROUTE_GUARD_KEY] = True
        _scrub_environ(environ, admit.query_string)
        if admit.query_token:
            start_response = _private_when_ok(start_response)
        return self.app(environ, start_response)


def _read(key: tuple[str | None, ...]) -> RequestInfo:
    """The request of the raw environ values ``_RECALL_KEYS`` names (None: absent)."""
    method, path, raw_uri, request_uri, query, *values = key
    pairs = zip(_HEADERS, values, strict=True)
    headers = tuple([(name, value) for (name, _), value in pairs if value is not None])
    raw = raw_uri or request_uri
    return RequestInfo(  # positional: this runs on every request decided
        method or "",
        wsgi_route_path(path or ""),
        None if raw is None else _latin1(raw.partition("?")[0]),
        _latin1(query) if query else b"",
        headers,
    )


def _latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise BadRequestError("The request line holds characters a server cannot send") from None


def _scrub_environ(environ: WSGIEnvironment, query_string: bytes) -> None:
    """Show the inner app (and its access log) the query without credentials."""
    original = environ.get("QUERY_STRING", "")
    if not original:
        return
    scrubbed = query_string.decode("latin-1")
    if scrubbed == original:
        return
    environ["QUERY_STRING"] = scrubbed
    for key in _RAW_URI_KEYS:
        uri = environ.get(key)
        if isinstance(uri, str):
            path = uri.split("?", 1)[0]
            environ[key] = f"{path}?{scrubbed}" if scrubbed else path


def _read_body(environ: WSGIEnvironment) -> bytes:
    """The request body, read only up to one byte past the limit the endpoints accept."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequestError("Content-Length is not a number") from None
    if length > MAX_BODY_BYTES:  # a larger body is refused, never read in part (behaviour §6.2)
        raise BadRequestError(BODY_TOO_LARGE)
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length <= 0:
        # Without a length only a server that marks the input as terminated may be read to EOF.
        return stream.read(MAX_BODY_BYTES + 1) if environ.get("wsgi.input_terminated") else b""
    body: bytes = stream.read(min(length, MAX_BODY_BYTES + 1))
    return body


def _send(response: Response, start_response: StartResponse) -> list[bytes]:
    start_response(_status_line(response.status), list(response.headers))
    return [response.body]


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def _private_when_ok(start_response: StartResponse) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if status[:1] == "2":
            headers = private_cache_control(headers)
        return start_response(status, headers, exc_info)

    return start
