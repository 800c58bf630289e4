"""Refusals made by the framework helpers (``require(...)``) are decisions too (behaviour §10).

A request the middleware allows and a route's requirement then refuses reports two events, in
order: the middleware's ``allow``, then the route's ``refuse`` with the status answered and the
reason ``route_requirement``; the log says the final outcome once (the refusal, at INFO; the
allow only at DEBUG). A caller who meets the requirement reports the allow alone. On Flask,
Starlette (a Realm and an AsyncRealm), FastAPI and Django.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from baas_auth import DecisionEvent
from tests.integrations.conftest import ASGIClient, World

Events = list[DecisionEvent]
Send = Callable[[str, dict[str, str]], int]


def _flask(world: World, events: Events) -> Send:
    from baas_auth.integrations.flask import init_app
    from tests.integrations.test_flask import _flask as flask_app

    app = flask_app()
    init_app(app, world.realm, application="acme/shop", on_decision=events.append)
    client = app.test_client()
    return lambda who, headers: client.put("/books/3", headers=headers).status_code


def _starlette(world: World, events: Events, *, async_realm: bool = False) -> Send:
    from tests.integrations.test_starlette import _app

    realm = world.async_realm() if async_realm else world.realm
    client = ASGIClient(_app(realm, on_decision=events.append))
    return lambda who, headers: client.put("/books/edit", headers=headers).status_code


def _fastapi(world: World, events: Events) -> Send:
    from baas_auth.integrations.fastapi import protect
    from tests.integrations.test_fastapi import _api

    api = _api()
    protect(api, world.realm, application="acme/shop", on_decision=events.append)
    client = ASGIClient(api)
    return lambda who, headers: client.put("/books/3", headers=headers).status_code


def _django(world: World, events: Events) -> Send:
    from tests.integrations.test_django import _settings

    def send(who: str, headers: dict[str, str]) -> int:
        from django.test import Client

        with _settings(world.realm, BAAS_AUTH={"ON_DECISION": events.append}):
            return int(Client().put("/books/edit", headers=headers).status_code)

    return send


FRAMEWORKS: dict[str, Callable[[World, Events], Send]] = {
    "flask": _flask,
    "starlette": _starlette,
    "starlette-async": lambda world, events: _starlette(world, events, async_realm=True),
    "fastapi": _fastapi,
    "django": _django,
}


@pytest.fixture(params=sorted(FRAMEWORKS))
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_route_refusal_follows_the_middlewares_allow(
    framework: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    events: Events = []
    send = FRAMEWORKS[framework](world, events)
    with caplog.at_level(logging.INFO, logger="baas_auth"):
        assert send("bob", world.bearer("bob")) == 403
    allow, refuse = events
    assert (allow.decision, allow.status) == ("allow", None)
    assert (refuse.decision, refuse.status, refuse.reason) == ("refuse", 403, "route_requirement")
    assert refuse.principal is not None
    assert refuse.principal.username == "bob"
    assert (refuse.method, refuse.org, refuse.app) == ("PUT", "acme", "shop")
    assert refuse.path == allow.path
    assert refuse.duration_ms >= 0
    lines = [r.getMessage() for r in caplog.records if r.name == "baas_auth"]
    assert len(lines) == 1, lines  # the final outcome, once
    assert lines[0].startswith(f"refused PUT {allow.path}: 403 route_requirement (app_user ")


def test_a_caller_who_meets_the_requirement_reports_the_allow_alone(
    framework: str, world: World
) -> None:
    events: Events = []
    send = FRAMEWORKS[framework](world, events)
    assert send("alice", world.bearer("alice")) == 200
    assert [event.decision for event in events] == ["allow"]


def test_usergrid_status_codes_report_the_401_answered(world: World) -> None:
    from baas_auth.integrations.flask import init_app
    from tests.integrations.test_flask import _flask as flask_app

    events: Events = []
    app = flask_app()
    init_app(
        app, world.realm, application="acme/shop", on_decision=events.append,
        usergrid_status_codes=True,
    )
    assert app.test_client().put("/books/3", headers=world.bearer("bob")).status_code == 401
    assert [(e.decision, e.status) for e in events] == [("allow", None), ("refuse", 401)]


def test_a_guest_refused_by_a_route_is_reported(world: World) -> None:
    """The rules let a guest through; ``require()`` refuses it: 401, route_requirement."""
    from baas_auth.integrations.flask import init_app
    from tests.integrations.test_flask import _flask as flask_app

    world.realm.grant("acme", "shop", "post:/books", role="guest")
    events: Events = []
    app = flask_app()
    init_app(app, world.realm, application="acme/shop", on_decision=events.append)
    assert app.test_client().post("/books").status_code == 401
    refuse = events[-1]
    assert (refuse.decision, refuse.status, refuse.reason) == ("refuse", 401, "route_requirement")
    assert refuse.principal is not None
    assert refuse.principal.kind == "guest"
