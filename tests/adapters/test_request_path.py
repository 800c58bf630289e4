"""The request path (docs/design.md, "The request path"): each adapter hands every request to the
realm's own driver in one call and gets one answer back; the management API's route table is
matched once per request; the caches are read through a public view; a framework helper's
refusal names the challenge's realm as the middleware's own does; the ASGI adapter stands
without the optional integrations; the set of all-access kinds is written once.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from baas_auth.errors import AuthenticationError
from tests.adapters.conftest import PASSWORD, MakeCaller, World, bearer, challenges

PACKAGE = Path(__file__).resolve().parents[2] / "baas_auth"


def _counting(calls: list[str], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return function(*args, **kwargs)

    return counted


def _count_serves(adapter: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call of the realm's driver (``Realm.serve`` is its ``Driver.serve``) under
    WSGI; under ASGI, of a sync realm's event-loop driver (``BridgeDriver.serve``), as its own
    driver blocks."""
    from baas_auth.realm import async_drivers, drivers

    calls: list[str] = []
    driver = drivers.Driver if adapter == "wsgi" else async_drivers.BridgeDriver
    monkeypatch.setattr(driver, "serve", _counting(calls, "serve", driver.serve))
    return calls


def test_each_request_is_one_call_to_the_realms_driver(
    adapter: str, world: World, make: MakeCaller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First sight, second sight, and recalled: one call each, whatever the path inside."""
    calls = _count_serves(adapter, monkeypatch)
    caller = make(application="acme/shop")
    token = world.token("alice")
    calls.clear()  # construction checked the application through the same driver
    for expected in (1, 2, 3):
        assert caller.get("/books", headers=bearer(token)).status_code == 200
        assert len(calls) == expected


def test_an_endpoint_is_one_call_for_its_decision_and_one_for_its_answer(
    adapter: str, world: World, make: MakeCaller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adapter reads the body between the two."""
    calls = _count_serves(adapter, monkeypatch)
    caller = make(application="acme/shop")
    calls.clear()
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    assert caller.post("/token", data=form).status_code == 200
    assert len(calls) == 2


def test_an_async_realm_serves_the_request_path(async_world: World, make_async: MakeCaller) -> None:
    """``AsyncRealm.serve`` runs it on the loop: first sight, then recalled."""
    caller = make_async(application="acme/shop")
    token = async_world.token("alice")
    for _ in range(3):
        assert caller.get("/books", headers=bearer(token)).status_code == 200
    assert caller.app.cache_figures().admitted == 1


def test_the_management_route_table_is_matched_once_per_request(
    world: World, make: MakeCaller, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baas_auth.api.table import RouteTable

    calls: list[str] = []
    monkeypatch.setattr(RouteTable, "match", _counting(calls, "match", RouteTable.match))
    caller = make(management_api=True)
    token = world.token("ann")
    answer = caller.get("/acme/shop/roles", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert calls == ["match"]


def test_the_caches_are_read_through_a_public_view(world: World, make: MakeCaller) -> None:
    caller = make(application="acme/shop")
    token = world.token("alice")
    assert caller.app.cache_figures() == (0,) * 8  # three of them: introspection's
    for _ in range(2):
        assert caller.get("/books", headers=bearer(token)).status_code == 200
    figures = caller.app.cache_figures()
    assert (figures.parsed, figures.bearer_headers, figures.admitted, figures.tokens) == (
        1,
        1,
        1,
        1,
    )
    assert figures.refused == 0
    assert caller.app.caches_hold(token)
    secret = world.shop_creds.client_secret
    query = {"client_id": world.shop_creds.client_id, "client_secret": secret}
    for _ in range(2):
        assert caller.get("/books", params=query).status_code == 200
    assert not caller.app.caches_hold(secret)


def test_a_framework_helpers_refusal_names_the_realm_as_the_middleware_does(
    world: World, make: MakeCaller
) -> None:
    """Under ``/management`` (no application addressed) both say ``realm="management"``."""
    from baas_auth.middleware.admission import Guard

    caller = make()
    own = caller.get("/management/orgs/acme")
    assert own.status_code == 401
    guard = Guard(world.realm, caller.app.options)
    helper = guard.refusal(AuthenticationError("No admin identity for the request"), None)
    assert dict(helper.headers)["www-authenticate"] == challenges(own)[0]
    assert challenges(own) == ['Bearer realm="management"']
    in_app = guard.refusal(AuthenticationError("No"), ("acme", "shop"))
    assert dict(in_app.headers)["www-authenticate"] == 'Bearer realm="acme/shop"'


def test_the_old_path_of_the_guard_forwards_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="baas_auth.middleware.admission"):
        from baas_auth.integrations import guard as old
    from baas_auth.middleware.admission import Guard

    assert old.Guard is Guard


def test_the_asgi_adapter_does_not_import_the_integrations() -> None:
    code = (
        "import sys, baas_auth.asgi; "
        "print(sorted(m for m in sys.modules if m.startswith('baas_auth.integrations')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"


def _frozensets_of_kinds(tree: ast.AST) -> int:
    kinds = {"app_client", "org_client", "admin_user"}
    found = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Set):
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            found += values == kinds
    return found


def test_the_set_of_all_access_kinds_is_written_once() -> None:
    where = {
        str(path.relative_to(PACKAGE)): count
        for path in sorted(PACKAGE.rglob("*.py"))
        if (count := _frozensets_of_kinds(ast.parse(path.read_text())))
    }
    assert where == {"core/policy.py": 1}


def test_each_cache_of_decisions_ends_with_the_change_that_should_end_it(
    world: World, make: MakeCaller
) -> None:
    """On both adapters: an admission with a revocation, a refusal with a grant, a known
    token (on a path never seen) with a revocation. The parse caches never end: pure."""
    caller = make(application="acme/shop")
    alice, bob = world.token("alice"), world.token("bob")
    for _ in range(2):
        assert caller.get("/books", headers=bearer(alice)).status_code == 200
    assert caller.app.cache_figures().admitted == 1
    world.realm.revoke_token(alice)
    assert caller.get("/books", headers=bearer(alice)).status_code == 401

    for _ in range(3):
        assert caller.get("/public/x").status_code == 401
    assert caller.app.cache_figures().refused >= 1
    world.realm.grant("acme", "shop", "get:/public/**", role="guest")
    assert caller.get("/public/x").status_code == 200

    assert caller.get("/books/1", headers=bearer(bob)).status_code == 200
    assert caller.app.cache_figures().tokens >= 1
    world.realm.revoke_token(bob)
    assert caller.get("/books/2", headers=bearer(bob)).status_code == 401
