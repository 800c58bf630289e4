"""The URLconf of the route-guard tests for Django (``ROOT_URLCONF`` while they run): routes no
rule covers, guarded or not, and a static view."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View

from baas_auth.integrations.django import require

CALLED: list[str] = []
"""The views that ran, in order: a refused request must leave no trace here."""


@require(role="editor")
def delete_shelf(request: HttpRequest, shelf_id: int) -> JsonResponse:
    CALLED.append("delete_shelf")
    return JsonResponse({"deleted": shelf_id, "by": request.principal.username})


@require()
def profile(request: HttpRequest) -> JsonResponse:
    CALLED.append("profile")
    return JsonResponse({"user": request.principal.username})


@require(authenticated=False)
def anyone(request: HttpRequest) -> JsonResponse:
    CALLED.append("anyone")
    return JsonResponse({"user": request.principal.display_name})


def secret(request: HttpRequest) -> JsonResponse:
    CALLED.append("secret")
    return JsonResponse({"secret": True})


@method_decorator(require(role="editor"), name="dispatch")
class Rack(View):
    def delete(self, request: HttpRequest) -> JsonResponse:
        CALLED.append("rack")
        return JsonResponse({"racked_by": request.principal.username})


def static_file(request: HttpRequest, name: str) -> JsonResponse:
    CALLED.append("static")
    return JsonResponse({"file": name})


class SwitchUrlconf:
    """A middleware (after baas_auth's) that routes by another URLconf, where the shelves have
    no guard: the view Django calls is not the one baas_auth's route_guard matched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = "tests.integrations.django_switched_urls"
        return self.get_response(request)


urlpatterns = [
    path("shelves/<int:shelf_id>", delete_shelf),
    path("profile", profile),
    path("anyone", anyone),
    path("secret", secret),
    path("rack", Rack.as_view()),
    path("static/<path:name>", static_file),
]
