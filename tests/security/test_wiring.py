"""Wiring mistakes fail at construction, with a message that says the fix (behaviour §6.3).

The first release took whatever it was given: a WSGI middleware around a FastAPI app, or an
ASGI one around Flask, was built without complaint and failed at the first request with a raw
``TypeError`` from deep inside a server; a URL string as the realm was a ``TypeError`` that did
not say ``Realm.open``; options of the wrong type were taken as truthy or falsy values
(``strict="no"`` was strict); an ``application`` the realm lacks answered 401 to everyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal

import pytest

from baas_auth import MemoryStore, Realm
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.errors import ConfigError
from baas_auth.wsgi import AuthMiddleware as WsgiAuth
from tests.adapters.conftest import Caller, World, call_asgi, http_scope
from tests.conftest import FAST_HASHER

Middleware = Callable[..., Any]
BOTH = pytest.mark.parametrize("middleware", [WsgiAuth, AsgiAuth], ids=["wsgi", "asgi"])


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class _WsgiCallable:
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        return list(_wsgi_app(environ, start_response))


class _AsgiCallable:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _asgi_app(scope, receive, send)


def _fastapi() -> Any:
    from fastapi import FastAPI

    return FastAPI()


def _starlette() -> Any:
    from starlette.applications import Starlette

    return Starlette()


def _flask() -> Any:
    from flask import Flask

    return Flask("wired")


# -- the app of the other protocol --------------------------------------------------------------


@pytest.mark.parametrize(
    "make_app",
    [_fastapi, _starlette, lambda: _asgi_app, _AsgiCallable],
    ids=["fastapi", "starlette", "async-def", "async-callable"],
)
def test_the_wsgi_middleware_refuses_an_asgi_app(world: World, make_app: Callable[[], Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        WsgiAuth(make_app(), world.realm)
    message = str(raised.value)
    assert "is an ASGI application" in message
    assert "baas_auth.asgi.AuthMiddleware" in message
    assert "add_middleware" in message


@pytest.mark.parametrize(
    "make_app",
    [_flask, lambda: _wsgi_app, _WsgiCallable],
    ids=["flask", "def-environ-start-response", "wsgi-callable"],
)
def test_the_asgi_middleware_refuses_a_wsgi_app(world: World, make_app: Callable[[], Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        AsgiAuth(make_app(), world.realm)
    message = str(raised.value)
    assert "is a WSGI application" in message
    assert "baas_auth.wsgi.AuthMiddleware" in message
    assert "app.wsgi_app = AuthMiddleware(app.wsgi_app, realm" in message  # Flask's way


def test_the_right_wiring_is_accepted(world: World) -> None:
    flask_app = _flask()
    flask_app.wsgi_app = WsgiAuth(flask_app.wsgi_app, world.realm)
    WsgiAuth(_wsgi_app, world.realm)
    WsgiAuth(_WsgiCallable(), world.realm)
    AsgiAuth(_fastapi(), world.realm)
    AsgiAuth(_starlette(), world.realm)
    AsgiAuth(_asgi_app, world.realm)
    AsgiAuth(_AsgiCallable(), world.realm)


@BOTH
def test_an_app_that_cannot_be_classified_is_not_refused(
    world: World, middleware: Middleware
) -> None:
    """Detection is best-effort: a callable whose protocol cannot be read is taken as given."""
    middleware(lambda *args: None, world.realm)


@BOTH
@pytest.mark.parametrize("app", [None, "myproject.asgi:app", 42])
def test_an_app_that_is_not_callable_is_refused(
    world: World, middleware: Middleware, app: object
) -> None:
    with pytest.raises(ConfigError, match=r"wraps an application \(a callable\)"):
        middleware(app, world.realm)


# -- the realm ----------------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("url", ["sqlite:///auth.db", "memory:", "redis://localhost:6379/0"])
def test_a_url_as_the_realm_says_realm_open(middleware: Middleware, url: str) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError) as raised:
        middleware(app, url)
    message = str(raised.value)
    assert "takes a Realm, not a URL" in message
    assert f"Realm.open({url!r})" in message


@BOTH
@pytest.mark.parametrize("realm", [None, object()], ids=["none", "object"])
def test_anything_else_as_the_realm_names_what_it_is(middleware: Middleware, realm: object) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError) as raised:
        middleware(app, realm)
    message = str(raised.value)
    assert "takes a baas_auth.Realm as its second argument" in message
    assert type(realm).__name__ in message


@BOTH
def test_a_store_as_the_realm_says_to_wrap_it(middleware: Middleware) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError, match=r"not a store: write Realm\(MemoryStore\(\.\.\.\)\)"):
        middleware(app, MemoryStore())


@pytest.mark.parametrize("url", ["sqlite:///x.db", "memory:"])
def test_a_url_given_to_realm_says_realm_open(url: str) -> None:
    with pytest.raises(ConfigError, match=rf"for a URL write Realm\.open\({url!r}\)"):
        Realm(url)  # type: ignore[arg-type]


def test_a_store_lacking_methods_says_what_it_lacks() -> None:
    with pytest.raises(ConfigError) as raised:
        Realm(object())  # type: ignore[arg-type]
    message = str(raised.value)
    assert "object is not a baas_auth store" in message
    assert "baas_auth.stores.Store" in message
    for method in ("get", "put", "transact", "get_token", "put_token", "generation", "close"):
        assert method in message


def test_a_partial_store_names_only_the_missing_methods() -> None:
    class HalfStore:
        def get(self, key: str) -> bytes | None:
            return None

        def put(self, key: str, value: bytes) -> None:
            pass

    with pytest.raises(ConfigError) as raised:
        Realm(HalfStore())  # type: ignore[arg-type]
    message = str(raised.value)
    assert "HalfStore is not a baas_auth store" in message
    lacks = message.split("it lacks", 1)[1]
    assert "get_token" in lacks
    assert " get," not in lacks
    assert " put," not in lacks


# -- the application of single-app mode ---------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    ("application", "fragments"),
    [
        (
            "acme/nosuch",
            [
                "the realm has no such application",
                "create it first",
                "realm.create_app('acme', 'nosuch')",
                "baas-auth create-app acme nosuch",
            ],
        ),
        ("nosuch/shop", ["the realm has no such application", "create it first"]),
        ("ACME/NoSuch", ["create it first", "realm.create_app('acme', 'nosuch')"]),
    ],
)
def test_an_application_the_realm_lacks_says_create_it_first(
    world: World, middleware: Middleware, application: str, fragments: list[str]
) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError) as raised:
        middleware(app, world.realm, application=application)
    for fragment in fragments:
        assert fragment in str(raised.value)


@BOTH
@pytest.mark.parametrize("application", ["acme", "acme/shop/x", 5, b"acme/shop", ("acme", "shop")])
def test_an_application_not_of_the_form_org_app_shows_the_form(
    world: World, middleware: Middleware, application: object
) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(
        ConfigError, match=r'application is "org/app", e\.g\. application="acme/shop"'
    ):
        middleware(app, world.realm, application=application)


# -- options ------------------------------------------------------------------------------------


FLAGS = [
    "allow_query_credentials",
    "strict",
    "usergrid_status_codes",
    "cors_preflight",
    "case_sensitive_paths",
    "endpoints",
]


@BOTH
@pytest.mark.parametrize("name", FLAGS)
@pytest.mark.parametrize("value", ["yes", "no", "false", 1, 0, None, [True]])
def test_every_boolean_option_takes_only_a_bool(
    world: World, middleware: Middleware, name: str, value: object
) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError) as raised:
        middleware(app, world.realm, **{name: value})
    assert f"{name} is True or False, not {value!r}" in str(raised.value)


@BOTH
def test_strict_yes_is_refused_not_taken_as_true(world: World, middleware: Middleware) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError, match="strict is True or False, not 'yes'"):
        middleware(app, world.realm, strict="yes")


@BOTH
@pytest.mark.parametrize("name", ["strictt", "application_name", "case_sensitive", "roles"])
def test_an_unknown_option_is_named_with_the_list_of_options(
    world: World, middleware: Middleware, name: str
) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError) as raised:
        middleware(app, world.realm, **{name: True})
    message = str(raised.value)
    assert f"unknown AuthMiddleware option {name!r}" in message
    for option in ("application", "strict", "case_sensitive_paths", "realm_name", "endpoints"):
        assert option in message


@BOTH
@pytest.mark.parametrize("realm_name", [5, b"acme", ["acme"], "", 'acme"evil', "x" * 129, "a\r\nb"])
def test_a_realm_name_of_the_wrong_type_or_form_is_refused(
    world: World, middleware: Middleware, realm_name: object
) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError, match=r"realm_name is up to 128 letters, digits and"):
        middleware(app, world.realm, realm_name=realm_name)


@BOTH
@pytest.mark.parametrize("other", ["usergrid_status_codes", "cors_preflight"])
def test_strict_excludes_the_lenient_options(
    world: World, middleware: Middleware, other: str
) -> None:
    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    with pytest.raises(ConfigError, match="strict=True excludes"):
        middleware(app, world.realm, strict=True, **{other: True})


# -- Starlette's add_middleware: built at the first call ----------------------------------------


def _lifespan_startup(app: Any) -> None:
    messages = [{"type": "lifespan.startup"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    asyncio.run(app(scope, receive, send))


@pytest.mark.parametrize("make_app", [_starlette, _fastapi], ids=["starlette", "fastapi"])
def test_add_middleware_with_a_missing_application_fails_at_startup(
    world: World, make_app: Callable[[], Any]
) -> None:
    """Starlette (and FastAPI) build their middleware stack lazily, at the first ASGI call, so
    ``app.add_middleware(AuthMiddleware, realm, application="acme/nosuch")`` itself returns
    normally and the ConfigError comes from the first call: the lifespan startup, or the first
    request when the server sends no lifespan. What users see then depends on the server:

    - ``TestClient(app)`` (as a context manager) and servers that run the lifespan strictly
      (``uvicorn --lifespan on``, Hypercorn) stop at startup with the ConfigError's traceback;
    - ``uvicorn`` with its default ``--lifespan auto`` logs only "ASGI 'lifespan' protocol
      appears unsupported." (at INFO) and keeps serving; every request then raises the same
      ConfigError (Starlette retries the build each time), which uvicorn logs as "Exception in
      ASGI application" and answers 500 — closed, never open, but not refused at startup.
    """
    app = make_app()
    app.add_middleware(AsgiAuth, world.realm, application="acme/nosuch")  # no error yet
    with pytest.raises(ConfigError, match="create it first"):
        _lifespan_startup(app)
    # A request without a lifespan first: the same error, again (the stack is still unbuilt).
    for _ in range(2):
        with pytest.raises(ConfigError, match="create it first"):
            asyncio.run(call_asgi(app, http_scope("GET", "/books"), [b""]))


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_add_middleware_with_a_missing_application_under_testclient(world: World) -> None:
    from starlette.testclient import TestClient

    app = _starlette()
    app.add_middleware(AsgiAuth, world.realm, application="acme/nosuch")
    with (
        pytest.raises(ConfigError, match=r"realm\.create_app\('acme', 'nosuch'\)"),
        TestClient(app),
    ):
        pass


@pytest.mark.parametrize(("mode", "refused_at_startup"), [("on", True), ("auto", False)])
def test_what_uvicorn_does_with_the_startup_error(
    world: World,
    caplog: pytest.LogCaptureFixture,
    mode: Literal["on", "auto"],
    refused_at_startup: bool,
) -> None:
    """The server side of the docstring above, with uvicorn's own lifespan handler."""
    from uvicorn.config import Config
    from uvicorn.lifespan.on import LifespanOn

    app = _starlette()
    app.add_middleware(AsgiAuth, world.realm, application="acme/nosuch")
    config = Config(app, lifespan=mode, log_config=None)  # logs reach caplog
    config.load()
    lifespan = LifespanOn(config)

    async def start() -> None:
        await lifespan.startup()

    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        asyncio.run(start())
    assert lifespan.error_occurred
    assert lifespan.should_exit is refused_at_startup
    if refused_at_startup:
        assert "Application startup failed. Exiting." in caplog.text
        assert "create it first" in caplog.text
    else:
        assert "ASGI 'lifespan' protocol appears unsupported." in caplog.text
        assert "create it first" not in caplog.text  # the cause is not logged
        with pytest.raises(ConfigError, match="create it first"):  # uvicorn answers 500
            asyncio.run(call_asgi(config.loaded_app, http_scope("GET", "/books"), [b""]))


def test_add_middleware_with_an_existing_application_works(world: World) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def books(request: Any) -> PlainTextResponse:
        return PlainTextResponse("books")

    app = Starlette(routes=[Route("/books", books)])
    app.add_middleware(AsgiAuth, world.realm, application="acme/sandbox")
    answer = asyncio.run(call_asgi(app, http_scope("GET", "/books"), [b""]))
    assert answer.status == 200
    assert answer.body == b"books"


@BOTH
def test_a_store_down_at_start_up_does_not_keep_the_app_from_booting(
    world: World, middleware: Middleware
) -> None:
    """A worker that (re)starts while the store is down must boot and answer 503, then serve
    once the store is back: a wiring check that needs the store waits for the first request."""
    from baas_auth import MemoryStore
    from tests.adapters.conftest import ProbeStore

    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    store = ProbeStore(MemoryStore())
    store.down = True
    realm = Realm(store, clock=world.clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
    wrapped = middleware(app, realm, application="acme/shop")
    store.down = False
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="sandbox")
    caller = Caller("wsgi" if middleware is WsgiAuth else "asgi", realm)
    caller.app = wrapped
    store.down = True
    assert caller.call("GET", "/books").status == 503
    store.down = False
    assert caller.call("GET", "/books").status == 200


@BOTH
def test_a_missing_application_found_at_the_first_request_still_refuses_to_serve(
    world: World, middleware: Middleware
) -> None:
    from baas_auth import MemoryStore
    from tests.adapters.conftest import ProbeStore

    app = _wsgi_app if middleware is WsgiAuth else _asgi_app
    store = ProbeStore(MemoryStore())
    store.down = True
    realm = Realm(store, clock=world.clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
    wrapped = middleware(app, realm, application="acme/nosuch")
    store.down = False
    caller = Caller("wsgi" if middleware is WsgiAuth else "asgi", realm)
    caller.app = wrapped
    with pytest.raises(ConfigError, match="create it first"):
        caller.call("GET", "/books")
