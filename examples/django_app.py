"""A one-file Django project behind baas_auth in single-app mode (the application acme/shop),
with the Django helpers: ``baas_auth.integrations.django.AuthMiddleware`` named in
``MIDDLEWARE`` and configured by ``settings.BAAS_AUTH``; views read ``request.principal`` (and
``request.user``, as ``django.contrib.auth`` is not installed here); ``@require(role=…)``.

Run ``python examples/django_app.py``, or ``gunicorn examples.django_app:app`` with
``BAAS_REALM=sqlite:///auth.db`` so that every worker shares one realm.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings  # type: ignore[import-untyped]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret"),
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        # First in the list, so that it decides before any other middleware reads the request.
        MIDDLEWARE=["baas_auth.integrations.django.AuthMiddleware"],
        INSTALLED_APPS=[],
        # BAAS_REALM picks the store: memory: (the default), sqlite:///auth.db, redis://…
        BAAS_AUTH={"REALM": os.environ.get("BAAS_REALM", "memory:"), "APPLICATION": "acme/shop"},
    )

# Django reads its settings on import of these modules, so they come after configure().
from django.core.handlers.wsgi import WSGIHandler  # type: ignore[import-untyped]
from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped]
from django.http import HttpRequest, JsonResponse  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]
from django.views.decorators.http import require_http_methods  # type: ignore[import-untyped]

from baas_auth import Realm
from baas_auth.errors import ConflictError
from baas_auth.integrations.django import require

View = TypeVar("View", bound=Callable[..., Any])
BOOKS = [{"id": 1, "title": "The Hobbit"}, {"id": 2, "title": "Dune"}]


def books(request: HttpRequest) -> JsonResponse:
    principal = request.principal  # set by the middleware (as is request.META[PRINCIPAL_KEY])
    return JsonResponse({"user": principal.display_name, "kind": principal.kind, "books": BOOKS})


# Django routes by path, not by method: a view says which methods it answers (405 otherwise).
only_put_and_delete: Callable[[View], View] = require_http_methods(["PUT", "DELETE"])


@only_put_and_delete
@require(role="editor")  # the role is looked up in the realm; 403 without it
def edit_book(request: HttpRequest, book_id: int) -> JsonResponse:
    # request.user is a PrincipalUser here: django.contrib.auth is not installed.
    by = request.user.get_username()
    if request.method == "DELETE":  # no rule allows DELETE: this view's guard decides
        return JsonResponse({"deleted": book_id, "by": by})
    return JsonResponse({"updated": book_id, "by": by})


urlpatterns = [
    path("books", books),
    path("books/", books),
    path("books/<int:book_id>", edit_book),
]


def build_app(realm: Realm) -> WSGIHandler:
    # Django's own WSGI app: the middleware is in MIDDLEWARE, configured by settings.BAAS_AUTH;
    # /token and the revoke endpoints come with it. A settings.py names the realm by its URL;
    # this one-file project hands the middleware the Realm object itself, so that it serves the
    # realm just seeded (a memory: realm opened twice would be two realms).
    settings.BAAS_AUTH = {"REALM": realm, "APPLICATION": "acme/shop"}
    return get_wsgi_application()


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
