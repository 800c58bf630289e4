"""A Django site with ``django.contrib.auth`` and its admin behind baas_auth's ``MIDDLEWARE``
entry, for a real server: ``app`` (gunicorn) on the realm ``$BAAS_REALM`` names (acme/shop,
with ``CORS_PREFLIGHT``) and Django's own database ``$DJANGO_DB``; ``python -m
tests.integration.django_site setup`` makes its tables and the staff user ``root``.

Views: ``/books/private`` (``@login_required``), ``/books/save-me`` (tries to save
``request.user``), the admin on ``/admin/`` (left to Django's session login by a guest rule),
and Django REST framework views with baas_auth's classes under ``/books/api/``."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
        ],
        MIDDLEWARE=[
            "baas_auth.integrations.django.AuthMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_DB"]}
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        STATIC_URL="/static/",
        LOGIN_URL="/admin/login/",
        BAAS_AUTH={
            "REALM": os.environ["BAAS_REALM"],
            "APPLICATION": "acme/shop",
            "CORS_PREFLIGHT": True,
        },
    )

import django  # after configure(), as are the imports below: they read the settings

django.setup()

from django.contrib import admin  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.renderers import JSONRenderer  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from baas_auth.integrations.django_rest import (  # noqa: E402
    BaasAuthentication,
    IsSignedIn,
    RulesAllow,
    has_role,
)


def _user(request: HttpRequest) -> dict[str, object]:
    user = request.user
    return {
        "class": user.__class__.__name__,
        "username": user.get_username(),
        "pk": user.pk,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }


@login_required
def private(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_user(request))


@login_required
def save_me(request: HttpRequest) -> JsonResponse:
    try:
        request.user.save()
    except NotImplementedError as error:
        return JsonResponse({"saved": False, "error": type(error).__name__})
    return JsonResponse({"saved": True})


class _Api(APIView):
    authentication_classes = (BaasAuthentication,)
    renderer_classes = (JSONRenderer,)

    def get(self, request: Request) -> Response:
        return Response({**_user(request), "auth": request.auth.display_name})

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"preflight": "answered"})


def _api(*permissions: Any) -> Any:
    return type("Api", (_Api,), {"permission_classes": permissions}).as_view()


urlpatterns = [
    path("books/private", private),
    path("books/save-me", save_me),
    path("admin/", admin.site.urls),
    path("books/api/me", _api(IsSignedIn)),
    path("books/api/editors", _api(has_role("editor"))),
    path("books/api/rules", _api(RulesAllow)),
]


def setup() -> None:
    """Django's tables and its superuser ``root`` (password ``$ROOT_PASSWORD``)."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User.objects.create_superuser("root", "root@example.com", os.environ["ROOT_PASSWORD"])


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    setup()

app: WSGIHandler = get_wsgi_application()
