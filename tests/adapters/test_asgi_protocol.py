"""The ASGI protocol around the decision: lifespan, websockets, request bodies read in chunks,
disconnects, and where the decision runs when the store blocks (SQLite)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.middleware.endpoint_bodies import MAX_BODY_BYTES
from tests.adapters.conftest import (
    PASSWORD,
    Call,
    Caller,
    World,
    call_asgi,
    http_scope,
    make_asgi_inner,
)

FORM = f"grant_type=password&username=alice&password={PASSWORD}".replace(" ", "+").encode()


class Wire:
    """Scripted ``receive`` and recording ``send`` for one connection."""

    def __init__(self, *incoming: dict[str, Any]) -> None:
        self.incoming = list(incoming)
        self.received: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        message = self.incoming.pop(0) if self.incoming else {"type": "http.disconnect"}
        self.received.append(message)
        return message

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def _asgi(world: World, **options: Any) -> tuple[AsgiAuth, list[Call]]:
    calls: list[Call] = []
    return AsgiAuth(make_asgi_inner(calls), world.realm, **options), calls


# -- lifespan ---------------------------------------------------------------------------------


def test_lifespan_passes_through_untouched(world: World) -> None:
    seen: dict[str, Any] = {}
    startup = {"type": "lifespan.startup"}
    wire = Wire(startup)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope=scope, receive=receive, send=send, message=await receive())
        await send({"type": "lifespan.startup.complete"})

    app = AsgiAuth(inner, world.realm)
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    asyncio.run(app(scope, wire.receive, wire.send))
    assert seen["scope"] is scope
    assert seen["message"] is startup
    assert seen["receive"] == wire.receive
    assert seen["send"] == wire.send
    assert wire.sent == [{"type": "lifespan.startup.complete"}]
    assert scope == {
        "type": "lifespan",
        "asgi": {"version": "3.0", "spec_version": "2.0"},
        "state": {},
    }


# -- websockets -------------------------------------------------------------------------------


def ws_scope(
    path: str,
    *,
    query: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    scope = http_scope(
        "GET", path, raw=path.encode(), query=query, headers=headers or [], kind="websocket"
    )
    scope["subprotocols"] = []
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


CONNECT = {"type": "websocket.connect"}


@pytest.mark.parametrize(
    ("path", "who", "kind"),
    [
        ("/acme/sandbox/ws", None, "guest"),
        ("/acme/shop/ws", "header", "app_user"),
        ("/acme/shop/ws", "query", "app_user"),
        ("/acme/vault/Books/live", "victor", "app_user"),
    ],
    ids=["guest", "header-token", "query-token", "rules-allow-get"],
)
def test_websocket_allowed(world: World, path: str, who: str | None, kind: str) -> None:
    app, calls = _asgi(world)
    headers: list[tuple[str, str]] = []
    query = b"x=1"
    if who == "header":
        headers = [("Authorization", f"Bearer {world.token('alice')}")]
    elif who == "query":
        query = f"x=1&access_token={world.token('alice')}".encode()
    elif who == "victor":
        headers = [("Authorization", f"Bearer {world.token('victor')}")]
    wire = Wire(CONNECT)
    asyncio.run(app(ws_scope(path, query=query, headers=headers), wire.receive, wire.send))
    assert [m["type"] for m in wire.sent] == ["websocket.accept", "websocket.close"]
    assert len(calls) == 1
    principal = calls[0].principal
    assert principal is not None
    assert principal.kind == kind
    assert calls[0].raw["user"] is principal
    assert calls[0].query == b"x=1"


REFUSALS = [
    ("no-credentials", "/acme/shop/ws", None, 401, "unauthorized"),
    ("forbidden", "/acme/vault/secrets", "victor", 403, "unauthorized"),
    ("bad-token", "/acme/shop/ws", "bad", 401, "auth_bad_access_token"),
    ("other-app", "/acme/vault/Books/x", "alice", 401, "unauthorized"),
    ("bad-path", "/acme/sandbox/../x", None, 400, "invalid_request"),
    ("token-endpoint", "/acme/sandbox/token", None, 400, "invalid_request"),
    ("revoke-endpoint", "/acme/shop/users/me/revoketokens", "alice", 400, "invalid_request"),
]


def _ws_headers(world: World, who: str | None) -> list[tuple[str, str]]:
    if who is None:
        return []
    return [("Authorization", f"Bearer {'abc' if who == 'bad' else world.token(who)}")]


@pytest.mark.parametrize(
    ("path", "who", "status", "error"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_websocket_refused_closes_before_accepting(
    world: World, path: str, who: str | None, status: int, error: str
) -> None:
    app, calls = _asgi(world)
    wire = Wire(CONNECT)
    asyncio.run(app(ws_scope(path, headers=_ws_headers(world, who)), wire.receive, wire.send))
    assert wire.received == [CONNECT]
    assert wire.sent == [{"type": "websocket.close", "code": 1008}]
    assert not calls


@pytest.mark.parametrize(
    ("path", "who", "status", "error"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_websocket_refused_with_an_http_response(
    world: World, path: str, who: str | None, status: int, error: str
) -> None:
    app, calls = _asgi(world)
    wire = Wire(CONNECT)
    scope = ws_scope(
        path, headers=_ws_headers(world, who), extensions={"websocket.http.response": {}}
    )
    asyncio.run(app(scope, wire.receive, wire.send))
    assert wire.received == [CONNECT]
    assert [m["type"] for m in wire.sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    start, body = wire.sent
    assert start["status"] == status
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/json"
    token_endpoint_400 = path.endswith("/token")  # token-endpoint 400s carry no challenge
    assert (b"www-authenticate" in headers) == (not token_endpoint_400)
    assert json.loads(body["body"])["error"] == error
    assert not calls


def test_websocket_that_disconnects_before_connecting_gets_nothing(world: World) -> None:
    app, calls = _asgi(world)
    wire = Wire({"type": "websocket.disconnect", "code": 1001})
    asyncio.run(app(ws_scope("/acme/shop/ws"), wire.receive, wire.send))
    assert wire.sent == []
    assert not calls


# -- request bodies -----------------------------------------------------------------------------


def _token_scope(
    path: str = "/acme/shop/token", content_type: str = "application/x-www-form-urlencoded"
) -> dict[str, Any]:
    return http_scope("POST", path, raw=path.encode(), headers=[("content-type", content_type)])


@pytest.mark.parametrize(
    "chunks",
    [
        [FORM],
        [FORM[:5], FORM[5:20], FORM[20:]],
        [b"", *[FORM[i : i + 1] for i in range(len(FORM))], b""],
    ],
    ids=["one", "three", "byte-by-byte"],
)
def test_body_read_in_chunks(world: World, chunks: list[bytes]) -> None:
    app, calls = _asgi(world)
    answer = asyncio.run(call_asgi(app, _token_scope(), chunks))
    assert answer.status == 200, answer.body
    token = answer.json()["access_token"]
    assert world.realm.authenticate_token(token).username == "alice"
    assert not calls


def test_json_body_split_mid_value(world: World) -> None:
    app, _ = _asgi(world)
    body = json.dumps(
        {"grant_type": "password", "username": "alice", "password": PASSWORD}
    ).encode()
    answer = asyncio.run(
        call_asgi(app, _token_scope(content_type="application/json"), [body[:17], body[17:]])
    )
    assert answer.status == 200, answer.body


@pytest.mark.parametrize(
    "chunks",
    [
        [b"a=" + b"x" * (MAX_BODY_BYTES + 1)],
        [b"a=" + b"x" * 30_000] * 3,
        [b"{" + b" " * MAX_BODY_BYTES, b"}"],
    ],
    ids=["one-chunk", "three-chunks", "json-just-over"],
)
def test_oversized_body_is_400(world: World, chunks: list[bytes]) -> None:
    app, calls = _asgi(world)
    answer = asyncio.run(call_asgi(app, _token_scope(), chunks))
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"
    assert not calls


def test_oversized_body_is_400_on_both_adapters(caller: Caller) -> None:
    response = caller.post("/acme/shop/token", content=FORM + b"&pad=" + b"x" * MAX_BODY_BYTES)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_body_at_the_limit_is_read(caller: Caller) -> None:
    padding = MAX_BODY_BYTES - len(FORM) - len(b"&pad=")
    response = caller.post(
        "/acme/shop/token",
        content=FORM + b"&pad=" + b"x" * padding,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("after", [0, 1, 2])
def test_client_disconnect_while_reading_sends_nothing(world: World, after: int) -> None:
    app, calls = _asgi(world)
    parts = [
        {"type": "http.request", "body": FORM[i : i + 4], "more_body": True}
        for i in range(0, 12, 4)
    ]
    wire = Wire(*parts[:after], {"type": "http.disconnect"})
    asyncio.run(app(_token_scope(), wire.receive, wire.send))
    assert wire.sent == []
    assert wire.received[-1] == {"type": "http.disconnect"}
    assert not calls


# -- where the decision runs ----------------------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["sqlite"])
@pytest.mark.parametrize(
    "request_kind", ["token-header", "token-endpoint", "guest", "websocket", "revoke"]
)
def test_sqlite_decisions_run_off_the_event_loop_thread(world: World, request_kind: str) -> None:
    app, _ = _asgi(world)
    token = world.token("alice")
    loop_threads: list[threading.Thread] = []

    async def run() -> Any:
        loop_threads.append(threading.current_thread())
        auth = [("Authorization", f"Bearer {token}")]
        if request_kind == "token-header":
            return await call_asgi(app, http_scope("GET", "/acme/shop/books", headers=auth), [b""])
        if request_kind == "token-endpoint":
            return await call_asgi(app, _token_scope(), [FORM[:9], FORM[9:]])
        if request_kind == "guest":
            return await call_asgi(app, http_scope("POST", "/acme/shop/users"), [b""])
        if request_kind == "revoke":
            scope = http_scope("PUT", "/acme/shop/users/me/revoketokens", headers=auth)
            return await call_asgi(app, scope, [b""])
        wire = Wire(CONNECT)
        await app(ws_scope("/acme/shop/ws", headers=auth), wire.receive, wire.send)
        return wire.sent

    world.store.recording = True
    result = asyncio.run(run())
    world.store.recording = False
    if request_kind == "websocket":
        assert result[0]["type"] == "websocket.accept"
    else:
        assert result.status == 200, result.body
    assert world.store.threads, "the decision touched the store"
    assert loop_threads[0] not in world.store.threads
    # Every store call on the store thread (the KDF has a pool of its own, see
    # tests/security/test_password_grants.py).
    assert all(t.name.startswith("baas-auth-store") for t in world.store.threads)
    # The freshness check alone runs on the loop: it reads shared memory, never the file.
    assert all(thread is loop_threads[0] for thread in world.store.stamp_threads)


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_sqlite_store_down_is_503_on_asgi(world: World) -> None:
    app, calls = _asgi(world)
    token = world.token("alice")
    world.store.down = True
    scope = http_scope("GET", "/acme/shop/books", headers=[("Authorization", f"Bearer {token}")])
    answer = asyncio.run(call_asgi(app, scope, [b""]))
    assert answer.status == 503
    assert answer.json()["error"] == "service_unavailable"
    assert answer.header("www-authenticate") == []
    assert not calls
