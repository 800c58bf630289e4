"""The management API's tests (``management_api=True``): the ``api`` fixture, over every
store and both adapters, and the credentials of each caller of an authorization matrix.

``api`` is parametrized over WSGI and ASGI on a memory, a SQLite and a Redis store (ASGI's
through an ``AsyncRealm``); each runs on the seeded world of ``tests/adapters/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from baas_auth import Realm
from tests.adapters.conftest import (
    Caller,
    LoopCaller,
    ProbeStore,
    World,
    async_realm_of,
    async_world,
    basic,
    bearer,
    seed,
)
from tests.conftest import FAST_HASHER, FakeClock, make_realm_store

__all__ = ["async_world"]  # the fixture, for the Redis setup

SETUPS = ["wsgi-memory", "asgi-memory", "wsgi-sqlite", "asgi-sqlite", "wsgi-redis", "asgi-redis"]
"""``asgi-redis`` is an ``AsyncRealm`` on ``AsyncRedisStore``; ``wsgi-redis`` a ``Realm`` on
``RedisStore``; both on the session's redis-server."""

WHO = [
    "guest",
    "alice",
    "bob",
    "ann",
    "gus",
    "shop-client",
    "acme-client",
    "vault-client",
    "globex-client",
]
"""Every caller of an authorization matrix: nobody; alice and bob (users of acme/shop, whose
``default`` role may do anything, as the original's); ann (admin of acme), gus (admin of
globex); the app clients of acme/shop and acme/vault, the org clients of acme and globex."""


@dataclass
class Api:
    """One world and a way to wrap it in a middleware of the adapter under test."""

    world: World
    build: Callable[..., Caller]

    def caller(self, **options: Any) -> Caller:
        """The middleware with the management API on (and ``options``)."""
        return self.build(**{"management_api": True, **options})

    def headers(self, who: str) -> dict[str, str]:
        return who_headers(self.world, who)


def who_headers(world: World, who: str) -> dict[str, str]:
    """The credentials of ``who`` (see ``WHO``): tokens, except the shop client, which sends
    its client_id and secret in a Basic header."""
    if who == "guest":
        return {}
    if who in ("alice", "bob", "ann", "gus", "victor"):  # victor: a user of acme/vault
        return bearer(world.token(who))
    if who == "shop-client":
        return {"Authorization": basic(world.shop_creds)}
    creds = {
        "acme-client": world.org_creds,
        "vault-client": world.vault_creds,
        "globex-client": world.globex_creds,
    }
    return bearer(world.client_token(creds[who]))


@pytest.fixture(params=SETUPS)
def api(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Api]:
    adapter, store = str(request.param).split("-")
    if adapter == "asgi" and store == "redis":
        world: World = request.getfixturevalue("async_world")
        realm, loop = async_realm_of(world)
        yield Api(world, lambda **options: LoopCaller(realm, loop, **options))
        return
    probe = ProbeStore(make_realm_store(store, None, request))
    sync_realm = Realm(probe, clock=clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
    world = seed(sync_realm, clock, probe)
    yield Api(world, lambda **options: Caller(adapter, sync_realm, **options))
    sync_realm.close()


def assert_api_response(
    response: httpx.Response, *, action: str, path: str, clock: FakeClock
) -> dict[str, Any]:
    """The shape of a management API answer (Usergrid's ApiResponse) and its headers."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["action"] == action
    assert body["path"] == path
    assert body["timestamp"] == clock.ms
    assert body["duration"] == 0
    assert isinstance(body["params"], dict)
    assert isinstance(body["uri"], str)
    if "entities" in body:
        assert body["count"] == len(body["entities"])
    return body


@pytest.fixture
def model(api: Api) -> Api:
    """``api`` with more of a model in acme/shop: role ``editor`` (``get:/books/**``) given
    to bob and to group ``/staff``; groups ``/staff`` (``put:/notes/*``, member alice) and
    ``/ops``; alice's own rule ``get:/own/**``."""
    realm = api.world.realm
    realm.create_role("acme", "shop", "editor")
    realm.grant("acme", "shop", "get:/books/**", role="editor")
    realm.assign_role("acme", "shop", "editor", user="bob")
    realm.create_group("acme", "shop", "/staff")
    realm.create_group("acme", "shop", "/ops")
    realm.grant("acme", "shop", "put:/notes/*", group="/staff")
    realm.assign_role("acme", "shop", "editor", group="/staff")
    realm.add_to_group("acme", "shop", "/staff", "alice")
    realm.grant("acme", "shop", "get:/own/**", user="alice")
    return api


def listed(body: dict[str, Any]) -> list[Any]:
    """What an answer lists: its ``data``, or the names (paths, for groups) of its entities."""
    if "data" in body:
        return list(body["data"])
    return [
        entity.get("path") if entity["type"] == "group" else entity["name"]
        for entity in body["entities"]
    ]
