"""The documented recovery after a lost store (behaviour §7, docs/deployment.md "A lost store"), as
an operator runs it: ``baas-auth backup`` while the realm serves; the store is lost (Redis
flushed; a SQLite file's content replaced by an empty database's); the very same middleware
answers 503; ``baas-auth restore`` of the backup; the same middleware serves the same tokens
again, and password grants, without a restart. On both adapters, over Redis (sync and async
realms) and SQLite.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from baas_auth import Realm, SQLiteStore
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
from tests.integration.cli_runner import Cli
from tests.redis_server import RedisServer

server = test_redis_outage.server  # the fixture: a redis-server of the test's own

PASSWORD = "correct horse battery"


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def deployment(
    request: pytest.FixtureRequest,
    server: RedisServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Deployment]:
    # No outage is timed here: a store timeout of seconds, not the outage tests' 0.3 s, keeps
    # a loaded machine from turning a served request into a 503.
    monkeypatch.setattr(test_redis_outage, "TIMEOUT_S", 5.0)
    yield from deploy(request.param, server, clock)


def test_a_flushed_redis_restored_from_a_backup_serves_again_without_restart(
    deployment: Deployment, server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    alice = _token(deployment, "alice")
    _served(deployment, alice, "alice")
    cli = Cli(tmp_path, realm=server.url)
    cli.ok("backup", "realm.backup")
    with server.client() as raw:
        raw.flushall()
    deployment.calls.clear()
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        _refused(deployment.get(alice), deployment)
        _refused(deployment.password_grant(), deployment)
    with server.client() as raw:
        assert raw.dbsize() == 0  # the lost store is left alone meanwhile
    report = cli.json("restore", "realm.backup")
    assert report["tokens"] >= 1
    _served(deployment, alice, "alice")  # the same middleware, the same token
    assert deployment.password_grant().status == 200


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_a_sqlite_file_emptied_and_restored_from_a_backup_serves_again(
    adapter: str, tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "auth.db"
    realm = Realm(SQLiteStore(path), clock=clock, password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    alice = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    caller = Caller(adapter, realm)
    assert caller.get("/acme/shop/books", headers=bearer(alice)).status_code == 200
    cli = Cli(tmp_path, realm="sqlite:///auth.db")
    cli.ok("backup", "realm.backup")
    empty = tmp_path / "empty.db"
    SQLiteStore(empty).close()  # a store holding no realm
    with closing(sqlite3.connect(empty)) as blank, closing(sqlite3.connect(path)) as live:
        blank.backup(live)  # the live file's content replaced by it, as a bad restore would
    assert caller.get("/acme/shop/books", headers=bearer(alice)).status_code == 503
    cli.ok("restore", "realm.backup")
    assert caller.get("/acme/shop/books", headers=bearer(alice)).status_code == 200
    grant = caller.post(
        "/acme/shop/token",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD},
    )
    assert grant.status_code == 200, grant.text
    realm.close()
