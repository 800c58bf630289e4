"""A one-file Django project behind baas_auth in single-app mode (the application acme/shop).

Run ``python examples/django_app.py``, or ``gunicorn examples.django_app:app`` with
``BAAS_REALM=sqlite:///auth.db`` so that every worker shares one realm.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret"),
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )

# Django reads its settings on import of these modules, so they come after configure().
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

from baas_auth import Realm
from baas_auth.errors import ConflictError
from baas_auth.wsgi import AuthMiddleware

BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


def books(request: HttpRequest) -> JsonResponse:
    principal = request.META["baas_auth.principal"]  # the WSGI environ, set by the middleware
    return JsonResponse({"user": principal.display_name, "kind": principal.kind, "books": BOOKS})


urlpatterns = [path("books", books), path("books/", books)]


def build_app(realm: Realm) -> AuthMiddleware:
    # The three lines: Django's WSGI app, wrapped; /token and the revoke endpoints come with it.
    return AuthMiddleware(get_wsgi_application(), realm, application="acme/shop")


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
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        """wsgiref's default log prints the raw request line, query credentials included."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            self.log_message('"%s %s" %s', self.command, self.path.split("?")[0], code)

        def log_error(self, format: str, *args: Any) -> None:
            self.log_message("refused a malformed request")

    print("curl -s http://127.0.0.1:8000/token -d grant_type=password -d username=alice "
          "-d password=wonderland")
    print('curl -i -H "Authorization: Bearer <access_token>" http://127.0.0.1:8000/books')
    with make_server("127.0.0.1", 8000, app, handler_class=QuietHandler) as server:
        print("Serving on http://127.0.0.1:8000", flush=True)
        server.serve_forever()
