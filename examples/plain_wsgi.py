"""A plain WSGI app behind baas_auth in multi-tenant mode (``/{org}/{app}/…``), served by wsgiref.

Run ``python examples/plain_wsgi.py``, then follow the curl commands it prints.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from baas_auth import Realm
from baas_auth.errors import ConflictError
from baas_auth.wsgi import AuthMiddleware

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


def books_api(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The app to protect: it never checks credentials itself."""
    principal = environ["baas_auth.principal"]  # who is calling, set by the middleware
    body = json.dumps(
        {"path": environ["PATH_INFO"], "user": principal.display_name, "books": BOOKS}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def build_app(realm: Realm) -> AuthMiddleware:
    # The three lines of baas_auth: a realm, the middleware around the app, done.
    return AuthMiddleware(books_api, realm)


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


class QuietHandler(WSGIRequestHandler):
    """wsgiref's default log prints the raw request line, query credentials included."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log_message('"%s %s" %s', self.command, self.path.split("?")[0], code)

    def log_error(self, format: str, *args: Any) -> None:
        self.log_message("refused a malformed request")


if __name__ == "__main__":
    url = "http://127.0.0.1:8000/acme/shop"
    print(f"curl -i {url}/books                       # 401: no credentials")
    print(f"curl -s {url}/token -d grant_type=password -d username=alice -d password=wonderland")
    print(f'curl -i -H "Authorization: Bearer <access_token>" {url}/books')
    with make_server("127.0.0.1", 8000, app, handler_class=QuietHandler) as server:
        print("Serving on http://127.0.0.1:8000", flush=True)
        server.serve_forever()
