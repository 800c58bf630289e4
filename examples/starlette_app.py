"""A Starlette app (http and websocket) behind baas_auth in single-app mode (acme/shop).

Run ``python examples/starlette_app.py``, or ``uvicorn examples.starlette_app:app`` with
``BAAS_REALM=sqlite:///auth.db``.
"""

from __future__ import annotations

import contextlib
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from baas_auth import Realm
from baas_auth.asgi import AuthMiddleware
from baas_auth.errors import ConflictError

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


async def books(request: Request) -> JSONResponse:
    user = request.user  # the Principal: the middleware sets scope["user"]
    return JSONResponse({"user": user.display_name, "kind": user.kind, "books": BOOKS})


async def echo(websocket: WebSocket) -> None:
    """Reached only by callers the rules allow to ``get`` /ws."""
    await websocket.accept()
    await websocket.send_json({"hello": websocket.user.display_name})
    with contextlib.suppress(WebSocketDisconnect):
        async for message in websocket.iter_text():
            await websocket.send_text(message)


def build_app(realm: Realm) -> Starlette:
    starlette_app = Starlette(routes=[Route("/books", books), WebSocketRoute("/ws", echo)])
    # The three lines: one add_middleware; /token and the revoke endpoints come with it.
    starlette_app.add_middleware(AuthMiddleware, realm, application="acme/shop")
    return starlette_app


def seed(realm: Realm) -> None:
    """Org acme, app shop, user alice; signed-in users may read the books (a new app's roles
    have no rules: each permission is granted). Safe to run again."""
    with contextlib.suppress(ConflictError):
        realm.create_org("acme")
    with contextlib.suppress(ConflictError):
        realm.create_app("acme", "shop")
    realm.grant("acme", "shop", "get:/books/**", role="default")
    with contextlib.suppress(ConflictError):
        realm.create_user("acme", "shop", "alice", password="wonderland")


# BAAS_REALM picks the store: memory: (the default), sqlite:///auth.db, redis://localhost/0.
realm = Realm.open(os.environ.get("BAAS_REALM", "memory:"))
seed(realm)  # before build_app: the middleware checks that acme/shop exists
app = build_app(realm)

if __name__ == "__main__":
    import uvicorn

    print("curl -s http://127.0.0.1:8000/token -d grant_type=password -d username=alice "
          "-d password=wonderland")
    print('curl -i -H "Authorization: Bearer <access_token>" http://127.0.0.1:8000/books')
    # uvicorn's access log shows the query string as sent, access_token included: keep it off
    # if clients may send tokens in the query.
    uvicorn.run(app, host="127.0.0.1", port=8000, access_log=False)
