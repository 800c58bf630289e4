"""On a three-shard Redis Cluster, from a ``redis+cluster://`` URL (behaviour §7, docs/redis.md).

One cluster for the module (``tests/redis_topologies.py``). Each realm's keys share the slot of
its prefix's hash tag, so every script stays atomic; realms under different tags spread over the
shards. Requests go through both adapters; a revocation made through another realm object (a
process of its own, as far as the store can tell) applies to the very next request; a copy and a
backup read a realm whose tokens live on a shard other than the one the URL names first (a SCAN
visits every primary).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis.cluster

from baas_auth import AsyncRealm, Realm, StoreError
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.stores import SQLiteStore
from baas_auth.stores.redis import AsyncRedisStore, RedisStore
from baas_auth.stores.transfer import backup_realm, copy_realm
from tests.adapters.conftest import Call, make_asgi_inner
from tests.adapters.test_redis_outage import (
    TIMEOUT_S,
    Deployment,
    _refused,
    _served,
    _token,
    deploy,
)
from tests.conftest import FAST_HASHER, FakeClock
from tests.integration.cli_runner import Cli
from tests.realm_facade import BlockingRealm
from tests.redis_server import free_port
from tests.redis_topologies import RedisCluster

_tags = itertools.count()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    servers = RedisCluster(tmp_path_factory.mktemp("cluster"))
    yield servers
    servers.stop()


def prefix_on(cluster: RedisCluster, node: int) -> str:
    """A prefix not used before whose hash tag's slot lives on ``node``."""
    for number in _tags:
        prefix = f"{{shop-{number}}}:"
        if cluster.node_of(prefix) == node:
            return prefix
    raise AssertionError("unreachable: the tags never end")


def _url(cluster: RedisCluster, prefix: str) -> str:
    return f"{cluster.url}?prefix={prefix}"


def _seed(url: str, org: str) -> Realm:
    realm = Realm.open(url, create=True, password_hasher=FAST_HASHER)
    realm.create_org(org)
    realm.create_app(org, "shop", roles="usergrid")
    return realm


def test_realms_spread_over_the_shards_each_in_one_slot(cluster: RedisCluster) -> None:
    prefixes = [prefix_on(cluster, node) for node in range(3)]
    for number, prefix in enumerate(prefixes):
        realm = _seed(_url(cluster, prefix), f"org{number}")
        realm.ping()  # a health check reads the realm's shard
        realm.create_user(f"org{number}", "shop", "alice", password="a-long-password")
        realm.password_token(f"org{number}", "shop", "alice", "a-long-password")
        realm.close()
    by_node = cluster.keys_by_node("{shop-*")
    for node, prefix in enumerate(prefixes):
        keys = by_node[node]
        assert keys, f"nothing on shard {node}"
        assert all(key.startswith(prefix) for key in keys)  # the realm's keys, all on its shard
        assert {f"{prefix}stamp", f"{prefix}dir", f"{prefix}tok-by-exp"} <= set(keys)


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def deployed(
    request: pytest.FixtureRequest, cluster: RedisCluster, clock: FakeClock
) -> Iterator[tuple[Deployment, str]]:
    """A deployment on the cluster, and its store's prefix."""
    on_cluster = SimpleNamespace(url=cluster.url)
    prefix = prefix_on(cluster, 2)  # not the shard the URL names first
    for deployment in deploy(request.param, on_cluster, clock, prefix=prefix):
        yield deployment, prefix


def test_requests_are_judged_on_the_cluster_and_a_revocation_elsewhere_applies_at_once(
    deployed: tuple[Deployment, str], cluster: RedisCluster
) -> None:
    deployment, prefix = deployed
    alice, bob = _token(deployment, "alice"), _token(deployment, "bob")
    for _ in range(3):  # decided, then remembered, then recalled
        _served(deployment, alice, "alice")
        _served(deployment, bob, "bob")
    other = Realm.open(_url(cluster, prefix), password_hasher=FAST_HASHER)
    try:
        assert other.revoke_token(alice)  # another realm object, its own client and pools
        assert deployment.get(alice).status == 401
        _served(deployment, bob, "bob")
        assert other.revoke_user_tokens("acme", "shop", "bob") == 1
        assert deployment.get(bob).status == 401
    finally:
        other.close()
    granted = deployment.password_grant()
    assert granted.status == 200, granted.body
    _served(deployment, granted.json()["access_token"], "alice")


def test_a_realm_moved_to_another_shard_is_served_on_fresh_state(
    deployed: tuple[Deployment, str], cluster: RedisCluster
) -> None:
    """A resharding moves the realm's slot under a running middleware: the clients follow the
    cluster's redirections, every request is still served, and a revocation still applies to
    the very next one."""
    deployment, prefix = deployed
    alice, bob = _token(deployment, "alice"), _token(deployment, "bob")
    for _ in range(3):
        _served(deployment, alice, "alice")
    cluster.move_slot(prefix, to=0)
    for _ in range(3):
        _served(deployment, alice, "alice")
        _served(deployment, bob, "bob")
    other = Realm.open(_url(cluster, prefix), password_hasher=FAST_HASHER)
    try:
        assert other.revoke_token(alice)
        assert deployment.get(alice).status == 401
    finally:
        other.close()
    assert f"{prefix}stamp" in cluster.keys_by_node("{shop-*")[0]  # moved, and written there
    granted = deployment.password_grant()
    assert granted.status == 200, granted.body


def test_copy_and_backup_read_every_token_from_a_cluster(
    cluster: RedisCluster, tmp_path: Path
) -> None:
    prefix = prefix_on(cluster, 2)
    url = _url(cluster, prefix)
    realm = _seed(url, "acme")
    for number in range(250):  # more than one listing batch
        realm.create_user("acme", "shop", f"user{number}", password="a-long-password")
    tokens = [
        realm.password_token("acme", "shop", f"user{number}", "a-long-password").access_token
        for number in range(250)
    ]
    realm.close()
    source = RedisStore(url)
    try:
        with closing(SQLiteStore(tmp_path / "copy.db")) as destination:
            report = copy_realm(source, destination)
        assert report.tokens == len(tokens)
        backup = backup_realm(source, tmp_path / "realm.backup")
        assert (backup.tokens, backup.records) == (report.tokens, report.records)
    finally:
        source.close()
    copied = Realm.open("sqlite:///" + str(tmp_path / "copy.db"), password_hasher=FAST_HASHER)
    try:
        assert len(copied.list_users("acme", "shop")) == 250
    finally:
        copied.close()
    done = Cli(tmp_path).json("copy", url, "sqlite:///cli.db")
    assert done["tokens"] == len(tokens)


def test_a_cluster_no_node_of_which_answers_is_503_never_500(clock: FakeClock) -> None:
    """redis-py's asyncio cluster client connects at its first command and raises
    ``RedisClusterUnreachableError`` (not a ``RedisError``) when no node answers: ``ping``
    and every store call let it through instead of ``StoreError``, and the health path
    answered 500. Every request is 503, the health path too."""
    url = f"redis+cluster://127.0.0.1:{free_port()}?prefix={{nowhere}}:"
    calls: list[Call] = []
    facade = BlockingRealm(
        lambda: AsyncRealm(
            AsyncRedisStore(url, timeout=TIMEOUT_S), clock=clock, password_hasher=FAST_HASHER
        )
    )
    app = AsgiAuth(make_asgi_inner(calls), facade.inner, health_path="/health")
    deployment = Deployment("asgi-async", facade, app, facade.loop, calls)
    try:
        for token in (None, "a-token"):
            _refused(deployment.get(token), deployment)
        health = deployment.get(None, path="/health")
        assert health.status == 503, health.body
        with pytest.raises(StoreError):
            facade.ping()
    finally:
        facade.close()
    with pytest.raises(StoreError):  # the blocking client connects when it is made
        Realm.open(url)


def test_the_stamp_is_read_off_a_connection_of_its_node_not_through_the_command_layer(
    cluster: RedisCluster, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py's cluster command layer costs about three times the round trip (docs/redis.md,
    "Redis Cluster"): the steady state of a request reads the stamp off a connection of the node
    that serves its slot, as over one server, and the command layer is not used for it."""
    prefix = prefix_on(cluster, 1)
    deployed = deploy("wsgi", SimpleNamespace(url=cluster.url), clock, prefix=prefix)
    deployment = next(deployed)
    alice = _token(deployment, "alice")
    for _ in range(3):
        _served(deployment, alice, "alice")
    commands: list[tuple[object, ...]] = []
    through_layer = redis.cluster.RedisCluster.execute_command

    def counted(self: object, *args: object, **options: object) -> object:
        commands.append(args)
        return through_layer(self, *args, **options)

    monkeypatch.setattr(redis.cluster.RedisCluster, "execute_command", counted)
    for _ in range(5):
        _served(deployment, alice, "alice")
    assert commands == []
    deployed.close()
