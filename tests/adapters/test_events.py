"""Decision events: ``on_decision`` and the ``baas_auth`` logger, alike on both adapters.

One event per request (allow, each kind of refusal, the endpoints' answers), from the decision
shared by WSGI and ASGI; a hook that raises changes no answer; the log says why a request was
refused and never holds a secret; and while nobody listens, nothing is timed or built.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from baas_auth import DecisionEvent
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.errors import ConfigError
from baas_auth.middleware.events import DecisionEvents
from tests.adapters.conftest import (
    PASSWORD,
    Caller,
    MakeCaller,
    World,
    basic,
    bearer,
    http_scope,
    make_asgi_inner,
)

Events = list[DecisionEvent]


@pytest.fixture
def events() -> Events:
    return []


@pytest.fixture
def watched(make: MakeCaller, events: Events) -> Caller:
    """Multi-tenant middleware of the adapter under test, its events in ``events``."""
    return make(on_decision=events.append)


def _only(events: Events) -> DecisionEvent:
    assert len(events) == 1, events
    event = events.pop()
    assert isinstance(event.duration_ms, float)
    assert event.duration_ms >= 0
    return event


def _refusal(events: Events, response: Any) -> DecisionEvent:
    """The one event of a refused request: its status and ``error`` code are the answer's."""
    event = _only(events)
    assert event.decision == "refuse"
    assert event.status == response.status_code
    assert event.reason == response.json()["error"]
    return event


# -- allows -------------------------------------------------------------------------------------


def test_an_allowed_request(watched: Caller, world: World, events: Events):
    response = watched.get("/acme/shop/books?page=2", headers=bearer(world.token("alice")))
    assert response.status_code == 200
    event = _only(events)
    assert event[1:] == (
        "GET",
        "/acme/shop/books",
        "acme",
        "shop",
        "allow",
        None,
        "rule",
        event.duration_ms,
    )
    assert event.principal is not None
    assert (event.principal.kind, event.principal.username) == ("app_user", "alice")


def test_allow_reasons(make: MakeCaller, world: World, events: Events):
    caller = make(on_decision=events.append, cors_preflight=True)
    token = world.client_token(world.org_creds)
    ann = bearer(world.token("ann"))
    assert caller.get("/acme/shop/x", headers=bearer(token)).status_code == 200
    client = _only(events)
    assert (client.reason, client.principal and client.principal.kind) == (
        "all-access",
        "org_client",
    )
    assert caller.get("/management/orgs/acme", headers=ann).status_code == 200
    management = _only(events)
    assert (management.reason, management.org, management.app) == ("management", None, None)
    assert caller.get("/acme/sandbox/x").status_code == 200
    guest = _only(events)
    assert (guest.reason, guest.principal and guest.principal.kind) == ("rule", "guest")
    preflight = {"Origin": "https://a.example", "Access-Control-Request-Method": "PUT"}
    assert caller.request("OPTIONS", "/acme/vault/x", headers=preflight).status_code == 200
    event = _only(events)
    assert (event.decision, event.reason, event.principal) == ("allow", "cors-preflight", None)


# -- refusals -----------------------------------------------------------------------------------


def test_a_guest_refused_is_401_with_the_guest(watched: Caller, events: Events):
    response = watched.get("/acme/vault/x")
    assert response.status_code == 401
    event = _refusal(events, response)
    assert event.reason == "unauthorized"
    assert event.principal is not None
    assert event.principal.kind == "guest"


def test_a_bad_token_is_401_before_anyone_is_known(watched: Caller, events: Events):
    response = watched.get("/acme/shop/x", headers=bearer("not-a-token"))
    event = _refusal(events, response)
    assert (event.status, event.reason, event.principal) == (401, "auth_bad_access_token", None)


def test_a_forbidden_request_names_who_was_refused(watched: Caller, world: World, events: Events):
    victor = bearer(world.token("victor"))
    response = watched.request("DELETE", "/acme/vault/notes/1", headers=victor)
    event = _refusal(events, response)
    assert event.status == 403
    assert event.principal is not None
    assert event.principal.username == "victor"
    assert (event.method, event.path, event.org, event.app) == (
        "DELETE",
        "/acme/vault/notes/1",
        "acme",
        "vault",
    )


def test_usergrid_status_codes_report_the_401_they_answer(
    make: MakeCaller, world: World, events: Events
):
    caller = make(on_decision=events.append, usergrid_status_codes=True)
    victor = bearer(world.token("victor"))
    response = caller.request("DELETE", "/acme/vault/notes/1", headers=victor)
    assert _refusal(events, response).status == 401


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/acme/shop/a/../b", 400),
        ("GET", "/acme/shop/a;b", 400),
        ("TRACE", "/acme/shop/x", 405),
        ("DELETE", "/acme/shop/token", 405),
        ("GET", "/nowhere", 401),
    ],
)
def test_refusals_before_authentication(
    watched: Caller, events: Events, method: str, path: str, status: int
):
    response = watched.call(method, path, raw=path.encode())
    assert response.status == status
    event = _only(events)
    assert (event.decision, event.status, event.method) == ("refuse", status, method)
    assert event.reason == response.json()["error"]
    assert event.principal is None


def test_a_store_failure_is_503(watched: Caller, world: World, events: Events):
    token = world.token("alice")
    world.store.down = True
    response = watched.get("/acme/shop/x", headers=bearer(token))
    assert response.status_code == 503
    assert _refusal(events, response).reason == "service_unavailable"


def test_a_request_the_adapter_cannot_read(make: MakeCaller, adapter: str, events: Events):
    """Refused before the decision: reported all the same, without a method or path."""
    caller = make(on_decision=events.append)
    if adapter == "wsgi":
        answer = caller.call("GET", "/acme/shop/x", extra={"RAW_URI": "/acme/shop/\u20ac"})
    else:
        answer = caller.call("GET", "/acme/shop/x", extra={"root_path": "/api"})
    assert answer.status == 400
    event = _only(events)
    assert (event.decision, event.method, event.path, event.reason) == (
        "refuse",
        "",
        "",
        "invalid_request",
    )


# -- the endpoints ------------------------------------------------------------------------------


def test_endpoint_answers(watched: Caller, world: World, events: Events):
    grant = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    response = watched.post("/acme/shop/token", data=grant)
    assert response.status_code == 200
    event = _only(events)
    assert event[1:7] == ("POST", "/acme/shop/token", "acme", "shop", "answer", 200)
    assert (event.reason, event.principal) == ("token", None)
    me = watched.get("/management/me", headers=bearer(world.token("ann")))
    assert me.status_code == 200
    assert _only(events)[5:7] == ("answer", 200)
    revoke = watched.put(
        "/acme/shop/users/alice/revoketokens", headers={"Authorization": basic(world.shop_creds)}
    )
    assert revoke.status_code == 200
    assert _only(events).reason == "revoke_all"


def test_endpoint_refusals(watched: Caller, events: Events):
    wrong = {"grant_type": "password", "username": "alice", "password": "wrong"}
    response = watched.post("/acme/shop/token", data=wrong)
    assert response.status_code == 400
    event = _refusal(events, response)
    assert (event.reason, event.method, event.path) == ("invalid_grant", "POST", "/acme/shop/token")
    too_large = watched.post(
        "/acme/shop/token", content=b"x" * 70_000, headers={"content-type": "text/plain"}
    )
    assert too_large.status_code == 400
    assert _refusal(events, too_large)[1:5] == ("POST", "/acme/shop/token", "acme", "shop")


def test_a_websocket_is_reported_too(world: World, events: Events):
    app = AsgiAuth(make_asgi_inner([]), world.realm, on_decision=events.append)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    token = [("Authorization", f"Bearer {world.token('alice')}")]
    for headers in (token, []):
        scope = http_scope("GET", "/acme/vault/ws", headers=headers, kind="websocket")
        asyncio.run(app(scope, receive, send))
    allowed_other_app, guest = events
    assert (allowed_other_app.decision, allowed_other_app.status) == ("refuse", 401)
    assert (guest.decision, guest.reason) == ("refuse", "unauthorized")
    events.clear()
    scope = http_scope("GET", "/acme/shop/ws", headers=token, kind="websocket")
    asyncio.run(app(scope, receive, send))
    assert _only(events)[4:7] == ("shop", "allow", None)


# -- the hook -----------------------------------------------------------------------------------


def _raising(event: DecisionEvent) -> None:
    raise RuntimeError("the metrics backend is down")


def test_a_hook_that_raises_changes_nothing(
    make: MakeCaller, world: World, caplog: pytest.LogCaptureFixture
):
    caller = make(on_decision=_raising)
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        allowed = caller.get("/acme/shop/x", headers=bearer(world.token("alice")))
        refused = caller.get("/acme/vault/x")
        world.store.down = True
        failed = caller.get("/acme/shop/x", headers=bearer("x" * 40))
    assert (allowed.status_code, refused.status_code, failed.status_code) == (200, 401, 401)
    assert len(caller.calls) == 1
    errors = [r for r in caplog.records if r.name == "baas_auth" and r.levelno == logging.ERROR]
    assert len(errors) == 3
    assert all("on_decision hook raised" in r.getMessage() for r in errors)
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)


@pytest.mark.parametrize("hook", [42, "print", object()])
def test_the_hook_must_be_callable(make: MakeCaller, hook: object):
    with pytest.raises(ConfigError, match="on_decision"):
        make(on_decision=hook)


async def _coroutine_hook(event: DecisionEvent) -> None:
    return None


class _AsyncCallable:
    async def __call__(self, event: DecisionEvent) -> None:
        return None


@pytest.mark.parametrize("hook", [_coroutine_hook, _AsyncCallable()])
def test_the_hook_cannot_be_async(make: MakeCaller, hook: object):
    """It is called where the decision runs, synchronously: a coroutine would never run."""
    with pytest.raises(ConfigError, match="cannot be an async function"):
        make(on_decision=hook)


def test_no_hook_is_the_default(make: MakeCaller):
    assert make().app.options.on_decision is None
    assert make(on_decision=None).app.options.on_decision is None


def test_an_async_realm_reports_alike(make_async: MakeCaller, async_world: World):
    events: Events = []
    caller = make_async(on_decision=events.append)
    assert caller.get("/acme/shop/x", headers=bearer(async_world.token("alice"))).status_code == 200
    assert _only(events)[5:7] == ("allow", None)
    assert caller.get("/acme/vault/x").status_code == 401
    assert _only(events)[5:8] == ("refuse", 401, "unauthorized")
    token = async_world.token("bob")
    async_world.store.down = True
    failed = caller.get("/acme/shop/x", headers=bearer(token))
    assert failed.status_code == 503
    assert _refusal(events, failed).reason == "service_unavailable"


# -- the logger ---------------------------------------------------------------------------------


def _baas_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "baas_auth"]


def test_refusals_are_logged_at_info_allows_only_at_debug(
    caller: Caller, world: World, caplog: pytest.LogCaptureFixture
):
    token = world.token("alice")
    with caplog.at_level(logging.INFO, logger="baas_auth"):
        assert caller.get("/acme/shop/x", headers=bearer(token)).status_code == 200
        assert _baas_records(caplog) == []
        assert caller.get("/acme/vault/x").status_code == 401
    (record,) = _baas_records(caplog)
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert message.startswith("refused GET /acme/vault/x: 401 unauthorized (guest)")
    event = record.decision_event  # type: ignore[attr-defined]
    assert isinstance(event, DecisionEvent)
    assert event.reason == "unauthorized"
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="baas_auth"):
        assert caller.get("/acme/shop/x", headers=bearer(token)).status_code == 200
    (allowed,) = _baas_records(caplog)
    assert allowed.levelno == logging.DEBUG
    assert allowed.getMessage().startswith("allowed GET /acme/shop/x: - rule (app_user ")


def test_store_failures_are_logged_at_warning(
    caller: Caller, world: World, caplog: pytest.LogCaptureFixture
):
    token = world.token("alice")
    world.store.down = True
    with caplog.at_level(logging.WARNING, logger="baas_auth"):
        assert caller.get("/acme/shop/x", headers=bearer(token)).status_code == 503
    (record,) = _baas_records(caplog)
    assert record.levelno == logging.WARNING
    assert "store failure (StoreError: the store is down)" in record.getMessage()
    assert "503 service_unavailable" in record.getMessage()


def test_no_secret_reaches_the_log(
    make: MakeCaller, world: World, caplog: pytest.LogCaptureFixture
):
    caller = make(on_decision=lambda event: None)
    token = world.token("victor")
    secret = world.shop_creds.client_secret
    with caplog.at_level(logging.DEBUG, logger="baas_auth"):
        caller.get(f"/acme/vault/secrets?access_token={token}&page=2")
        caller.get("/acme/vault/secrets", headers=bearer(token))
        caller.get(f"/acme/vault/x?client_id={world.shop_creds.client_id}&client_secret={secret}")
        caller.get("/acme/vault/access_token=abcdefghijklmnop/x")
        caller.get("/acme/vault/Bearer%20abcdefghijklmnopq")
        for password in (PASSWORD, "hunter2-wrong"):
            grant = {"grant_type": "password", "username": "alice", "password": password}
            caller.post("/acme/shop/token", data=grant)
    records = _baas_records(caplog)
    assert len(records) == 7
    text = "\n".join(f"{r.getMessage()} {r.decision_event!r}" for r in records)  # type: ignore[attr-defined]
    for secret_text in (token, secret, "abcdefghijklmnop", PASSWORD, "hunter2", "page=2"):
        assert secret_text not in text
    assert "access_token=***" in text


def test_a_forged_log_line_is_escaped(caller: Caller, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="baas_auth"):
        answer = caller.call("GET", "/acme/shop/a\nrefused GET /x: 200 ok")
    assert answer.status == 400
    (record,) = _baas_records(caplog)
    assert "\n" not in record.getMessage()
    assert "/acme/shop/a\\nrefused" in record.getMessage()


def test_nothing_is_timed_or_built_while_nobody_listens(
    caller: Caller, world: World, monkeypatch: pytest.MonkeyPatch
):
    def forbidden() -> int:
        raise AssertionError("timed a decision nobody listens to")

    monkeypatch.setattr("baas_auth.middleware.events.perf_counter_ns", forbidden)
    logging.getLogger("baas_auth").setLevel(logging.WARNING)
    try:
        assert caller.get("/acme/shop/x", headers=bearer(world.token("alice"))).status_code == 200
        assert caller.get("/acme/vault/x").status_code == 401
        assert caller.post("/acme/shop/token", data={"grant_type": "password"}).status_code == 400
    finally:
        logging.getLogger("baas_auth").setLevel(logging.NOTSET)
    assert DecisionEvents(None).start() is None
