"""A lost store is a failure, not an empty realm (behaviour §7), on both adapters.

A running middleware whose store no longer holds the realm it was serving (Redis flushed, or
restarted empty; a SQLite file whose content was replaced by an empty file's or another realm's)
answers 503 to every request and logs an ERROR naming the cause on the ``baas_auth`` logger. It
writes nothing: no signing keys, no empty directory (before, it generated new keys and answered
every request 401 "No application", silently). When the data is restored, the very same
middleware serves again, without a restart. Setting up an empty store stays an explicit act:
``Realm.open(url, create=True)`` or the first write that creates something.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from baas_auth import MemoryStore, Realm, SQLiteStore
from baas_auth.errors import RealmLostError
from tests.adapters import test_redis_outage
from tests.adapters.conftest import Caller, bearer
from tests.adapters.test_redis_outage import (
    Deployment,
    _refused,
    _served,
    _token,
    deploy,
)
from tests.conftest import FAST_HASHER, FakeClock
from tests.redis_server import RedisServer

server = test_redis_outage.server  # the fixture: a redis-server of the test's own

_LOST = "no longer holds the realm"


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def deployment(
    request: pytest.FixtureRequest, server: RedisServer, clock: FakeClock
) -> Iterator[Deployment]:
    yield from deploy(request.param, server, clock)


def _dump(raw: redis.Redis) -> dict[bytes, bytes]:
    dumped: dict[bytes, bytes] = {}
    for key in raw.scan_iter(count=1000):
        value = raw.dump(key)
        assert isinstance(value, bytes)
        dumped[key] = value
    assert dumped
    return dumped


def _load(raw: redis.Redis, dumped: dict[bytes, bytes]) -> None:
    for key, value in dumped.items():
        raw.restore(key, 0, value, replace=True)


def _lost(deployment: Deployment, token: str, caplog: pytest.LogCaptureFixture) -> None:
    """503 for a token and a guest, each logged as an error that names the cause."""
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        for _ in range(2):
            _refused(deployment.get(token), deployment)
            _refused(deployment.get(None), deployment)
            _refused(deployment.password_grant(), deployment)
    errors = [r for r in caplog.records if r.name == "baas_auth" and r.levelno == logging.ERROR]
    assert errors, "no error logged"
    assert all(_LOST in record.getMessage() for record in errors)


def test_a_flushed_redis_is_503_writes_nothing_and_a_restore_serves_again(
    deployment: Deployment, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = _token(deployment, "alice")
    _served(deployment, alice, "alice")
    deployment.calls.clear()
    with server.client() as raw:
        dumped = _dump(raw)
        raw.flushall()
        _lost(deployment, alice, caplog)
        with pytest.raises(RealmLostError):  # not even an explicit act, in this process
            deployment.realm.create_org("other")
        assert raw.dbsize() == 0  # no keys, no directory: nothing was written
        _load(raw, dumped)
    _served(deployment, alice, "alice")  # the same middleware, the same token
    assert deployment.get(None).status == 401  # and the guest of shop is what it was


def test_a_redis_restarted_empty_is_503_and_a_restore_serves_again(
    deployment: Deployment, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = _token(deployment, "alice")
    _served(deployment, alice, "alice")
    deployment.calls.clear()
    with server.client() as raw:
        dumped = _dump(raw)
    server.kill()
    for stale in (server.folder / "appendonlydir").iterdir():
        stale.unlink()
    server.start()
    _lost(deployment, alice, caplog)
    with server.client() as raw:
        assert raw.dbsize() == 0
        _load(raw, dumped)
    _served(deployment, alice, "alice")


def test_a_redis_holding_another_realm_is_503(
    deployment: Deployment, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = _token(deployment, "alice")
    _served(deployment, alice, "alice")
    deployment.calls.clear()
    with server.client() as raw:
        raw.flushall()
    other = Realm.open(server.url, create=True, password_hasher=FAST_HASHER)
    other.create_org("acme")
    other.create_app("acme", "shop", roles="usergrid")
    other.close()
    _lost(deployment, alice, caplog)


def test_opening_an_empty_redis_writes_nothing_unless_asked(server: RedisServer) -> None:
    with server.client() as raw:
        raw.flushall()
        quiet = Realm.open(server.url, password_hasher=FAST_HASHER)
        assert quiet.list_orgs() == []
        assert raw.dbsize() == 0  # set up only by the first write
        created = Realm.open(server.url, create=True, password_hasher=FAST_HASHER)
        assert raw.dbsize() > 0  # keys and the realm's marker, at once
        assert created.list_orgs() == []
        quiet.create_org("acme")  # the realm the other process set up: no new keys
        assert [org.name for org in created.list_orgs()] == ["acme"]
        assert quiet.keys is not None
        assert created.keys is not None
        assert quiet.keys.current.kid == created.keys.current.kid
        quiet.close()
        created.close()


def test_a_new_memory_realm_is_set_up_by_its_first_org() -> None:
    store = MemoryStore()
    realm = Realm(store, password_hasher=FAST_HASHER)
    assert store.scan("") == []
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password="correct horse battery")
    grant = realm.password_token("acme", "shop", "alice", "correct horse battery")
    assert realm.authenticate_token(grant.access_token).username == "alice"


# -- SQLite: a file whose content is replaced ----------------------------------------------------


def _copy(source: Path, target: Path) -> None:
    """Replace ``target``'s content with ``source``'s, as SQLite's backup API does it (the
    way to replace a live database: other connections see the new content)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _records(path: Path) -> int:
    with sqlite3.connect(path) as check:
        (count,) = check.execute("SELECT count(*) FROM records").fetchone()
    check.close()
    return int(count)


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize("replacement", ["empty", "another realm"])
def test_a_sqlite_file_replaced_is_503_and_its_restore_serves_again(
    adapter: str,
    replacement: str,
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "auth.db"
    realm = Realm(SQLiteStore(path), clock=clock, password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password="correct horse battery")
    alice = realm.password_token("acme", "shop", "alice", "correct horse battery").access_token
    caller = Caller(adapter, realm)
    assert caller.get("/acme/shop/books", headers=bearer(alice)).status_code == 200
    _copy(path, tmp_path / "backup.db")
    other_path = tmp_path / "other.db"
    other = Realm(SQLiteStore(other_path), create=replacement == "another realm")
    other.close()
    _copy(other_path, path)
    held = _records(path)
    caller.calls.clear()
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        for headers in (bearer(alice), {}):
            response = caller.get("/acme/shop/books", headers=headers)
            assert response.status_code == 503, response.text
    assert not caller.called
    assert any(_LOST in record.getMessage() for record in caplog.records)
    assert _records(path) == held  # nothing written into it
    assert held > 0 or replacement == "empty"
    _copy(tmp_path / "backup.db", path)
    assert caller.get("/acme/shop/books", headers=bearer(alice)).status_code == 200
    realm.close()


def test_a_realm_opened_empty_serves_the_realm_another_process_set_up(
    tmp_path: Path,
) -> None:
    """Opened on an empty store, a process holds keys in memory only; once another process has
    set the realm up, its calls use the stored keys: credentials it makes verify elsewhere,
    tokens it issues verify elsewhere."""
    path = tmp_path / "auth.db"
    early = Realm(SQLiteStore(path), password_hasher=FAST_HASHER)
    setter = Realm(SQLiteStore(path), password_hasher=FAST_HASHER)
    setter.create_org("acme")
    setter.create_app("acme", "shop", roles="usergrid")
    setter.create_user("acme", "shop", "alice", password="correct horse battery")
    credentials = early.create_credentials("acme", "shop")
    grant = early.password_token("acme", "shop", "alice", "correct horse battery")
    assert setter.authenticate_token(grant.access_token).username == "alice"
    assert setter.client_token(credentials.client_id, credentials.client_secret).access_token
    early.close()
    setter.close()
