"""A FastAPI app behind baas_auth in single-app mode (acme/shop); a dependency hands out the caller.

Run ``python examples/fastapi_app.py``, or ``uvicorn examples.fastapi_app:app`` with
``BAAS_REALM=sqlite:///auth.db``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from baas_auth import Principal, Realm
from baas_auth.asgi import AuthMiddleware
from baas_auth.errors import ConflictError

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


def current_principal(request: Request) -> Principal:
    """Who is calling; the middleware has already refused everyone the rules do not allow."""
    principal: Principal = request.scope["baas_auth.principal"]
    return principal


Caller = Annotated[Principal, Depends(current_principal)]


def build_app(realm: Realm) -> FastAPI:
    api = FastAPI(title="books")

    @api.get("/books")
    def books(caller: Caller) -> dict[str, object]:
        return {"user": caller.display_name, "kind": caller.kind, "books": BOOKS}

    # The three lines: one add_middleware; /token and the revoke endpoints come with it.
    # (The /docs pages are behind it too: grant guest "get:/docs,/openapi.json" to open them.)
    api.add_middleware(AuthMiddleware, realm, application="acme/shop")
    return api


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
