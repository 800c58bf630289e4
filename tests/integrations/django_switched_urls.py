"""Another URLconf for the route-guard tests, set as ``request.urlconf`` by a middleware
(``django_guard_urls.SwitchUrlconf``): the shelves again, without a guard."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.integrations.django_guard_urls import CALLED


def switched(request: HttpRequest, shelf_id: int) -> JsonResponse:
    CALLED.append("switched")
    return JsonResponse({"switched": shelf_id})


urlpatterns = [path("shelves/<int:shelf_id>", switched)]
