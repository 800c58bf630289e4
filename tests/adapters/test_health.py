"""The health path (behaviour §10): ``health_path=`` answered by the middleware without credentials.

On both adapters, single-app and multi-tenant, over every store (memory, SQLite, Redis, async
Redis): 200 ``{"status": "ok"}`` while the store answers, 503 once it does not (a store switched
down, a redis-server killed or paused past the store's timeout), and nothing else revealed;
GET and HEAD only; never remembered as a decision, never reported as one. ``Realm.ping()`` and
``AsyncRealm.ping()`` make the same check in code.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baas_auth import AsyncRealm, DecisionEvent, Realm
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.errors import ConfigError, StoreError
from baas_auth.stores.redis import AsyncRedisStore, RedisStore
from baas_auth.wsgi import AuthMiddleware as WsgiAuth
from tests.adapters.conftest import (
    Answer,
    Call,
    Caller,
    MakeCaller,
    World,
    bearer,
    call_asgi,
    call_wsgi,
    http_scope,
    make_asgi_inner,
    make_wsgi_inner,
    wsgi_environ,
)
from tests.conftest import FAST_HASHER, FakeClock
from tests.realm_facade import BlockingRealm
from tests.redis_server import RedisServer
from tests.stores.blocking_facade import LoopThread

HEALTH = "/healthz"
OK = {"status": "ok"}
UNAVAILABLE = {"status": "unavailable"}
TIMEOUT_S = 0.3


def _healthy(answer: Any) -> None:
    """200 ``{"status": "ok"}``, never cached, nothing else said."""
    status = answer.status_code if hasattr(answer, "status_code") else answer.status
    assert status == 200, answer
    assert answer.json() == OK
    _plain_headers(answer)


def _unhealthy(answer: Any) -> None:
    """503 ``{"status": "unavailable"}``: not the refusal's body (no error description, no
    timestamp), so nothing of the failure is revealed."""
    status = answer.status_code if hasattr(answer, "status_code") else answer.status
    assert status == 503, answer
    assert answer.json() == UNAVAILABLE
    _plain_headers(answer)


def _plain_headers(answer: Any) -> None:
    if isinstance(answer, Answer):
        names = {name for name, _ in answer.headers}
        assert answer.header("cache-control") == ["no-store"]
        assert answer.header("content-type") == ["application/json"]
    else:
        names = set(answer.headers.keys())
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-type"] == "application/json"
    assert "www-authenticate" not in names


# -- in process, memory and SQLite, both adapters ----------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["multi-tenant", "single-app"])
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {} if request.param == "multi-tenant" else {"application": "acme/shop"}


def test_the_health_path_answers_without_credentials(
    make: MakeCaller, mode: dict[str, Any], world: World
) -> None:
    caller = make(health_path=HEALTH, **mode)
    _healthy(caller.get(HEALTH))
    _healthy(caller.get(HEALTH, headers=bearer("not-a-token")))  # credentials play no part
    assert not caller.called


def test_head_is_answered_without_a_body(make: MakeCaller, mode: dict[str, Any]) -> None:
    caller = make(health_path=HEALTH, **mode)
    answer = caller.call("HEAD", HEALTH)
    assert answer.status == 200
    assert answer.body == b""
    assert answer.header("cache-control") == ["no-store"]
    assert not caller.called


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(make: MakeCaller, method: str) -> None:
    caller = make(health_path=HEALTH)
    answer = caller.call(method, HEALTH)
    assert answer.status == 405
    assert answer.header("allow") == ["GET, HEAD"]
    assert not caller.called


def test_a_store_that_does_not_answer_is_503(
    make: MakeCaller, mode: dict[str, Any], world: World
) -> None:
    caller = make(health_path=HEALTH, **mode)
    _healthy(caller.get(HEALTH))
    _healthy(caller.get(HEALTH))  # seen twice: a decision would now be remembered
    world.store.down = True
    _unhealthy(caller.get(HEALTH))
    head = caller.call("HEAD", HEALTH)
    assert head.status == 503
    assert head.body == b""
    world.store.down = False
    _healthy(caller.get(HEALTH))
    assert not caller.called


def test_a_store_whose_freshness_check_fails_is_503(make: MakeCaller, world: World) -> None:
    caller = make(health_path=HEALTH)
    world.store.down = world.store.stamp_fails = True
    _unhealthy(caller.get(HEALTH))


def test_the_health_path_is_off_by_default(make: MakeCaller, mode: dict[str, Any]) -> None:
    caller = make(**mode)
    answer = caller.get(HEALTH)
    assert answer.status_code in (401, 404), answer.text
    assert answer.json() != OK


def test_only_the_health_path_itself_is_answered(
    make: MakeCaller, mode: dict[str, Any], world: World
) -> None:
    """Its neighbours are decided as ever (here: a guest refused, a token admitted)."""
    caller = make(health_path=HEALTH, **mode)
    for path in (HEALTH + "/", HEALTH + "x", HEALTH.upper()):
        assert caller.get(path).json() != OK
    assert not caller.called
    shop = "/books" if mode else "/acme/shop/books"
    assert caller.get(shop, headers=bearer(world.token("alice"))).status_code == 200
    assert caller.called


def test_a_query_string_changes_nothing(make: MakeCaller) -> None:
    caller = make(health_path=HEALTH)
    _healthy(caller.get(HEALTH + "?access_token=whatever&verbose=1"))


def test_health_is_never_reported_as_a_decision(
    make: MakeCaller, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[DecisionEvent] = []
    caller = make(health_path=HEALTH, on_decision=events.append)
    with caplog.at_level(logging.DEBUG, logger="baas_auth"):
        _healthy(caller.get(HEALTH))
        caller.call("POST", HEALTH)
        world.store.down = True
        _unhealthy(caller.get(HEALTH))
    assert events == []
    assert [r for r in caplog.records if r.name.startswith("baas_auth")] == []


def test_health_is_never_remembered(make: MakeCaller, world: World) -> None:
    caller = make(health_path=HEALTH)
    before = caller.app.cache_figures()
    for _ in range(3):
        _healthy(caller.get(HEALTH))
    assert caller.app.cache_figures() == before


@pytest.mark.parametrize(
    "path",
    ["healthz", "", "/health z", "/healthz?x=1", "/healthz#x", "/héalth", 42, b"/healthz", "//"],
)
def test_a_health_path_is_a_plain_absolute_path(make: MakeCaller, path: object) -> None:
    with pytest.raises(ConfigError, match="health_path"):
        make(health_path=path)


def test_health_none_is_accepted(make: MakeCaller) -> None:
    caller = make(health_path=None)
    assert caller.get(HEALTH).json() != OK


def test_over_an_async_realm(make_async: MakeCaller, async_world: World) -> None:
    caller = make_async(health_path=HEALTH)
    _healthy(caller.get(HEALTH))
    async_world.store.down = True
    _unhealthy(caller.get(HEALTH))
    async_world.store.down = False
    _healthy(caller.get(HEALTH))
    assert not caller.called


def test_an_async_realm_not_yet_started_answers(async_world: World) -> None:
    """A fresh AsyncRealm (no operation run yet) over a live store: 200."""
    facade: Any = async_world.realm
    inner = AsyncRealm(facade.inner.store, password_hasher=FAST_HASHER)
    caller = _LoopCaller(inner, facade.loop, health_path=HEALTH)
    _healthy(caller.get(HEALTH))


class _LoopCaller(Caller):
    def __init__(self, realm: AsyncRealm, loop: LoopThread, **options: Any) -> None:
        self.loop = loop
        super().__init__("asgi", realm, **options)  # type: ignore[arg-type]

    def run_asgi(self, coroutine: Any) -> Any:
        return self.loop.run(coroutine)


# -- Realm.ping() / AsyncRealm.ping() on every store -------------------------------------------


def test_ping_answers_on_every_store(realm: Realm) -> None:
    assert realm.ping() is None  # before the first operation
    realm.create_org("acme")
    assert realm.ping() is None


def test_ping_of_a_closed_memory_store_raises() -> None:
    from baas_auth import MemoryStore

    realm = Realm(MemoryStore())
    realm.close()
    with pytest.raises(StoreError):
        realm.ping()


# -- Redis: a real server, killed and paused ---------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    own = RedisServer(tmp_path).start()
    yield own
    if own.process is not None and own.process.poll() is None:
        os.kill(own.process.pid, signal.SIGCONT)  # a failed test may leave it paused
    own.stop()


class Deployment:
    """One middleware with a health path over a realm on ``server``; ``health()`` asks it."""

    def __init__(self, kind: str, server: RedisServer, clock: FakeClock) -> None:
        self.kind = kind
        self.calls: list[Call] = []
        self.loop: LoopThread | None = None
        self.facade: BlockingRealm | None = None
        if kind == "asgi-async":
            self.facade = BlockingRealm(
                lambda: AsyncRealm(
                    AsyncRedisStore(server.url, timeout=TIMEOUT_S, clock=clock),
                    clock=clock,
                    password_hasher=FAST_HASHER,
                )
            )
            self.loop = self.facade.loop
            self.realm: Any = self.facade
            _seed(self.realm)
            self.app: Any = AsgiAuth(make_asgi_inner(self.calls), self.facade.inner, **_OPTIONS)
        else:
            store = RedisStore(server.url, timeout=TIMEOUT_S, clock=clock)
            self.realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)
            _seed(self.realm)
            if kind == "wsgi":
                self.app = WsgiAuth(make_wsgi_inner(self.calls), self.realm, **_OPTIONS)
            else:
                self.loop = LoopThread()
                self.app = AsgiAuth(make_asgi_inner(self.calls), self.realm, **_OPTIONS)

    def health(self, method: str = "GET") -> Answer:
        if self.loop is None:
            environ = wsgi_environ(method, HEALTH, raw=HEALTH.encode())
            return call_wsgi(self.app, environ)
        scope = http_scope(method, HEALTH, raw=HEALTH.encode())
        return self.loop.run(call_asgi(self.app, scope, [b""]))

    def close(self) -> None:
        self.realm.close()
        if self.facade is None and self.loop is not None:
            self.loop.stop()


def _seed(realm: Any) -> None:
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")


_OPTIONS: dict[str, Any] = {"health_path": HEALTH, "application": "acme/shop"}


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def deployment(
    request: pytest.FixtureRequest, server: RedisServer, clock: FakeClock
) -> Iterator[Deployment]:
    made = Deployment(request.param, server, clock)
    try:
        yield made
    finally:
        made.close()


def test_a_stopped_redis_server_is_503_and_its_restart_200(
    deployment: Deployment, server: RedisServer
) -> None:
    _healthy(deployment.health())
    server.kill()
    _unhealthy(deployment.health())
    _unhealthy(deployment.health())  # and again: nothing remembered
    with pytest.raises(StoreError):
        deployment.realm.ping()
    server.start()
    _healthy(deployment.health())
    assert deployment.realm.ping() is None
    assert not deployment.calls


def test_a_paused_redis_server_is_503_within_its_timeout(
    deployment: Deployment, server: RedisServer
) -> None:
    _healthy(deployment.health())
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        _unhealthy(deployment.health())
        with pytest.raises(StoreError):
            deployment.realm.ping()
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    _healthy(deployment.health())


def test_a_flushed_redis_server_is_503(deployment: Deployment, server: RedisServer) -> None:
    """A store that lost the realm this process serves answers, but holds nothing to serve."""
    _healthy(deployment.health())
    server.client().flushall()
    _unhealthy(deployment.health())
    with pytest.raises(StoreError):
        deployment.realm.ping()
