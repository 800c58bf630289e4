"""A route guard decides on its own (``docs/frameworks.md``, "Guards and rules"): where no rule
allows an authenticated caller, a ``require(…)`` on the framework's route decides; a route with
neither a guard nor a rule, a mounted app, static files, the guest and another application's
token are refused as before, and no handler runs for them. FastAPI, Starlette, Flask and Django,
each with its own router, in process (the real-server twins are in
``tests/integration/test_framework_helpers.py``).

The seeded rules (``conftest.seed``) cover ``/books/**``, ``/whoami`` and ``/reports`` only:
every path here is one no rule allows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import examples.django_app  # noqa: F401 - configures Django's settings if nothing has yet
from baas_auth import Principal
from baas_auth.integrations import fastapi as fastapi_helpers
from baas_auth.integrations import flask as flask_helpers
from baas_auth.integrations import starlette as starlette_helpers
from baas_auth.middleware.decisions import DecisionEvent
from tests.integrations import django_guard_urls
from tests.integrations.conftest import PASSWORD, ASGIClient, World

from django.test import Client as DjangoClient  # isort: skip
from django.test import override_settings  # isort: skip

FRAMEWORKS = ("fastapi", "starlette", "flask", "django")
Anyone = Annotated[Principal, Depends(fastapi_helpers.require(authenticated=False))]
"""A guard that asks nothing (the caller, guest included): it decides nothing either."""


@dataclass
class Site:
    """One framework's app behind the middleware: ``call`` answers (status, JSON body or
    None); ``called`` lists the handlers that ran."""

    call: Callable[[str, str, dict[str, str]], tuple[int, Any]]
    called: list[str]
    events: list[DecisionEvent] = field(default_factory=list)
    rack: str = "/rack"
    """A route guarded another way: an ``HTTPEndpoint`` method, a class-based view, an
    ``APIRouter``'s dependencies, a Flask view with ``@require`` above ``@app.route``."""


def _fastapi(
    world: World, called: list[str], events: list[DecisionEvent], realm: Any = None
) -> Site:
    api = FastAPI()

    editor = Depends(fastapi_helpers.require(role="editor"))

    @api.delete("/shelves/{shelf_id}", dependencies=[editor])
    def delete_shelf(shelf_id: int) -> dict[str, object]:
        called.append("delete_shelf")
        return {"deleted": shelf_id}

    @api.get("/profile")
    def profile(caller: fastapi_helpers.Authenticated) -> dict[str, object]:
        called.append("profile")
        return {"user": caller.username}

    @api.get("/anyone")
    def for_anyone(caller: Anyone) -> dict[str, object]:
        called.append("anyone")
        return {"user": caller.display_name}

    @api.post("/secret")
    def secret() -> dict[str, object]:
        called.append("secret")
        return {"secret": True}

    router = APIRouter(dependencies=[Depends(fastapi_helpers.require(role="editor"))])

    @router.delete("/rack")
    def delete_rack() -> dict[str, object]:
        called.append("rack")
        return {"racked": True}

    api.include_router(router)
    drawers = APIRouter()  # included, no guard: refused as before

    @drawers.post("/drawer")
    def drawer() -> dict[str, object]:
        called.append("drawer")
        return {"drawer": True}

    api.include_router(drawers, prefix="")
    api.mount("/files", _sub_app(called))
    fastapi_helpers.protect(
        api, realm or world.realm, application="acme/shop", on_decision=events.append
    )
    return Site(_asgi_call(ASGIClient(api)), called, events)


def _sub_app(called: list[str]) -> Starlette:
    """A mounted app whose own route is guarded: the mount is not a guarded route."""

    @starlette_helpers.require()
    async def inside(request: Request) -> JSONResponse:
        called.append("mounted")
        return JSONResponse({"mounted": True})

    return Starlette(routes=[Route("/inside", inside)])


def _starlette(world: World, called: list[str], events: list[DecisionEvent]) -> Site:
    require = starlette_helpers.require

    @require(role="editor")
    async def delete_shelf(request: Request) -> JSONResponse:
        called.append("delete_shelf")
        return JSONResponse({"deleted": request.path_params["shelf_id"]})

    @require()
    def profile(request: Request) -> JSONResponse:  # sync: run on a thread
        called.append("profile")
        return JSONResponse({"user": request.user.username})

    @require(authenticated=False)
    async def for_anyone(request: Request) -> JSONResponse:
        called.append("anyone")
        return JSONResponse({"user": request.user.display_name})

    async def secret(request: Request) -> JSONResponse:
        called.append("secret")
        return JSONResponse({"secret": True})

    class Rack(HTTPEndpoint):
        @require(role="editor")
        async def delete(self, request: Request) -> JSONResponse:
            called.append("rack")
            return JSONResponse({"racked": True})

        async def post(self, request: Request) -> JSONResponse:
            called.append("rack_post")
            return JSONResponse({"posted": True})

    app = Starlette(
        routes=[
            Route("/shelves/{shelf_id:int}", delete_shelf, methods=["DELETE"]),
            Route("/profile", profile),
            Route("/anyone", for_anyone),
            Route("/secret", secret, methods=["POST"]),
            Route("/rack", Rack),
            Mount("/files", app=_sub_app(called)),
        ]
    )
    starlette_helpers.protect(app, world.realm, application="acme/shop", on_decision=events.append)
    return Site(_asgi_call(ASGIClient(app)), called, events)


def _asgi_call(client: ASGIClient) -> Callable[[str, str, dict[str, str]], tuple[int, Any]]:
    def call(method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        answer = client.request(method, path, headers=headers)
        is_json = answer.headers.get("content-type") == "application/json"
        return answer.status_code, answer.json() if is_json else None

    return call


def _flask(
    world: World, called: list[str], events: list[DecisionEvent], static: Path, **options: Any
) -> Site:
    app = Flask(__name__, static_folder=str(static))
    require = flask_helpers.require

    @app.delete("/shelves/<int:shelf_id>")
    @require(role="editor")  # below the route: the route registers the guarded view
    def delete_shelf(shelf_id: int) -> ResponseReturnValue:
        called.append("delete_shelf")
        return jsonify(deleted=shelf_id)

    @require(role="editor")  # above the route: the route registered the bare view
    @app.delete("/racks/<int:rack_id>")
    def delete_rack(rack_id: int) -> ResponseReturnValue:
        called.append("rack")
        return jsonify(racked=rack_id)

    @app.get("/profile")
    @require()
    def profile() -> ResponseReturnValue:
        called.append("profile")
        return jsonify(user=flask_helpers.current_principal.username)

    @app.get("/anyone")
    @require(authenticated=False)
    def for_anyone() -> ResponseReturnValue:
        called.append("anyone")
        return jsonify(user=flask_helpers.current_principal.display_name)

    @app.post("/secret")
    def secret() -> ResponseReturnValue:
        called.append("secret")
        return jsonify(secret=True)

    flask_helpers.init_app(
        app, world.realm, application="acme/shop", on_decision=events.append, **options
    )
    client = app.test_client()

    def call(method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        answer = client.open(path, method=method, headers=headers)
        return answer.status_code, answer.json if answer.is_json else None

    return Site(call, called, events, rack="/racks/1")


@contextlib.contextmanager
def _django(
    world: World, events: list[DecisionEvent], *more_middleware: str, **options: Any
) -> Iterator[Site]:
    django_guard_urls.CALLED.clear()
    baas_auth = {
        "REALM": world.realm, "APPLICATION": "acme/shop", "ON_DECISION": events.append, **options
    }
    with override_settings(
        ROOT_URLCONF="tests.integrations.django_guard_urls",
        MIDDLEWARE=["baas_auth.integrations.django.AuthMiddleware", *more_middleware],
        BAAS_AUTH=baas_auth,
    ):
        client = DjangoClient()

        def call(method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
            answer = client.generic(method, path, headers=headers)
            is_json = answer.get("content-type") == "application/json"
            return answer.status_code, answer.json() if is_json else None

        yield Site(call, django_guard_urls.CALLED, events)


@pytest.fixture(params=FRAMEWORKS)
def site(request: pytest.FixtureRequest, world: World, tmp_path: Path) -> Iterator[Site]:
    called: list[str] = []
    events: list[DecisionEvent] = []
    framework = request.param
    if framework == "django":
        with _django(world, events) as django_site:
            yield django_site
        return
    if framework == "fastapi":
        yield _fastapi(world, called, events)
    elif framework == "starlette":
        yield _starlette(world, called, events)
    else:
        (tmp_path / "hello.txt").write_text("a static file")
        yield _flask(world, called, events, tmp_path)


def _bearer_of_another_app(world: World) -> dict[str, str]:
    world.realm.create_app("acme", "other")
    world.realm.create_user("acme", "other", "eve", password=PASSWORD)
    token = world.realm.password_token("acme", "other", "eve", PASSWORD).access_token
    return {"Authorization": f"Bearer {token}"}


def _assert_refused_by_guard(status: int, body: Any) -> None:
    assert status == 403, body
    assert body["error"] == "unauthorized"


def test_the_guard_decides_what_no_rule_allows(site: Site, world: World) -> None:
    status, body = site.call("DELETE", "/shelves/1", world.bearer("alice"))
    assert status == 200, body  # no rule allows DELETE /shelves/1: the guard does
    assert site.call("DELETE", "/shelves/2", world.bearer("carol"))[0] == 200  # via /staff
    assert site.called == ["delete_shelf", "delete_shelf"]
    _assert_refused_by_guard(*site.call("DELETE", "/shelves/3", world.bearer("bob")))
    status, body = site.call("GET", "/profile", world.bearer("bob"))  # require(): signed in
    assert (status, body) == (200, {"user": "bob"})
    assert site.called == ["delete_shelf", "delete_shelf", "profile"]


def test_the_guard_decides_on_a_class_endpoint_too(site: Site, world: World) -> None:
    assert site.call("DELETE", site.rack, world.bearer("alice"))[0] == 200
    _assert_refused_by_guard(*site.call("DELETE", site.rack, world.bearer("bob")))
    assert site.called == ["rack"]


def test_without_a_guard_nothing_opens(site: Site, world: World) -> None:
    assert site.call("DELETE", "/shelves/1", world.bearer("alice"))[0] == 200  # guards decide
    refused = [
        site.call("POST", "/secret", world.bearer("alice")),  # no guard, no rule
        site.call("DELETE", "/nowhere", world.bearer("alice")),  # no route
        site.call("POST", "/drawer", world.bearer("alice")),  # FastAPI: an included router's
        site.call("GET", "/anyone", world.bearer("alice")),  # a guard that asks nothing
        site.call("GET", "/files/inside", world.bearer("alice")),  # a mounted app
        site.call("GET", "/static/hello.txt", world.bearer("alice")),  # static files
    ]
    assert [status for status, _ in refused] == [403] * len(refused)
    assert all(body["error"] == "unauthorized" for _, body in refused)
    assert site.called == ["delete_shelf"]  # no handler ran for a refused request


def test_an_answer_the_framework_makes_without_the_guard_is_no_guard(
    site: Site, world: World
) -> None:
    """Flask answers OPTIONS itself (``provide_automatic_options``), without calling the view
    and so without its guard: such a request is not the guard's to decide."""
    assert site.call("DELETE", "/shelves/1", world.bearer("alice"))[0] == 200
    status, body = site.call("OPTIONS", "/shelves/1", world.bearer("bob"))
    assert status == 403, body
    assert site.called == ["delete_shelf"]


def test_the_guest_and_other_apps_tokens_are_refused_as_before(site: Site, world: World) -> None:
    assert site.call("DELETE", "/shelves/1", world.bearer("alice"))[0] == 200
    other_app = _bearer_of_another_app(world)
    for headers in ({}, other_app, {"Authorization": "Bearer not-a-token"}):
        for method, path in (("DELETE", "/shelves/2"), ("GET", "/profile"), ("POST", "/secret")):
            status, body = site.call(method, path, headers)
            assert status == 401, (headers, method, path, body)
    assert site.called == ["delete_shelf"]


def test_the_guards_decision_is_reported(site: Site, world: World) -> None:
    site.call("DELETE", "/shelves/1", world.bearer("alice"))
    site.call("DELETE", "/shelves/1", world.bearer("bob"))
    site.call("POST", "/secret", world.bearer("bob"))
    seen = [
        (event.decision, event.status, event.reason, event.principal and event.principal.username)
        for event in site.events
    ]
    assert seen == [
        ("allow", None, "route-guard", "alice"),
        ("allow", None, "route-guard", "bob"),
        ("refuse", 403, "route_requirement", "bob"),
        ("refuse", 403, "unauthorized", "bob"),
    ]


# -- the view actually called must carry the guard -------------------------------------------------


def _says_yes(where: Any) -> bool:
    """A route_guard that claims every request: the view actually dispatched to must still
    carry a guard, or the request is refused before it runs."""
    return True


def test_flask_refuses_a_claimed_request_whose_view_has_no_guard(
    world: World, tmp_path: Path
) -> None:
    called: list[str] = []
    site = _flask(world, called, [], tmp_path, route_guard=_says_yes)
    assert site.call("DELETE", "/shelves/1", world.bearer("alice"))[0] == 200
    for method, path in (("POST", "/secret"), ("GET", "/anyone"), ("DELETE", "/nowhere")):
        status, body = site.call(method, path, world.bearer("alice"))
        assert status == 403, (method, path, body)
        assert body["error"] == "unauthorized"
    assert called == ["delete_shelf"]


@pytest.mark.parametrize(
    ("more_middleware", "options", "path"),
    [
        # A middleware after baas_auth's sets request.urlconf: Django then calls another view.
        (("tests.integrations.django_guard_urls.SwitchUrlconf",), {}, "/shelves/2"),
        ((), {"ROUTE_GUARD": _says_yes}, "/secret"),
    ],
    ids=["urlconf-switched", "claims-everything"],
)
def test_django_refuses_a_claimed_request_whose_view_has_no_guard(
    world: World, more_middleware: tuple[str, ...], options: dict[str, Any], path: str
) -> None:
    with _django(world, [], *more_middleware, **options) as site:
        status, body = site.call("DELETE", path, world.bearer("alice"))
        assert status == 403, body
        assert body["error"] == "unauthorized"
        assert site.called == []


def test_with_an_async_realm(world: World) -> None:
    site = _fastapi(world, [], [], world.async_realm())
    assert site.call("DELETE", "/shelves/1", world.bearer("alice"))[0] == 200
    assert site.call("DELETE", "/shelves/1", world.bearer("bob"))[0] == 403
    assert site.call("POST", "/secret", world.bearer("alice"))[0] == 403
    assert site.called == ["delete_shelf"]
