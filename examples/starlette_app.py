"""A Starlette app (http and websocket) behind baas_auth in single-app mode (acme/shop), with
Starlette's own idioms: ``request.user`` is the principal, ``request.auth.scopes`` its scopes,
Starlette's ``@requires("authenticated")`` works, and baas_auth's ``@require(role=…)`` checks
a role.

Run ``python examples/starlette_app.py``, or ``uvicorn examples.starlette_app:app`` with
``BAAS_REALM=sqlite:///auth.db``.
"""

from __future__ import annotations

import contextlib
import os

from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from baas_auth import Realm
from baas_auth.errors import ConflictError
from baas_auth.integrations.starlette import protect, require

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


async def books(request: Request) -> JSONResponse:
    user = request.user  # the Principal (the guest too, where guest rules allow the request)
    return JSONResponse({"user": user.display_name, "kind": user.kind, "books": BOOKS})


@requires("authenticated")  # Starlette's decorator: reads request.auth.scopes
async def whoami(request: Request) -> JSONResponse:
    # The middleware sets scope["user"] (the Principal) and scope["auth"] (its scopes).
    return JSONResponse({"user": request.user.display_name, "scopes": list(request.auth.scopes)})


@require(role="editor")  # baas_auth's: the role is looked up in the realm; 403 without it
async def put_book(request: Request) -> JSONResponse:
    return JSONResponse({"updated": request.path_params["book_id"], "by": request.user.username})


@require(role="editor")  # no rule allows DELETE: this guard decides, for editors only
async def delete_book(request: Request) -> JSONResponse:
    return JSONResponse({"deleted": request.path_params["book_id"], "by": request.user.username})


async def echo(websocket: WebSocket) -> None:
    """Reached only by callers the rules allow to ``get`` /ws."""
    await websocket.accept()
    await websocket.send_json({"hello": websocket.user.display_name})
    with contextlib.suppress(WebSocketDisconnect):
        async for message in websocket.iter_text():
            await websocket.send_text(message)


def build_app(realm: Realm) -> Starlette:
    starlette_app = Starlette(
        routes=[
            Route("/books", books),
            Route("/books/{book_id:int}", put_book, methods=["PUT"]),
            Route("/books/{book_id:int}", delete_book, methods=["DELETE"]),
            Route("/whoami", whoami),
            WebSocketRoute("/ws", echo),
        ]
    )
    # The middleware, and the handler for refusals; /token and the revoke endpoints come with
    # it. The same as starlette_app.add_middleware(baas_auth.asgi.AuthMiddleware, …) plus one
    # add_exception_handler.
    protect(starlette_app, realm, application="acme/shop")
    return starlette_app


def seed(realm: Realm) -> None:
    """Org acme, app shop, users alice (an editor) and bob; signed-in users may read the books,
    send PUT, and ask /whoami (a new app's roles have no rules: each permission is granted).
    Safe to run again."""
    with contextlib.suppress(ConflictError):
        realm.create_org("acme")
    with contextlib.suppress(ConflictError):
        realm.create_app("acme", "shop")
    realm.grant("acme", "shop", "get,put:/books/**", role="default")
    realm.grant("acme", "shop", "get:/whoami", role="default")
    with contextlib.suppress(ConflictError):
        realm.create_role("acme", "shop", "editor")
    for name in ("alice", "bob"):
        with contextlib.suppress(ConflictError):
            realm.create_user("acme", "shop", name, password="wonderland")
    realm.assign_role("acme", "shop", "editor", user="alice")


# BAAS_REALM picks the store: memory: (the default), sqlite:///auth.db, redis://localhost/0.
realm = Realm.open(os.environ.get("BAAS_REALM", "memory:"))
seed(realm)  # before build_app: the middleware checks that acme/shop exists
app = build_app(realm)

if __name__ == "__main__":
    import uvicorn

    print("curl -s http://127.0.0.1:8000/token -d grant_type=password -d username=alice "
          "-d password=wonderland")
    print('curl -i -H "Authorization: Bearer <access_token>" http://127.0.0.1:8000/whoami')
    # uvicorn's access log shows the query string as sent, access_token included: keep it off
    # if clients may send tokens in the query.
    uvicorn.run(app, host="127.0.0.1", port=8000, access_log=False)
