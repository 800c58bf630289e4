"""The Django app of the route-guard tests on real servers (see ``guard_apps``): a one-file
project, ``DELETE /shelves/{id}`` guarded, ``POST /secret`` and a static view without a guard."""

from __future__ import annotations

import os

from django.conf import settings  # type: ignore[import-untyped]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        MIDDLEWARE=["baas_auth.integrations.django.AuthMiddleware"],
        INSTALLED_APPS=[],
        BAAS_AUTH={"REALM": os.environ["BAAS_REALM"], "APPLICATION": "acme/shop"},
    )

from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped]
from django.http import HttpRequest, JsonResponse  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]

from baas_auth.integrations.django import require
from tests.integration.guard_apps import ran


@require(role="editor")
def delete_shelf(request: HttpRequest, shelf_id: int) -> JsonResponse:
    ran("django-delete")
    return JsonResponse({"deleted": shelf_id})


def secret(request: HttpRequest) -> JsonResponse:
    ran("django-secret")
    return JsonResponse({"secret": True})


def static_file(request: HttpRequest, name: str) -> JsonResponse:
    ran("django-static")
    return JsonResponse({"file": name})


urlpatterns = [
    path("shelves/<int:shelf_id>", delete_shelf),
    path("secret", secret),
    path("files/<path:name>", static_file),
]
app = get_wsgi_application()
