"""A FastAPI app behind baas_auth in single-app mode (acme/shop), with the FastAPI helpers:
``CurrentPrincipal`` hands out the caller, ``require(role="editor")`` guards a route, and
``/docs`` has a working Authorize button (a password grant at the middleware's ``/token``).

Run ``python examples/fastapi_app.py`` and open http://127.0.0.1:8000/docs, or
``uvicorn examples.fastapi_app:app`` with ``BAAS_REALM=sqlite:///auth.db``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Annotated

from fastapi import Depends, FastAPI

from baas_auth import Principal, Realm
from baas_auth.errors import ConflictError
from baas_auth.integrations.fastapi import CurrentPrincipal, docs_rule, protect, require

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]

Editor = Annotated[Principal, Depends(require(role="editor"))]


def build_app(realm: Realm) -> FastAPI:
    api = FastAPI(title="books")

    @api.get("/books")
    def books(caller: CurrentPrincipal) -> dict[str, object]:
        return {"user": caller.display_name, "kind": caller.kind, "books": BOOKS}

    @api.put("/books/{book_id}")
    def put_book(book_id: int, caller: Editor) -> dict[str, object]:
        # The rules let every signed-in user send PUT /books/…; only editors get this far.
        return {"updated": book_id, "by": caller.display_name}

    @api.delete("/books/{book_id}", dependencies=[Depends(require(role="editor"))])
    def delete_book(book_id: int) -> dict[str, object]:
        # No rule lets anyone send DELETE: the route's guard decides (docs/frameworks.md,
        # "Guards and rules"); a route with neither a rule nor a guard stays refused.
        return {"deleted": book_id}

    # The middleware, and the handler that renders require()'s refusals as the middleware's
    # own JSON; /token and the revoke endpoints come with it.
    protect(api, realm, application="acme/shop")
    # The docs pages are behind the middleware too: let anonymous callers read them.
    realm.grant("acme", "shop", docs_rule(api), role="guest")
    return api


def seed(realm: Realm) -> None:
    """Org acme, app shop, users alice (an editor) and bob; signed-in users may read the books
    and send PUT (a new app's roles have no rules: each permission is granted). Safe to run
    again."""
    with contextlib.suppress(ConflictError):
        realm.create_org("acme")
    with contextlib.suppress(ConflictError):
        realm.create_app("acme", "shop")
    realm.grant("acme", "shop", "get,put:/books/**", role="default")
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

    print("Open http://127.0.0.1:8000/docs, Authorize as alice / wonderland, or:")
    print("curl -s http://127.0.0.1:8000/token -d grant_type=password -d username=alice "
          "-d password=wonderland")
    print('curl -i -H "Authorization: Bearer <access_token>" http://127.0.0.1:8000/books')
    # uvicorn's access log shows the query string as sent, access_token included: keep it off
    # if clients may send tokens in the query.
    uvicorn.run(app, host="127.0.0.1", port=8000, access_log=False)
