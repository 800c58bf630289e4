"""``route_guard``, the hook the framework helpers set: asked, on both adapters, only when no rule
allows an authenticated caller of the addressed application; True lets the request through (the
route's guard decides, reason ``route-guard``), anything else, an error included, leaves it
refused. The framework routers behind it are tested in ``tests/integrations/test_route_guards``.

Multi-tenant mode: victor (acme/vault, locked roles) may ``get:/Books/**`` and ``put:/notes/*``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from baas_auth import DecisionEvent
from baas_auth.errors import ConfigError
from baas_auth.middleware.decisions import ROUTE_GUARD_KEY
from tests.adapters.conftest import MakeCaller, World, bearer

GUARDED = "/acme/vault/shelves/1"


class Router:
    """A stand-in for a framework's router: which paths it was asked about, and the one it
    says carries a guard."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, where: Mapping[str, Any]) -> bool:
        path = str(where.get("PATH_INFO", where.get("path")))
        self.asked.append(path)
        return path == GUARDED


def test_a_route_guard_takes_what_no_rule_allows(make: MakeCaller, world: World) -> None:
    router, events = Router(), list[DecisionEvent]()
    caller = make(route_guard=router, on_decision=events.append)
    victor = bearer(world.token("victor"))
    for _ in range(3):  # the second sight of a request may be remembered: never this one
        assert caller.request("DELETE", GUARDED, headers=victor).status_code == 200
        assert caller.last.principal is not None
        assert caller.last.principal.username == "victor"
        assert caller.last.raw[ROUTE_GUARD_KEY] is True  # for the helpers' second look
    assert caller.request("GET", "/acme/vault/Books/1", headers=victor).status_code == 200
    assert ROUTE_GUARD_KEY not in caller.last.raw  # a rule allowed this one
    events.pop()
    assert [(e.decision, e.reason) for e in events] == [("allow", "route-guard")] * 3
    calls = len(caller.calls)
    for _ in range(3):
        refused = caller.request("DELETE", "/acme/vault/drawers/1", headers=victor)
        assert refused.status_code == 403
        assert refused.json()["error"] == "unauthorized"
    assert len(caller.calls) == calls  # the inner app never saw a refused request
    assert router.asked == [GUARDED] * 3 + ["/acme/vault/drawers/1"] * 3
    assert [(e.decision, e.reason) for e in events[3:]] == [("refuse", "unauthorized")] * 3


def test_it_is_asked_only_for_want_of_a_rule(make: MakeCaller, world: World) -> None:
    router = Router()
    caller = make(route_guard=router)
    victor = bearer(world.token("victor"))
    answers = [
        caller.request("DELETE", GUARDED),  # the guest: 401 as before
        caller.request("DELETE", GUARDED, headers=bearer("not-a-token")),
        caller.request("DELETE", GUARDED, headers=bearer(world.token("bob"))),  # acme/shop's
        caller.request("GET", "/management/users/gus", headers=bearer(world.token("ann"))),
        caller.request("GET", "/acme/vault/Books/1", headers=victor),  # a rule allows it
    ]
    assert [answer.status_code for answer in answers] == [401, 401, 401, 403, 200]
    assert router.asked == []


def test_a_failing_route_guard_leaves_the_request_refused(
    make: MakeCaller, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(where: Mapping[str, Any]) -> bool:
        raise LookupError("the router cannot match this")

    caller = make(route_guard=broken)
    with caplog.at_level(logging.WARNING, logger="baas_auth"):
        answer = caller.request("DELETE", GUARDED, headers=bearer(world.token("victor")))
    assert answer.status_code == 403
    assert not caller.called
    assert "route_guard failed" in caplog.text


def test_only_true_takes_a_request(make: MakeCaller, world: World) -> None:
    caller = make(route_guard=lambda where: "yes")
    answer = caller.request("DELETE", GUARDED, headers=bearer(world.token("victor")))
    assert answer.status_code == 403
    assert not caller.called


def test_a_route_guard_is_a_plain_function(make: MakeCaller) -> None:
    async def asynchronous(where: Mapping[str, Any]) -> bool:
        return True

    for wrong in (asynchronous, "yes"):
        with pytest.raises(ConfigError, match="route_guard is a plain function"):
            make(route_guard=wrong)
