"""Revocation is immediate across processes (behaviour §7), whatever the middleware remembers.

A middleware serves alice's token; another process (for SQLite and Redis: a child interpreter
on the same file or server; for the memory store, which no other process can share: another
``Realm`` on the same store) revokes it, disables or deletes alice, retires the signing key or
takes back the rule; the very next request is refused and the inner app is not called. Each
case runs against every cache the request path has: none yet ("cold"), the token verified and
its principal known but the path new ("token-known"), and the steady state, where the request
was answered before and the adapter recalls the admission without reading the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

import pytest

from baas_auth import AsyncRealm, MemoryStore, Realm, SQLiteStore, Store
from tests.adapters.conftest import Answer, Caller, LoopCaller, ProbeStore
from tests.adapters.revoker_process import retire_current_key
from tests.conftest import FAST_HASHER, FakeClock, fresh_prefix
from tests.realm_facade import BlockingRealm
from tests.redis_server import RedisServer
from tests.stores.sqlite_helpers import ROOT

PASSWORD = "correct horse battery"
PATH = "/acme/shop/books/1"
OTHER_PATH = "/acme/shop/books/2"

SERVED = [
    ("memory", "wsgi"),
    ("memory", "asgi"),
    ("sqlite", "wsgi"),
    ("sqlite", "asgi"),
    ("redis", "wsgi"),
    ("redis", "asgi"),
    ("redis-async", "asgi"),
]


class Revocation(NamedTuple):
    """A change made elsewhere, and the status alice's next request gets after it."""

    op: str
    args: Callable[[str], list[Any]]
    kwargs: dict[str, Any]
    status: int


REVOCATIONS = {
    "revoke-token": Revocation("revoke_token", lambda token: [token], {}, 401),
    "revoke-user-tokens": Revocation(
        "revoke_user_tokens", lambda _: ["acme", "shop", "alice"], {}, 401
    ),
    "disable-user": Revocation(
        "update_user", lambda _: ["acme", "shop", "alice"], {"disabled": True}, 401
    ),
    "delete-user": Revocation("delete_user", lambda _: ["acme", "shop", "alice"], {}, 401),
    "retire-key": Revocation("retire_current_key", lambda _: [], {}, 401),
    "revoke-rule": Revocation(
        "revoke_grant", lambda _: ["acme", "shop", "get:/books/**"], {"user": "alice"}, 403
    ),
}


class Revoker:
    """The child interpreter that makes the changes (``revoker_process``), one per module."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tests.adapters.revoker_process import main; main()"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, command: dict[str, Any]) -> None:
        """Run one change there; return once it is made (the child answers after it)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"

    def stop(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0
        self.process.stdout.close()


@pytest.fixture(scope="module")
def revoker() -> Iterator[Revoker]:
    child = Revoker()
    yield child
    child.stop()


@dataclass
class Served:
    """A middleware over one store, alice's token, and how to change the store elsewhere."""

    caller: Caller
    token: str
    realm: Realm
    """The realm the middleware serves (for an AsyncRealm, its blocking facade)."""
    change_elsewhere: Callable[[Revocation, str], None]
    probe: ProbeStore | None
    """The served store, recording (None for an AsyncRealm's store)."""

    def get(self, path: str) -> Answer:
        return self.caller.call("GET", path, headers=[("authorization", f"Bearer {self.token}")])


def seed(realm: Realm) -> str:
    """acme/shop with its roles locked, alice allowed ``get:/books/**``; alice's token."""
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="locked")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    realm.grant("acme", "shop", "get:/books/**", user="alice")
    return realm.password_token("acme", "shop", "alice", PASSWORD).access_token


def in_child(revoker: Revoker, where: dict[str, str]) -> Callable[[Revocation, str], None]:
    def change(revocation: Revocation, token: str) -> None:
        command = {"op": revocation.op, "args": revocation.args(token), "kwargs": revocation.kwargs}
        revoker.send({**where, **command})

    return change


def in_other_realm(store: Store) -> Callable[[Revocation, str], None]:
    def change(revocation: Revocation, token: str) -> None:
        other = Realm(store)
        if revocation.op == "retire_current_key":
            retire_current_key(other)
            return
        getattr(other, revocation.op)(*revocation.args(token), **revocation.kwargs)

    return change


def serve_blocking(
    kind: str,
    adapter: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    clock: FakeClock,
    **redis_options: Any,
) -> tuple[Served, Realm]:
    change: Callable[[Revocation, str], None]
    inner: Store
    if kind == "memory":
        inner = MemoryStore()
        change = in_other_realm(inner)
    elif kind == "sqlite":
        inner = SQLiteStore(tmp_path / "auth.db")
        change = in_child(
            request.getfixturevalue("revoker"),
            {"store": "sqlite", "where": str(tmp_path / "auth.db")},
        )
    else:
        from baas_auth.stores.redis import RedisStore

        server: RedisServer = request.getfixturevalue("redis_server")
        prefix = fresh_prefix()
        inner = RedisStore(server.url, prefix=prefix, clock=clock, **redis_options)
        where = {"store": "redis", "where": server.url, "prefix": prefix}
        change = in_child(request.getfixturevalue("revoker"), where)
    probe = ProbeStore(inner)
    realm = Realm(cast(Store, probe), clock=clock, password_hasher=FAST_HASHER)
    token = seed(realm)
    served = Served(Caller(adapter, realm), token, realm, change, probe)
    return served, realm


def serve(
    kind: str,
    adapter: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    clock: FakeClock,
    **redis_options: Any,
) -> Iterator[Served]:
    if kind != "redis-async":
        found, realm = serve_blocking(kind, adapter, tmp_path, request, clock, **redis_options)
        yield found
        realm.close()
        return
    from baas_auth.stores.redis import AsyncRedisStore

    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = fresh_prefix()
    facade = BlockingRealm(
        lambda: AsyncRealm(
            AsyncRedisStore(server.url, prefix=prefix, clock=clock, **redis_options),
            clock=clock,
            password_hasher=FAST_HASHER,
        )
    )
    token = seed(cast(Realm, facade))
    where = {"store": "redis", "where": server.url, "prefix": prefix}
    caller = LoopCaller(facade.inner, facade.loop)
    change = in_child(request.getfixturevalue("revoker"), where)
    yield Served(caller, token, cast(Realm, facade), change, None)
    facade.close()


@pytest.fixture(params=SERVED, ids=["-".join(pair) for pair in SERVED])
def served(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Served]:
    kind, adapter = request.param
    yield from serve(kind, adapter, tmp_path, request, clock)


def warm(served: Served, warmed: str) -> None:
    if warmed == "token-known":
        assert served.get(OTHER_PATH).status == 200
    if warmed == "steady":  # remembered from the second sight of a request on
        assert served.get(PATH).status == 200
        assert served.get(PATH).status == 200
        assert_recalled(served)


def assert_recalled(served: Served) -> None:
    """The same request again is admitted without reading the store (where it can tell)."""
    probe = served.probe
    if probe is None:
        assert served.get(PATH).status == 200
        return
    probe.recording = True
    try:
        assert served.get(PATH).status == 200
    finally:
        probe.recording = False
    assert probe.stamp_threads, "the freshness check ran"
    assert not probe.threads, "the steady state read nothing else"
    probe.stamp_threads.clear()


@pytest.mark.parametrize("warmed", ["cold", "token-known", "steady"])
@pytest.mark.parametrize("name", list(REVOCATIONS))
def test_a_change_made_elsewhere_applies_to_the_very_next_request(
    served: Served, warmed: str, name: str
) -> None:
    revocation = REVOCATIONS[name]
    warm(served, warmed)
    calls = len(served.caller.calls)
    served.change_elsewhere(revocation, served.token)
    answer = served.get(PATH)
    assert answer.status == revocation.status, answer.body
    assert len(served.caller.calls) == calls, "the inner app was called"


REDIS_SERVED = [pair for pair in SERVED if pair[0].startswith("redis")]


@pytest.fixture(params=REDIS_SERVED, ids=["-".join(pair) for pair in REDIS_SERVED])
def served_by_redis(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[Served]:
    kind, adapter = request.param
    yield from serve(kind, adapter, tmp_path, request, clock)


@pytest.mark.parametrize("name", list(REVOCATIONS))
def test_on_redis_by_default_the_steady_state_reads_only_the_stamp_and_sees_every_change(
    served_by_redis: Served, request: pytest.FixtureRequest, name: str
) -> None:
    """No window: the request seen before costs one command (the GET of the stamp, sent
    after it arrived), and a change made in another process applies to the very next one."""
    warm(served_by_redis, "steady")
    figures = served_by_redis.caller.app.cache_figures()
    assert figures.admitted, "the admission is remembered"
    count = CommandCount(request)
    assert served_by_redis.get(PATH).status == 200
    assert count.since_last() == 1, "the stamp read, and nothing else"
    revocation = REVOCATIONS[name]
    served_by_redis.change_elsewhere(revocation, served_by_redis.token)
    answer = served_by_redis.get(PATH)
    assert answer.status == revocation.status, answer.body


def test_an_unrelated_write_elsewhere_is_judged_again_and_admitted(served: Served) -> None:
    """A write that revokes nothing (a new user) moves the freshness check too: the next
    request is judged again, on the store, and admitted."""
    warm(served, "steady")
    new_user = Revocation(
        "create_user", lambda _: ["acme", "shop", "bob"], {"password": PASSWORD}, 200
    )
    served.change_elsewhere(new_user, served.token)
    if served.probe is not None:
        served.probe.recording = True
    assert served.get(PATH).status == 200
    if served.probe is not None:
        served.probe.recording = False
        assert served.probe.threads, "judged again on the store"
        served.probe.threads.clear()
    assert_recalled(served)


@pytest.mark.parametrize("warmed", ["token-known", "steady"])
def test_a_revocation_by_the_served_realm_itself_applies_at_once(
    served: Served, warmed: str
) -> None:
    """The realm behind the middleware revokes, on the thread that serves (on SQLite, the
    same connection, whose own commits do not move its ``data_version``)."""
    warm(served, warmed)
    assert served.realm.revoke_token(served.token)
    assert served.get(PATH).status == 401


def test_a_recalled_refusal_is_lifted_by_a_grant_made_elsewhere_at_once(served: Served) -> None:
    """Refusals are remembered too (from a request's second sight on): a rule granted in
    another process applies to the very next request all the same."""
    served.change_elsewhere(REVOCATIONS["revoke-rule"], served.token)
    for _ in range(3):
        assert served.get(PATH).status == 403
    grant = Revocation("grant", lambda _: ["acme", "shop", "get:/books/**"], {"user": "alice"}, 200)
    served.change_elsewhere(grant, served.token)
    assert served.get(PATH).status == 200


# Bounded staleness (docs/redis.md): with ``max_staleness_ms`` a Redis store offers its change
# stamp as read at most that long ago, on the realm's (fake) clock here. A change made in
# another process is then certain to apply only once the window has passed since the stamp
# was read; within it a remembered decision may still be given (with a fake clock that does
# not move by itself, it is: the test pins the window's edge to the millisecond).

WINDOW_MS = 1000
WINDOWED = [("redis", "wsgi"), ("redis", "asgi"), ("redis-async", "asgi")]


@pytest.fixture(params=WINDOWED, ids=["-".join(pair) for pair in WINDOWED])
def windowed(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Served]:
    kind, adapter = request.param
    yield from serve(kind, adapter, tmp_path, request, clock, max_staleness_ms=WINDOW_MS)


class CommandCount:
    """How many commands the session's redis-server has processed, asked on one connection
    (a new one would add its handshake); each asking counts itself once."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        server: RedisServer = request.getfixturevalue("redis_server")
        self.client = server.client()
        self.last = self.now()

    def now(self) -> int:
        return int(self.client.info("stats")["total_commands_processed"])

    def since_last(self) -> int:
        """Commands processed since the last asking, not counting this one."""
        previous, self.last = self.last, self.now()
        return self.last - previous - 1


def assert_no_round_trip(served: Served, request: pytest.FixtureRequest) -> None:
    """The steady state: admitted again, and not one command reached Redis."""
    count = CommandCount(request)
    assert_recalled(served)
    assert count.since_last() == 0


@pytest.mark.parametrize("name", list(REVOCATIONS))
def test_with_a_window_a_change_elsewhere_applies_once_the_window_has_passed(
    windowed: Served, clock: FakeClock, request: pytest.FixtureRequest, name: str
) -> None:
    revocation = REVOCATIONS[name]
    warm(windowed, "steady")  # the stamp was read at this (fake) time
    assert_no_round_trip(windowed, request)
    windowed.change_elsewhere(revocation, windowed.token)
    clock.advance_ms(WINDOW_MS)
    assert windowed.get(PATH).status == 200, "within the window: not seen yet (documented)"
    calls = len(windowed.caller.calls)
    clock.advance_ms(1)
    answer = windowed.get(PATH)
    assert answer.status == revocation.status, answer.body
    assert len(windowed.caller.calls) == calls, "the inner app was called"


def test_with_a_window_a_revocation_by_the_served_realm_applies_at_once(windowed: Served) -> None:
    warm(windowed, "steady")
    assert windowed.realm.revoke_token(windowed.token)
    assert windowed.get(PATH).status == 401


def test_with_a_window_an_unrelated_write_is_judged_again_after_it_then_recalled(
    windowed: Served, clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    warm(windowed, "steady")
    new_user = Revocation(
        "create_user", lambda _: ["acme", "shop", "bob"], {"password": PASSWORD}, 200
    )
    windowed.change_elsewhere(new_user, windowed.token)
    clock.advance_ms(WINDOW_MS + 1)
    count = CommandCount(request)
    assert windowed.get(PATH).status == 200
    assert count.since_last() > 0, "judged again on the store"
    assert windowed.get(PATH).status == 200  # the second sight under the new stamp
    assert_no_round_trip(windowed, request)
