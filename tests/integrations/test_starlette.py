"""Starlette: ``scope["auth"]`` makes ``request.auth`` and ``@requires`` work; baas_auth's
``@require`` checks roles and rules and refuses as the middleware does (in process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from baas_auth import AsyncRealm, Realm, SQLiteStore
from baas_auth.asgi import AuthMiddleware
from baas_auth.integrations import AuthCredentials
from baas_auth.integrations.requirements import Requirement
from baas_auth.integrations.starlette import Refused, enforce, protect, require
from tests.conftest import FAST_HASHER
from tests.integrations.conftest import ASGIClient, World, seed


async def whoami(request: Request) -> JSONResponse:
    user = request.user
    return JSONResponse(
        {
            "user": user.display_name,
            "identity": user.identity,
            "is_authenticated": user.is_authenticated,
            "scopes": list(request.auth.scopes),
        }
    )


@requires("authenticated")
async def books(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"books for {request.user.display_name}")


@require(role="editor")
async def edit(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"edited by {request.user.username}")


@require(rule="put:/reports")
def report(request: Request) -> PlainTextResponse:  # a sync endpoint: run on a thread
    return PlainTextResponse("report")


class Shelf(HTTPEndpoint):
    @require(role="editor")
    async def put(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("shelved")


@require(role="editor")
async def editors_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hello {websocket.user.username}")
    await websocket.close()


async def raises_refused(request: Request) -> PlainTextResponse:
    refusal = await enforce(request, Requirement.build(role="editor"))
    if refusal is not None:
        raise Refused(refusal)
    return PlainTextResponse("not refused")


ROUTES = [
    Route("/whoami", whoami),
    Route("/books", books),
    Route("/books/edit", edit, methods=["PUT"]),
    Route("/books/report", report),
    Route("/books/shelf", Shelf),
    Route("/books/raise", raises_refused),
    WebSocketRoute("/books/socket", editors_socket),
]


def _app(realm: Realm | AsyncRealm, **options: object) -> Starlette:
    app = Starlette(routes=ROUTES)
    protect(app, realm, application="acme/shop", **options)  # type: ignore[arg-type]
    return app


@pytest.fixture
def client(world: World) -> ASGIClient:
    return ASGIClient(_app(world.realm))


def test_request_user_and_auth_for_an_app_user(world: World, client: ASGIClient) -> None:
    answer = client.get("/whoami", headers=world.bearer("alice"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"] == "alice"
    assert body["is_authenticated"] is True
    assert body["identity"] == world.realm.get_user("acme", "shop", "alice").uuid
    assert body["scopes"] == ["authenticated", "kind:app_user"]


def test_scopes_name_the_principals_kind(world: World, client: ASGIClient) -> None:
    answer = client.get("/whoami", headers=world.client_bearer(world.app_client))
    assert answer.json()["scopes"] == ["authenticated", "kind:app_client"]
    world.realm.grant("acme", "shop", "get:/whoami", role="guest")
    guest = client.get("/whoami").json()
    assert guest["scopes"] == ["kind:guest"]
    assert guest["is_authenticated"] is False


def test_starlettes_requires_authenticated(world: World, client: ASGIClient) -> None:
    answer = client.get("/books", headers=world.bearer("bob"))
    assert answer.status_code == 200
    assert answer.text == "books for bob"
    # A guest the rules let through is still refused by @requires("authenticated").
    world.realm.grant("acme", "shop", "get:/books", role="guest")
    assert client.get("/books").status_code == 403


def test_scope_auth_is_one_shared_immutable_value_per_kind(world: World) -> None:
    seen: list[object] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(scope["auth"])
        await PlainTextResponse("ok")(scope, receive, send)  # type: ignore[arg-type]

    client = ASGIClient(AuthMiddleware(app, world.realm, application="acme/shop"))  # type: ignore[arg-type]
    client.get("/books", headers=world.bearer("alice"))
    client.get("/books", headers=world.bearer("bob"))
    first, second = seen
    assert first is second
    assert isinstance(first, AuthCredentials)
    assert first.scopes == ("authenticated", "kind:app_user")


@pytest.mark.parametrize("username", ["alice", "carol"])
def test_require_role_admits_holders(world: World, client: ASGIClient, username: str) -> None:
    answer = client.put("/books/edit", headers=world.bearer(username))
    assert answer.status_code == 200
    assert answer.text == f"edited by {username}"


def test_require_role_refuses_as_the_middleware_does(world: World, client: ASGIClient) -> None:
    # The rules let bob send PUT /books/edit: the refusal is require()'s own.
    answer = client.put("/books/edit", headers=world.bearer("bob"))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    challenge = 'Bearer realm="acme/shop", error="insufficient_scope"'
    assert answer.headers["www-authenticate"] == challenge
    body = answer.json()
    assert body["error"] == "unauthorized"
    assert set(body) == {"error", "error_description", "timestamp", "duration"}


def test_require_refuses_the_guest_with_401(world: World, client: ASGIClient) -> None:
    world.realm.grant("acme", "shop", "put:/books/edit", role="guest")
    answer = client.put("/books/edit")
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert answer.headers["www-authenticate"].startswith('Bearer realm="acme/shop"')


def test_require_rule_on_a_sync_endpoint(world: World, client: ASGIClient) -> None:
    assert client.get("/books/report", headers=world.bearer("alice")).text == "report"
    assert client.get("/books/report", headers=world.bearer("bob")).status_code == 403


def test_require_on_an_endpoint_method(world: World, client: ASGIClient) -> None:
    assert client.put("/books/shelf", headers=world.bearer("carol")).text == "shelved"
    assert client.put("/books/shelf", headers=world.bearer("bob")).status_code == 403


def test_require_on_a_websocket(world: World, client: ASGIClient) -> None:
    admitted = client.websocket("/books/socket", world.bearer("alice"))
    assert [message["type"] for message in admitted] == [
        "websocket.accept", "websocket.send", "websocket.close"
    ]
    assert admitted[1]["text"] == "hello alice"
    # Refused before it is accepted, with the code the middleware refuses with.
    refused = client.websocket("/books/socket", world.bearer("bob"))
    assert [(message["type"], message["code"]) for message in refused] == [
        ("websocket.close", 1008)
    ]


def test_protect_renders_a_raised_refusal_as_the_middleware_does(
    world: World, client: ASGIClient
) -> None:
    answer = client.get("/books/raise", headers=world.bearer("bob"))
    assert answer.status_code == 403
    assert answer.json()["error"] == "unauthorized"
    assert client.get("/books/raise", headers=world.bearer("alice")).text == "not refused"


def test_usergrid_status_codes_apply_to_require_too(world: World) -> None:
    client = ASGIClient(_app(world.realm, usergrid_status_codes=True))
    assert client.put("/books/edit", headers=world.bearer("bob")).status_code == 401


def test_an_async_realm(world: World) -> None:
    client = ASGIClient(_app(world.async_realm()))
    assert client.put("/books/edit", headers=world.bearer("carol")).status_code == 200
    assert client.put("/books/edit", headers=world.bearer("bob")).status_code == 403


def test_a_sqlite_realm_checks_off_the_event_loop(tmp_path: Path, clock: object) -> None:
    realm = Realm(SQLiteStore(tmp_path / "auth.db"), password_hasher=FAST_HASHER)
    try:
        seed(realm)
        client = ASGIClient(_app(realm))
        for username, status in [("alice", 200), ("bob", 403)]:
            token = realm.password_token("acme", "shop", username, "wonderland").access_token
            headers = {"Authorization": f"Bearer {token}"}
            assert client.put("/books/edit", headers=headers).status_code == status
    finally:
        realm.close()


def test_multi_tenant_behind_a_mount(world: World) -> None:
    """The application of a principal with none of its own comes from the path the middleware
    routed, not the path below the Mount."""
    app = Starlette(routes=[Mount("/{org}/{app}", routes=ROUTES)])
    protect(app, world.realm)
    client = ASGIClient(app)
    assert client.get("/acme/shop/books/report", headers=world.admin_bearer()).status_code == 200
    assert client.put("/acme/shop/books/edit", headers=world.bearer("alice")).status_code == 200
    assert client.put("/acme/shop/books/edit", headers=world.bearer("bob")).status_code == 403
    # Admin users hold no app roles.
    assert client.put("/acme/shop/books/edit", headers=world.admin_bearer()).status_code == 403


def test_without_the_middleware_require_fails_loudly() -> None:
    client = ASGIClient(Starlette(routes=ROUTES))
    with pytest.raises(RuntimeError, match="add the middleware"):
        client.put("/books/edit")


def test_a_replaced_scope_auth_is_noticed(world: World) -> None:
    async def replace_auth(scope: dict[str, object], receive: object, send: object) -> None:
        await inner({**scope, "auth": object()}, receive, send)  # type: ignore[arg-type]

    inner = Starlette(routes=ROUTES)
    app = AuthMiddleware(replace_auth, world.realm, application="acme/shop")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="replaced"):
        ASGIClient(app).put("/books/edit", headers=world.bearer("alice"))


def test_middleware_listed_in_the_constructor(world: World) -> None:
    """``Starlette(middleware=[Middleware(AuthMiddleware, …)])`` works as add_middleware does."""
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(AuthMiddleware, world.realm, application="acme/shop")],
    )
    client = ASGIClient(app)
    assert client.get("/books", headers=world.bearer("bob")).status_code == 200
    # Without protect()'s handler the decorator still answers in the middleware's shape.
    assert client.put("/books/edit", headers=world.bearer("bob")).json()["error"] == "unauthorized"
