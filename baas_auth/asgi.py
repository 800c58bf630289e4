"""ASGI adapter: ``AuthMiddleware(app, realm, …)`` for http and websocket; lifespan passes through.

The only module that knows the ASGI scope. One call per request to the realm's driver on the event
loop (``AsyncRealm.serve``; for a ``Realm``, whose own driver blocks, its ``BridgeDriver``), which
gives the decision remembered under the store's change stamp or runs the gate's flow: with an
``AsyncRealm`` its store is awaited; with a ``Realm`` whose store blocks (SQLite), each store call
runs on one dedicated thread; with the memory store, inline. The password KDF always runs on a
small pool of its own: a burst of password grants must not delay requests that carry a token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, TypeVar

from typing_extensions import Unpack

from baas_auth.core.cache_control import private_cache_control
from baas_auth.core.credential_names import DECISION_HEADERS
from baas_auth.core.http import RequestInfo, Response
from baas_auth.core.paths import strip_root_path
from baas_auth.errors import BadRequestError, StoreError
from baas_auth.middleware.admission import Guard, credentials_by_kind
from baas_auth.middleware.decisions import (
    ROUTE_GUARD_KEY,
    Admit,
    Decision,
    EndpointCall,
    GateOptions,
    GuardCall,
    MiddlewareOptions,
)
from baas_auth.middleware.endpoint_bodies import BODY_TOO_LARGE, MAX_BODY_BYTES
from baas_auth.middleware.freshness import CacheFigures
from baas_auth.middleware.gate import Gate
from baas_auth.middleware.health import HealthCheck
from baas_auth.middleware.wiring import check_asgi_app, check_realm
from baas_auth.realm import AsyncRealm, Realm
from baas_auth.realm.async_drivers import bridge
from baas_auth.realm.drivers import AS_IS, stamp_is_exact

__all__ = ["AuthMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
T = TypeVar("T")

PRINCIPAL_KEY = "baas_auth.principal"
_WANTED_NAMES = {name.encode("latin-1"): name for name in DECISION_HEADERS}
_WS_HTTP_RESPONSE = "websocket.http.response"
_POLICY_VIOLATION = 1008


class AuthMiddleware:
    """Authenticate and authorize every http and websocket connection before ``app`` sees it.

    Args:
        app: the ASGI application to protect, passed positionally.
        realm: the ``Realm`` that holds users, credentials, tokens and rules.
        options: ``application="org/app"`` for single-app mode (None: multi-tenant
            ``/{org}/{app}/…``), and the others of ``MiddlewareOptions`` (the README's table).
    """

    def __init__(
        self, app: ASGIApp, realm: Realm | AsyncRealm, **options: Unpack[MiddlewareOptions]
    ) -> None:
        check_realm(realm, "baas_auth.asgi.AuthMiddleware", async_ok=True)
        check_asgi_app(app)
        self.app = app
        self.realm = realm
        self.options = GateOptions.build(**options)
        self._gate = Gate(realm.state, self.options, remember_tokens=stamp_is_exact(realm.store))
        self._serve = realm.serve if isinstance(realm, AsyncRealm) else bridge(realm.store).serve
        path = self.options.health_path
        self._health = None if path is None else HealthCheck(realm.state, path)
        # scope["auth"] per principal kind, made once: Starlette's request.auth and @requires,
        # and the realm that baas_auth's framework helpers check roles and rules with.
        self._auth = credentials_by_kind(Guard(realm, self.options))
        if isinstance(realm, Realm):  # an AsyncRealm cannot be read before the loop runs
            with contextlib.suppress(StoreError):  # a store down at start-up: at a request
                realm.serve(AS_IS, self._gate.check_application())

    def __repr__(self) -> str:
        target = self.options.application
        mode = "multi-tenant" if target is None else f"application={'/'.join(target)!r}"
        return f"<baas_auth.asgi.AuthMiddleware {mode} app={self.app!r}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._other_scope(scope, receive, send)
            return
        try:
            request = _request_info(scope, False)
        except BadRequestError as error:
            await _send_response(scope, receive, send, self._gate.refusal(error, None))
            return
        health = self._health
        if health is not None and request.path == health.path:
            # Answered here, before the decision: no credential read, nothing remembered.
            answer = await self._serve(AS_IS, health.answer(request.method))
            await _send_response(scope, receive, send, answer)
            return
        # One call: the decision remembered under the store's change stamp (the steady state
        # ends there, one coroutine deep), else the gate's flow run by the realm's driver.
        decision = await self._serve(self._gate, request)
        if type(decision) is not Admit:
            await self._finish(scope, receive, send, decision)
            return
        await self.app(self._child_scope(scope, decision), receive, _send_for(send, decision))

    def cache_figures(self) -> CacheFigures:
        """How many entries each cache of this middleware's request path holds (``docs/
        design.md``, "Freshness"): for tests and monitoring; reading it changes nothing."""
        return self._gate.freshness.figures()

    def caches_hold(self, text: str) -> bool:
        """Whether ``text`` appears in anything this middleware remembers: for tests that no
        secret lingers in memory."""
        return self._gate.freshness.holds(text)

    async def _other_scope(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        if kind != "websocket":
            # The ASGI spec: an app raises on a scope type it does not know. Passing it on
            # unchecked would hand the inner app a request nobody authorized.
            raise ValueError(f"baas_auth.asgi.AuthMiddleware: unknown scope type {kind!r}")
        try:
            request = _request_info(scope, True)
        except BadRequestError as error:
            await _refuse_websocket(scope, receive, send, self._gate.refusal(error, None))
            return
        decision = await self._serve(AS_IS, self._gate.decide(request, websocket=True))
        await self._finish(scope, receive, send, decision, websocket=True)

    async def _finish(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        decision: Decision,
        *,
        websocket: bool = False,
    ) -> None:
        if isinstance(decision, GuardCall):  # no rule allows it: a guard on the route may
            decision = self._gate.settle(decision, scope)
        if isinstance(decision, EndpointCall):
            answer = await self._answer(decision, receive)
            if answer is None:
                return  # the client went away while its body was read
            decision = answer
        if isinstance(decision, Response):
            await (_refuse_websocket if websocket else _send_response)(
                scope, receive, send, decision
            )
            return
        await self.app(self._child_scope(scope, decision), receive, _send_for(send, decision))

    async def _answer(self, pending: EndpointCall, receive: Receive) -> Response | None:
        """The endpoint's answer, its body read from ``receive`` (None: the client left)."""
        body = await _read_body(receive) if pending.has_body else b""
        if body is None:
            return None
        if len(body) > MAX_BODY_BYTES:
            return self._gate.refuse_call(pending, BadRequestError(BODY_TOO_LARGE))
        return await self._serve(AS_IS, self._gate.answer(pending, body))

    def _child_scope(self, scope: Scope, admit: Admit) -> Scope:
        child = dict(scope)  # the caller's scope is never mutated
        child[PRINCIPAL_KEY] = admit.principal
        if admit.guarded:
            child[ROUTE_GUARD_KEY] = True
        if admit.principal is not None:
            child["user"] = admit.principal
            child["auth"] = self._auth[admit.principal.kind]
        if admit.query_string != scope.get("query_string", b""):
            child["query_string"] = admit.query_string
        return child


def _send_for(send: Send, admit: Admit) -> Send:
    return _private_when_ok(send) if admit.query_token else send


def _request_info(scope: Scope, websocket: bool) -> RequestInfo:
    root_path = scope.get("root_path", "")
    path = scope.get("path", "")
    return RequestInfo(  # positional: this runs on every request
        "GET" if websocket else scope.get("method", ""),
        strip_root_path(path, root_path) if root_path or not path else path,
        scope.get("raw_path"),
        scope.get("query_string", b""),
        _decision_headers(scope.get("headers", ())),
    )


def _decision_headers(raw: Iterable[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    """The headers the decision reads, in arrival order, names as the decision compares them.

    One dict lookup per header in the common case (names as servers send them); only a name
    with upper case or ``_`` is normalised, since it may spell a header the decision reads.
    """
    headers = []
    for name, value in raw:
        wanted = _WANTED_NAMES.get(name)
        if wanted is None:
            if name.islower() and b"_" not in name:
                continue  # a header the decision does not read, as servers send it
            wanted = _WANTED_NAMES.get(_header_name(name))
            if wanted is None:
                continue
        headers.append((wanted, value.decode("latin-1")))
    return tuple(headers)


def _header_name(name: bytes) -> bytes:
    """A header name as the decision compares it: lower-case, ``_`` read as ``-``.

    Servers may pass ``X_HTTP_Method_Override`` on unchanged, and a WSGI bridge or framework
    behind this middleware may read it as ``X-HTTP-Method-Override`` (both become
    ``HTTP_X_HTTP_METHOD_OVERRIDE`` in an environ): the spellings must be one header here too.
    """
    return name.lower().replace(b"_", b"-")


async def _read_body(receive: Receive) -> bytes | None:
    """The body, read only up to one byte past the limit (so a larger one is seen as such, and
    never truncated into a valid one); None if the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _raw_headers(response: Response) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]


async def _send_response(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": _raw_headers(response),
        }
    )
    await send({"type": "http.response.body", "body": response.body})


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    """Refuse before accepting: a real HTTP answer where the server offers one, else a close."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if _WS_HTTP_RESPONSE in scope.get("extensions", {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": response.status,
                "headers": _raw_headers(response),
            }
        )
        await send({"type": "websocket.http.response.body", "body": response.body})
        return
    await send({"type": "websocket.close", "code": _POLICY_VIOLATION})


def _private_when_ok(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
            raw = message.get("headers", ())  # optional in the ASGI spec
            pairs = [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in raw]
            message = {
                **message,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))  # ASGI: lower-case names
                    for k, v in private_cache_control(pairs)
                ],
            }
        await send(message)

    return wrapped
