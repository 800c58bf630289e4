"""A freshness check that fails is a store failure (behaviour §7 "the freshness check is part of the
decision"): 503 ``service_unavailable``, never 500, never a remembered admission, and the inner
app not called; on both adapters, over memory and SQLite (``Realm``) and Redis (``AsyncRealm``).

The store here fails as a whole, its change stamp included (a store that reads the stamp from
its server raises where the server is gone): the adapters read the stamp first, before any of
the decision's own handling of store failures.
"""

from __future__ import annotations

import pytest

from tests.adapters.conftest import Caller, MakeCaller, World, bearer


def _remembered(caller: Caller, token: str) -> None:
    """Decided, then remembered (at its second sight), then recalled."""
    for _ in range(3):
        response = caller.get("/acme/shop/books", headers=bearer(token))
        assert response.status_code == 200, response.text
    caller.calls.clear()


def _refused(caller: Caller, world: World) -> None:
    alice = world.token("alice")
    _remembered(caller, alice)
    assert caller.get("/acme/shop/books").status_code == 401  # a guest, remembered as refused
    assert caller.get("/acme/shop/books").status_code == 401
    world.store.down = True
    world.store.stamp_fails = True
    for headers in (bearer(alice), {}):
        for _ in range(2):  # and again: a failure is not remembered
            response = caller.get("/acme/shop/books", headers=headers)
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "service_unavailable"
            assert response.headers["retry-after"] == "1"
    assert not caller.called
    world.store.down = False
    world.store.stamp_fails = False
    response = caller.get("/acme/shop/books", headers=bearer(alice))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_a_failing_freshness_check_is_503(make: MakeCaller, world: World) -> None:
    _refused(make(), world)


def test_a_failing_freshness_check_is_503_on_an_async_realm(
    make_async: MakeCaller, async_world: World
) -> None:
    _refused(make_async(), async_world)
