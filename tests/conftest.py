"""Shared fixtures: a fake clock, and realms over every store kind."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import settings

from baas_auth import MemoryStore, PasswordHasher, Realm, SQLiteStore, Store
from tests.redis_server import RedisServer

# pytest makes its own folder below it, private to the user (0700), as it does in /tmp
MEMORY_BACKED_TEMP = Path("/dev/shm")  # noqa: S108
"""Linux's memory-backed folder: the tests' folders go there unless told otherwise."""


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Put ``tmp_path`` and the other test folders in memory (``/dev/shm``) where the system has
    a writable one. Thousands of tests each create a SQLite file, a Redis append-only file or a
    server's log; on a disk each costs tens of milliseconds of file creation, checkpoints and
    pytest's own folder bookkeeping, in memory next to nothing, and the files behave the same
    (locks, shared memory of SQLite's WAL, renames, ``stat``). ``--basetemp`` or
    ``PYTEST_DEBUG_TEMPROOT`` choose another place (``PYTEST_DEBUG_TEMPROOT=/tmp`` for a disk)."""
    if config.option.basetemp or os.environ.get("PYTEST_DEBUG_TEMPROOT"):
        return
    if MEMORY_BACKED_TEMP.is_dir() and os.access(MEMORY_BACKED_TEMP, os.W_OK | os.X_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_BACKED_TEMP)


HYPOTHESIS_PROFILES = {"dev": 50, "ci": 100, "thorough": 200}
"""Examples per property test (where a test sets no count of its own), by profile: ``dev`` by
default, ``ci`` under ``CI=true``, ``thorough`` (CI's count before the suite ran on both cores)
on demand. ``HYPOTHESIS_PROFILE`` names one explicitly: ``HYPOTHESIS_PROFILE=thorough``."""

for _name, _examples in HYPOTHESIS_PROFILES.items():
    settings.register_profile(_name, max_examples=_examples, deadline=None)


def hypothesis_profile() -> str:
    """``HYPOTHESIS_PROFILE``, else ``ci`` under ``CI=true``, else ``dev``."""
    chosen = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    if chosen not in HYPOTHESIS_PROFILES:
        raise pytest.UsageError(
            f"HYPOTHESIS_PROFILE={chosen!r}: choose one of {', '.join(HYPOTHESIS_PROFILES)}"
        )
    return chosen


settings.load_profile(hypothesis_profile())

FAST_HASHER = PasswordHasher(n=16, r=1, p=1)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: int) -> None:
        self.now += ms / 1000

    @property
    def ms(self) -> int:
        return int(self.now * 1000)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


_prefixes = itertools.count()


def fresh_prefix() -> str:
    """A Redis key prefix no other test of this session uses."""
    return f"test{next(_prefixes)}:"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (tests keep apart by key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), durable=False).start()
    yield server
    server.stop()


def tmp_folder(request: pytest.FixtureRequest) -> Path:
    """The test's ``tmp_path``, asked for only by the fixtures that put a file there: pytest
    makes each one by listing every folder made before it in the session, so the thousands of
    tests on a memory or Redis store do without one."""
    folder: Path = request.getfixturevalue("tmp_path")
    return folder


def make_realm_store(kind: str, tmp_path: Path | None, request: pytest.FixtureRequest) -> Store:
    """A fresh store of ``kind``; a SQLite file in ``tmp_path`` (None: the test's own)."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore((tmp_path or tmp_folder(request)) / "auth.db")
    from baas_auth.stores.redis import RedisStore

    server: RedisServer = request.getfixturevalue("redis_server")
    return RedisStore(server.url, prefix=fresh_prefix())


REALM_KINDS = ["memory", "sqlite", "redis", "redis-async"]
"""The ``realm`` fixture's kinds: a ``Realm`` over each blocking store, and ``redis-async``, an
``AsyncRealm`` over ``AsyncRedisStore`` behind a blocking facade (``tests/realm_facade.py``)."""


@pytest.fixture(params=REALM_KINDS)
def realm(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Realm]:
    realm: Realm
    if request.param == "redis-async":
        realm = make_async_redis_realm(request, clock)
    else:
        store = make_realm_store(request.param, None, request)
        realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)
    yield realm
    realm.close()


def make_async_redis_realm(
    request: pytest.FixtureRequest, clock: FakeClock, **settings: Any
) -> Realm:
    """An ``AsyncRealm`` over a fresh ``AsyncRedisStore``, driven through the blocking facade
    (typed as the ``Realm`` whose methods it offers); ``settings`` go to the realm."""
    from baas_auth import AsyncRealm
    from baas_auth.stores.redis import AsyncRedisStore
    from tests.realm_facade import BlockingRealm

    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = fresh_prefix()

    def make() -> AsyncRealm:
        store = AsyncRedisStore(server.url, prefix=prefix)
        return AsyncRealm(store, clock=clock, password_hasher=FAST_HASHER, **settings)

    return cast(Realm, BlockingRealm(make))


@pytest.fixture
def shop(realm: Realm) -> Realm:
    """A realm with org acme, app shop (default roles) and user alice (password 'wonderland')."""
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password="wonderland", email="alice@example.com")
    return realm
