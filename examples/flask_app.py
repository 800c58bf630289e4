"""A Flask app behind baas_auth in single-app mode: the whole app is the application acme/shop.

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
from baas_auth.wsgi import AuthMiddleware

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


def build_app(realm: Realm) -> Flask:
    flask_app = Flask(__name__)

    @flask_app.get("/books")
    def books() -> Response:
        principal = request.environ["baas_auth.principal"]  # set by the middleware
        return jsonify(user=principal.display_name, kind=principal.kind, books=BOOKS)

    @flask_app.post("/books")
    def add_book() -> tuple[Response, int]:
        return jsonify(created=request.get_json(silent=True)), 201

    # The three lines: wrap the WSGI app; /token and /users/{user}/revoketokens come with it.
    flask_app.wsgi_app = AuthMiddleware(flask_app.wsgi_app, realm, application="acme/shop")
    return flask_app


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
    # Werkzeug's request log prints the raw query string, where an access_token may travel.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print("curl -s http://127.0.0.1:8000/token -d grant_type=password -d username=alice "
          "-d password=wonderland")
    print('curl -i -H "Authorization: Bearer <access_token>" http://127.0.0.1:8000/books')
    print("Serving on http://127.0.0.1:8000", flush=True)
    app.run(host="127.0.0.1", port=8000)
