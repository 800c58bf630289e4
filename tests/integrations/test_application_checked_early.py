"""A wrong ``application=`` is told at once, not at every request: ``protect`` (Starlette,
FastAPI) and ``init_app`` (Flask) hold the realm and check it. A ``Realm`` is checked when the
helper is called; an ``AsyncRealm`` (which cannot be read before the event loop runs) when the
app starts (its lifespan), which then fails to start with the same ``ConfigError``."""

from __future__ import annotations

import warnings

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from baas_auth.errors import ConfigError
from baas_auth.integrations import fastapi as fastapi_helpers
from baas_auth.integrations import flask as flask_helpers
from baas_auth.integrations import starlette as starlette_helpers
from tests.integrations.conftest import World

_NO_SUCH_APP = r"application='acme/nope': the realm has no such application"

# Starlette's own TestClient (it runs the app's lifespan) warns, on import and on use, that
# it would rather have httpx2; the httpx it has works.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def _starlette() -> Starlette:
    return Starlette(routes=[Route("/hello", hello)])


def test_starlette_protect_with_a_realm_refuses_at_once(world: World) -> None:
    with pytest.raises(ConfigError, match=_NO_SUCH_APP):
        starlette_helpers.protect(_starlette(), world.realm, application="acme/nope")


def test_fastapi_protect_with_a_realm_refuses_at_once(world: World) -> None:
    with pytest.raises(ConfigError, match=_NO_SUCH_APP):
        fastapi_helpers.protect(FastAPI(), world.realm, application="acme/nope")


def test_flask_init_app_refuses_at_once(world: World) -> None:
    with pytest.raises(ConfigError, match=_NO_SUCH_APP):
        flask_helpers.init_app(Flask(__name__), world.realm, application="acme/nope")


@pytest.mark.parametrize("make", [_starlette, FastAPI], ids=["starlette", "fastapi"])
def test_an_async_realm_fails_the_apps_startup(world: World, make: type[Starlette]) -> None:
    app = make()
    starlette_helpers.protect(app, world.async_realm(), application="acme/nope")
    with pytest.raises(ConfigError, match=_NO_SUCH_APP), TestClient(app):
        pass


@pytest.mark.parametrize("make", [_starlette, FastAPI], ids=["starlette", "fastapi"])
def test_an_async_realm_with_its_app_starts_and_serves(world: World, make: type[Starlette]) -> None:
    app = make()
    app.add_route("/hello", hello)
    starlette_helpers.protect(app, world.async_realm(), application="acme/shop")
    with TestClient(app) as client:
        assert client.get("/hello").status_code == 401  # the guest of acme/shop has no rule


def test_a_realm_with_its_app_is_accepted(world: World) -> None:
    app = _starlette()
    starlette_helpers.protect(app, world.realm, application="acme/shop")
    with TestClient(app) as client:
        assert client.get("/hello").status_code == 401
