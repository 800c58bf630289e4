"""A Flask app behind baas_auth in single-app mode: the whole app is the application acme/shop.
``init_app`` wraps it, ``current_principal`` is the caller, ``@require(role=…)`` guards a view.

Run ``python examples/flask_app.py``, or ``gunicorn examples.flask_app:app`` with
``BAAS_REALM=sqlite:///auth.db`` so that every worker shares one realm.
"""

from __future__ import annotations

import contextlib
import logging
import os

from flask import Flask, Response, jsonify, request

from baas_auth import Realm
from baas_auth.errors import ConflictError
from baas_auth.integrations.flask import current_principal, init_app, require

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


def build_app(realm: Realm) -> Flask:
    flask_app = Flask(__name__)

    @flask_app.get("/books")
    def books() -> Response:
        return jsonify(user=current_principal.display_name, kind=current_principal.kind,
                       books=BOOKS)

    @flask_app.post("/books")
    @require()  # any signed-in caller; the guest gets 401 even if guest rules allowed POST
    def add_book() -> tuple[Response, int]:
        return jsonify(created=request.get_json(silent=True)), 201

    @flask_app.put("/books/<int:book_id>")
    @require(role="editor")  # the role is looked up in the realm; 403 without it
    def put_book(book_id: int) -> Response:
        return jsonify(updated=book_id, by=current_principal.username)

    @flask_app.delete("/books/<int:book_id>")
    @require(role="editor")  # no rule allows DELETE: this guard decides (either order)
    def delete_book(book_id: int) -> Response:
        return jsonify(deleted=book_id, by=current_principal.username)

    @flask_app.get("/profile")
    @require()  # no rule names /profile: any signed-in caller, decided by the guard
    def profile() -> Response:
        return jsonify(user=current_principal.username, kind=current_principal.kind)

    # The three lines: wrap the WSGI app; /token and /users/{user}/revoketokens come with it.
    init_app(flask_app, realm, application="acme/shop")
    return flask_app


def seed(realm: Realm) -> None:
    """Org acme, app shop, users alice (an editor) and bob; signed-in users may read the books
    and send POST and PUT (a new app's roles have no rules: each permission is granted). Safe
    to run again."""
    with contextlib.suppress(ConflictError):
        realm.create_org("acme")
    with contextlib.suppress(ConflictError):
        realm.create_app("acme", "shop")
    realm.grant("acme", "shop", "get,post,put:/books/**", role="default")
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
    # Werkzeug's request log prints the raw query string, where an access_token may travel.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print("curl -s http://127.0.0.1:8000/token -d grant_type=password -d username=alice "
          "-d password=wonderland")
    print('curl -i -H "Authorization: Bearer <access_token>" http://127.0.0.1:8000/books')
    print("Serving on http://127.0.0.1:8000", flush=True)
    app.run(host="127.0.0.1", port=8000)
