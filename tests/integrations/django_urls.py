"""The URLconf of the Django helper tests (``ROOT_URLCONF`` while they run)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.static import serve

from baas_auth.integrations.django import require


def whoami(request: HttpRequest) -> JsonResponse:
    user = getattr(request, "user", None)
    return JsonResponse(
        {
            "principal": request.principal.display_name,
            "kind": request.principal.kind,
            "meta_principal": request.META["baas_auth.principal"] is request.principal,
            "user": None if user is None else str(user),
            "username": None if user is None else user.get_username(),
            "user_is_authenticated": None if user is None else user.is_authenticated,
            "user_is_anonymous": None if user is None else user.is_anonymous,
            "query": request.GET.dict(),
        }
    )


@require(role="editor")
def edit(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"by": request.principal.username})


@require(rule="put:/reports")
def report(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"by": request.principal.username})


@require()
def signed_in(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"by": request.principal.username})


@method_decorator(require(role="editor"), name="dispatch")
class Shelf(View):
    def put(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"shelved_by": request.principal.username})


def static_file(request: HttpRequest, name: str) -> HttpResponse:
    """Static files served by a view (the fix for runserver's static handler): behind the
    middleware like every view."""
    return serve(request, name, document_root=settings.STATICFILES_DIRS[0])


urlpatterns = [
    path("whoami", whoami),
    path("books/edit", edit),
    path("books/report", report),
    path("books/signed-in", signed_in),
    path("books/shelf", Shelf.as_view()),
    re_path(r"^assets/(?P<name>.*)$", static_file),
]
