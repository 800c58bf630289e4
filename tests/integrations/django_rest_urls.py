"""The URLconf of the Django tests with ``django.contrib.auth`` installed: ``@login_required``,
a staff-only page under ``/admin/`` left to Django's session login, and Django REST framework
views with baas_auth's authentication and permission classes. Also a session backend whose one
user is a staff member, so that a session login needs no database."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, user_passes_test
from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baas_auth.integrations.django_rest import (
    BaasAuthentication,
    IsSignedIn,
    RulesAllow,
    has_role,
    in_group,
)

STAFF = User(id=7, username="root", is_staff=True, is_superuser=True, is_active=True)


class StaffBackend:
    """``AUTHENTICATION_BACKENDS`` of these tests: the session's user 7 is ``STAFF``."""

    def get_user(self, user_id: object) -> User | None:
        return STAFF if str(user_id) == "7" else None

    def authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        return None


def _user(request: HttpRequest) -> dict[str, object]:
    user = request.user
    return {
        "class": user.__class__.__name__,  # through SimpleLazyObject
        "username": user.get_username(),
        "is_authenticated": user.is_authenticated,
        "is_staff": user.is_staff,
    }


@login_required
def private(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_user(request))


async def async_user(request: HttpRequest) -> JsonResponse:
    """Django's async accessor of the user (``request.auser()``)."""
    user = await request.auser()
    return JsonResponse({"class": user.__class__.__name__, "username": user.get_username()})


@user_passes_test(lambda user: user.is_active and user.is_staff, login_url="/admin/login/")
def admin_index(request: HttpRequest) -> JsonResponse:
    """What the admin asks of ``request.user``: an active staff member."""
    return JsonResponse(_user(request))


class Me(APIView):
    authentication_classes = (BaasAuthentication,)
    permission_classes = (IsAuthenticated,)
    renderer_classes = (JSONRenderer,)

    def get(self, request: Request) -> Response:
        return Response(
            {
                **_user(request),
                "auth": request.auth.display_name,
                "user_is_request_user": request.user is request._request.user,
            }
        )


def _api(*permissions: Any) -> Any:
    class View(APIView):
        authentication_classes = (BaasAuthentication,)
        permission_classes = permissions
        renderer_classes = (JSONRenderer,)

        def get(self, request: Request) -> Response:
            return Response({"by": request.user.get_username()})

        def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            return Response({"by": request.user.get_username()})

    return View.as_view()


urlpatterns = [
    path("books/private", private),
    path("books/async-user", async_user),
    path("admin/", admin_index),
    path("books/api/me", Me.as_view()),
    path("books/api/signed-in", _api(IsSignedIn)),
    path("books/api/editors", _api(has_role("editor"))),
    path("books/api/editors-and-auditors", _api(has_role("editor", "auditor"))),
    path("books/api/staff", _api(in_group("/staff"))),
    path("books/api/editors-or-staff", _api(has_role("auditor") | in_group("/staff"))),
    path("books/api/rules", _api(RulesAllow)),
]
