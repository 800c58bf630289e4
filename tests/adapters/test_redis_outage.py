"""Fail closed and recover (behaviour §7), in process, on both adapters over Redis.

Three deployments, each on a redis-server of its own (its own port and append-only file): the
WSGI adapter over a ``Realm`` on ``RedisStore``, the ASGI adapter over the same, and the ASGI
adapter over an ``AsyncRealm`` on ``AsyncRedisStore`` (its requests on one event loop, the
realm's). Each gets a short store timeout. When the server is killed, paused (SIGSTOP: slow past
the timeout) or hands back a malformed record, the very request that got 200 gets 503
``service_unavailable`` with ``Retry-After``, without the inner app being called, and within
about one timeout; while an ASGI request waits on a paused server its event loop keeps running.
When the server comes back (restarted on the same port with the same file, or SIGCONT), the
SAME middleware object serves the SAME tokens again, with no restart and nothing reconnected by
hand, and every answer is the right one (a reply to a timed-out command is never taken for the
next one's).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from baas_auth import AsyncRealm, Realm
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.stores.redis import AsyncRedisStore, RedisStore
from baas_auth.wsgi import AuthMiddleware as WsgiAuth
from tests.adapters.conftest import (
    PASSWORD,
    Answer,
    Call,
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

TIMEOUT_S = 0.3
PREFIX = "baas:"  # the default: each deployment has a server of its own
TICK_S = 0.01


@dataclass
class Deployment:
    """One middleware (never rebuilt) over one realm, and how to send it a request."""

    kind: str
    realm: Realm
    """A ``Realm``, or the blocking facade over the ``AsyncRealm`` the middleware holds."""
    app: Any
    loop: LoopThread | None
    """The event loop the ASGI middleware runs on (the server's)."""
    calls: list[Call] = field(default_factory=list)
    ticks: int = 0
    """How often the event loop ran a 10 ms ticker during the last request (ASGI)."""

    def get(self, token: str | None, path: str = "/acme/shop/books") -> Answer:
        headers = [] if token is None else [("Authorization", f"Bearer {token}")]
        return self.send("GET", path, headers, b"")

    def password_grant(self) -> Answer:
        form = f"grant_type=password&username=alice&password={PASSWORD}".replace(" ", "+")
        headers = [("Content-Type", "application/x-www-form-urlencoded")]
        return self.send("POST", "/acme/shop/token", headers, form.encode())

    def send(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if self.loop is None:
            environ = wsgi_environ(method, path, raw=path.encode(), headers=headers, body=body)
            return call_wsgi(self.app, environ)
        scope = http_scope(method, path, raw=path.encode(), headers=headers)
        return self.loop.run(self._beside_a_ticker(call_asgi(self.app, scope, [body])))

    async def _beside_a_ticker(self, exchange: Any) -> Answer:
        """The request, with a ticker on the same loop counting how often the loop was free."""
        self.ticks = 0
        request = asyncio.ensure_future(exchange)
        while not request.done():
            await asyncio.sleep(TICK_S)
            self.ticks += 1
        return await request


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    own = RedisServer(tmp_path).start()
    yield own
    if own.process is not None and own.process.poll() is None:
        os.kill(own.process.pid, signal.SIGCONT)  # a failed test may leave it paused
    own.stop()


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def deployment(
    request: pytest.FixtureRequest, server: RedisServer, clock: FakeClock
) -> Iterator[Deployment]:
    yield from deploy(request.param, server, clock)


def deploy(
    kind: str, server: RedisServer, clock: FakeClock, **store_options: Any
) -> Iterator[Deployment]:
    calls: list[Call] = []
    facade: BlockingRealm | None = None
    realm: Any
    if kind == "asgi-async":
        facade = BlockingRealm(
            lambda: AsyncRealm(
                AsyncRedisStore(server.url, timeout=TIMEOUT_S, clock=clock, **store_options),
                clock=clock,
                password_hasher=FAST_HASHER,
            )
        )
        realm, loop = facade, facade.loop
        app: Any = AsgiAuth(make_asgi_inner(calls), facade.inner)
    else:
        store = RedisStore(server.url, timeout=TIMEOUT_S, clock=clock, **store_options)
        realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)
        if kind == "wsgi":
            loop, app = None, WsgiAuth(make_wsgi_inner(calls), realm)
        else:
            loop, app = LoopThread(), AsgiAuth(make_asgi_inner(calls), realm)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    for user in ("alice", "bob"):
        realm.create_user("acme", "shop", user, password=PASSWORD)
    try:
        yield Deployment(kind, realm, app, loop, calls)
    finally:
        realm.close()
        if facade is None and loop is not None:
            loop.stop()


def _token(deployment: Deployment, user: str) -> str:
    return deployment.realm.password_token("acme", "shop", user, PASSWORD).access_token


def _served(deployment: Deployment, token: str, user: str) -> None:
    """200, and the inner app was handed ``user``."""
    deployment.calls.clear()
    answer = deployment.get(token)
    assert answer.status == 200, answer.body
    assert len(deployment.calls) == 1
    principal = deployment.calls[0].principal
    assert principal is not None
    assert principal.username == user


def _refused(answer: Answer, deployment: Deployment) -> None:
    """503 service_unavailable with Retry-After, and the inner app not called."""
    assert answer.status == 503, answer.body
    assert answer.json()["error"] == "service_unavailable"
    assert answer.header("retry-after") == ["1"]
    assert answer.header("www-authenticate") == []
    assert not deployment.calls


@contextmanager
def _timed(limit_s: float) -> Iterator[Callable[[], float]]:
    started = time.monotonic()
    elapsed: list[float] = []
    yield lambda: elapsed[0]
    elapsed.append(time.monotonic() - started)
    assert elapsed[0] < limit_s, f"{elapsed[0]:.2f} s"


def test_a_killed_server_is_503_and_its_restart_is_served_by_the_same_middleware(
    deployment: Deployment, server: RedisServer
) -> None:
    alice, bob = _token(deployment, "alice"), _token(deployment, "bob")
    _served(deployment, alice, "alice")
    deployment.calls.clear()
    server.kill()
    for _ in range(2):  # and again: a failure is not remembered as an answer
        with _timed(TIMEOUT_S):  # refused at once: no waiting, no retrying
            _refused(deployment.get(alice), deployment)
    _refused(deployment.get(None), deployment)  # a guest is not let through either
    _refused(deployment.password_grant(), deployment)
    server.start()  # the same port, the same append-only file
    _served(deployment, alice, "alice")  # the same middleware, the same token
    _served(deployment, bob, "bob")
    granted = deployment.password_grant()
    assert granted.status == 200, granted.body
    _served(deployment, granted.json()["access_token"], "alice")
    assert deployment.realm.revoke_user_tokens("acme", "shop", "bob") == 1
    assert deployment.get(bob).status == 401


def test_a_restart_while_idle_costs_no_request(deployment: Deployment, server: RedisServer) -> None:
    """The server restarts between two requests: the pool's idle connections are dead, and
    the first request after it must not be the one that finds out (no 503 once it is back)."""
    alice, bob = _token(deployment, "alice"), _token(deployment, "bob")
    _served(deployment, alice, "alice")
    _served(deployment, bob, "bob")
    server.kill()
    server.start()
    _served(deployment, alice, "alice")
    _served(deployment, bob, "bob")
    granted = deployment.password_grant()
    assert granted.status == 200, granted.body


def test_a_malformed_record_is_503_until_it_is_repaired(
    deployment: Deployment, server: RedisServer
) -> None:
    alice = _token(deployment, "alice")
    _served(deployment, alice, "alice")
    token_id = deployment.realm.authenticate_token(alice).token_id
    user_uuid = deployment.realm.get_user("acme", "shop", "alice").uuid
    damaged = [  # (hash, field): the token's record, and alice's directory record
        (f"{PREFIX}tok:{token_id}", "r"),
        (f"{PREFIX}dir", f"user:acme/shop:{user_uuid}"),
    ]
    with server.client() as raw:
        for key, name in damaged:
            original = raw.hget(key, name)
            assert original is not None, (key, name)
            for garbage in (b"not json", b'{"half": ', b"\xff\xfe", b"[]"):
                raw.hset(key, name, garbage)
                raw.incr(f"{PREFIX}gen")  # as any write does: caches are dropped,
                raw.incr(f"{PREFIX}stamp")  # and no decision made before is recalled
                deployment.calls.clear()
                _refused(deployment.get(alice), deployment)
            raw.hset(key, name, original)
            raw.incr(f"{PREFIX}gen")
            raw.incr(f"{PREFIX}stamp")
            _served(deployment, alice, "alice")


def test_a_paused_server_is_503_within_the_timeout_and_served_again_when_it_resumes(
    deployment: Deployment, server: RedisServer
) -> None:
    alice, bob = _token(deployment, "alice"), _token(deployment, "bob")
    _served(deployment, alice, "alice")  # a connection is open and idle in the pool
    _served(deployment, bob, "bob")
    assert server.process is not None
    deployment.calls.clear()
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        for token in (alice, bob, None):
            with _timed(2 * TIMEOUT_S) as elapsed:
                answer = deployment.get(token)
            _refused(answer, deployment)
            assert elapsed() >= 0.9 * TIMEOUT_S  # it did wait on the server, once
            if deployment.loop is not None:
                # The loop ran other work the whole time (about TIMEOUT_S / TICK_S ticks).
                assert deployment.ticks >= TIMEOUT_S / TICK_S / 3, deployment.ticks
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    # The same middleware, the right answers: replies to the commands that timed out (the
    # server answers them once it runs again) are never read as replies to new ones.
    for _ in range(3):
        _served(deployment, alice, "alice")
        _served(deployment, bob, "bob")
    assert deployment.get(None).status == 401  # the guest of shop may not read books
    assert deployment.realm.revoke_token(alice)
    assert deployment.get(alice).status == 401


WINDOW_MS = 1000


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def windowed(
    request: pytest.FixtureRequest, server: RedisServer, clock: FakeClock
) -> Iterator[Deployment]:
    """A deployment whose store offers its change stamp for ``WINDOW_MS`` (docs/redis.md)."""
    yield from deploy(request.param, server, clock, max_staleness_ms=WINDOW_MS)


def _recalled(deployment: Deployment, token: str) -> None:
    for _ in range(3):  # decided, remembered at the second sight, then recalled
        _served(deployment, token, "alice")
    deployment.calls.clear()


def test_with_a_window_a_dead_server_is_503_once_the_stamp_is_older_than_it(
    windowed: Deployment, server: RedisServer, clock: FakeClock
) -> None:
    alice = _token(windowed, "alice")
    _recalled(windowed, alice)
    server.kill()
    clock.advance_ms(WINDOW_MS + 1)
    _refused(windowed.get(alice), windowed)  # no stamp young enough: asked of Redis, 503
    _refused(windowed.get(alice), windowed)
    server.start()
    _served(windowed, alice, "alice")


def test_with_a_window_any_failure_withdraws_the_stamp_at_once(
    windowed: Deployment, server: RedisServer
) -> None:
    """Within the window a dead server is not asked, until any request finds it dead: from
    then on no admission is recalled, every request tries Redis (503) until it is back."""
    alice = _token(windowed, "alice")
    _recalled(windowed, alice)
    server.kill()
    _served(windowed, alice, "alice")  # within the window: recalled, Redis not asked
    windowed.calls.clear()
    _refused(windowed.get(alice, "/acme/shop/other"), windowed)  # a new request finds it dead
    _refused(windowed.get(alice), windowed)  # the stamp is gone: never a recalled admission
    server.start()
    _served(windowed, alice, "alice")
