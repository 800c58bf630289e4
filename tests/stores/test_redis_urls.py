"""A Redis store's URL is checked option by option when the store is made (docs/redis.md):
a misspelt or unusable option is a ``ConfigError`` that names the fix, never a ``TypeError``
from redis-py at the first request; ``prefix`` in the URL picks the realm's keys, so every
realm the Python API reaches, the CLI reaches too."""

from __future__ import annotations

from pathlib import Path

import pytest

from baas_auth import AsyncRealm, ConfigError, Realm
from baas_auth.stores.redis import AsyncRedisStore, RedisStore
from tests.conftest import FAST_HASHER
from tests.integration.cli_runner import Cli
from tests.redis_server import RedisServer

UNREACHABLE = "redis://127.0.0.1:1/0"
"""Nothing listens here: every case below must fail before any connection is tried."""

BAD_OPTIONS = [
    ("socket_timout=1", "did you mean socket_timeout?"),
    ("prefx=shop:", "did you mean prefix?"),
    ("colour=blue", "'colour' is not an option of a Redis store URL"),
    ("socket_timeout=abc", "socket_timeout='abc' in the Redis URL"),
    ("db=one", "db='one' in the Redis URL"),
    ("max_connections=-", "max_connections='-' in the Redis URL"),
    ("protocol=4", "protocol='4' in the Redis URL: 2 or 3"),
    ("decode_responses=true", "the store reads bytes"),
    ("retry_on_timeout=true", "the store never retries"),
    ("ssl_cert_reqs=none", "use a rediss:// URL"),
    ("db=1&db=2", "gives db more than once"),
    ("max_staleness_ms=soon", "max_staleness_ms in a Redis URL is one whole number"),
]


@pytest.mark.parametrize(("query", "message"), BAD_OPTIONS)
@pytest.mark.parametrize("store_class", [RedisStore, AsyncRedisStore])
def test_a_wrong_option_is_refused_when_the_store_is_made(store_class, query, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        store_class(f"{UNREACHABLE}?{query}")


@pytest.mark.parametrize(("query", "message"), BAD_OPTIONS[:3])
def test_realm_open_names_the_wrong_option(query: str, message: str):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        Realm.open(f"{UNREACHABLE}?{query}")
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        AsyncRealm.open(f"{UNREACHABLE}?{query}")


def test_tls_options_are_taken_with_rediss():
    store = RedisStore("rediss://127.0.0.1:1/0?ssl_cert_reqs=required&ssl_check_hostname=true")
    store.close()


def test_a_value_is_never_echoed_for_an_unknown_option():
    with pytest.raises(ConfigError) as refused:
        RedisStore(f"{UNREACHABLE}?pasword=hunter2")
    assert "hunter2" not in str(refused.value)
    assert "did you mean password?" in str(refused.value)


def test_the_options_redis_py_knows_still_reach_it(redis_server: RedisServer):
    url = f"{redis_server.url}?socket_timeout=2&client_name=shop-auth&health_check_interval=5"
    store = RedisStore(url, prefix="urls-known:")
    try:
        Realm(store).list_orgs()  # one command, so the connection is made
        names = [c["name"] for c in redis_server.client().client_list()]
        assert "shop-auth" in names
    finally:
        store.close()


def test_the_prefix_in_the_url_picks_the_realms_keys(redis_server: RedisServer):
    url = f"{redis_server.url}?prefix=shop-auth:"
    realm = Realm.open(url, create=True, password_hasher=FAST_HASHER)
    try:
        realm.create_org("acme")
        assert redis_server.client().keys("shop-auth:*")
        assert not redis_server.client().keys("baas:*")
        again = Realm.open(url)
        assert [org.name for org in again.list_orgs()] == ["acme"]
        again.close()
    finally:
        realm.close()


def test_the_url_prefix_wins_over_the_argument(redis_server: RedisServer):
    store = RedisStore(f"{redis_server.url}?prefix=from-url:", prefix="from-argument:")
    try:
        assert "from-url:" in repr(store)
    finally:
        store.close()


def test_the_cli_reaches_a_realm_under_any_prefix(redis_server: RedisServer, tmp_path: Path):
    url = f"{redis_server.url}?prefix=cli-shop:"
    realm = Realm.open(url, create=True, password_hasher=FAST_HASHER)
    try:
        realm.create_org("acme")
        realm.create_app("acme", "shop")
    finally:
        realm.close()
    apps = Cli(tmp_path, url).json("--json", "list-apps", "acme")
    assert "shop" in [app["name"] for app in apps]
    assert Cli(tmp_path, redis_server.url).json("--json", "list-orgs") == []


def test_the_cli_names_a_wrong_option(tmp_path: Path):
    err = Cli(tmp_path, f"{UNREACHABLE}?socket_timout=1").fails("--json", "list-orgs", status=2)
    assert "did you mean socket_timeout?" in err


SENTINEL = "redis+sentinel://127.0.0.1:1,127.0.0.1:2/shop-redis/0"
CLUSTER = "redis+cluster://127.0.0.1:1,127.0.0.1:2"
"""Nothing listens at these either: a Sentinel or Cluster URL is checked before any connection."""

BAD_TOPOLOGY_URLS = [
    ("redis+sentinel://127.0.0.1:26379", "names the service the sentinels watch"),
    ("redis+sentinel://127.0.0.1:26379/shop/one", "'one' is not a database number"),
    ("redis+sentinel://127.0.0.1:26379/shop/0/extra", "names the service"),
    ("redis+sentinel://:26379/shop", "names its servers, host:port each"),
    ("redis+sentinel://h1:port/shop", "'port' is not a port"),
    ("redis+sentinel://h1:70000/shop", "'70000' is not a port"),
    (f"{SENTINEL}?db=2", "the database goes in the path"),
    (f"{SENTINEL}?max_connections=5", "leave it out"),
    (f"{SENTINEL}?timeout=1", "use socket_timeout"),
    (f"{SENTINEL}?socket_timout=1", "did you mean socket_timeout?"),
    (f"{SENTINEL}?ssl_cert_reqs=none", "use a rediss:// URL"),
    (f"{SENTINEL}?sentinel_pasword=x", "did you mean sentinel_password?"),
    ("redis+cluster://h1:7000/3", "a cluster has database 0 only"),
    (f"{CLUSTER}?db=1", "a cluster has database 0 only"),
    (f"{CLUSTER}?sentinel_password=x", "sentinel:// URLs only; leave it out"),
    (f"{CLUSTER}?socket_timeout=soon", "socket_timeout='soon' in the Redis URL"),
    (f"{CLUSTER}?prefix=baas:", "needs a hash tag"),
    (CLUSTER, "prefix='\\{baas\\}:'"),
    ("redis+sentinel://u:p@h1/shop?password=q", "gives password twice"),
]


@pytest.mark.parametrize(("url", "message"), BAD_TOPOLOGY_URLS)
@pytest.mark.parametrize("store_class", [RedisStore, AsyncRedisStore])
def test_a_wrong_sentinel_or_cluster_url_is_refused_when_the_store_is_made(
    store_class, url, message
):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        store_class(url)


@pytest.mark.parametrize("url", [SENTINEL, f"{CLUSTER}?prefix={{baas}}:"])
def test_realm_open_and_the_cli_take_sentinel_and_cluster_urls(url: str, tmp_path: Path):
    """Read and checked, then refused only for want of a server (503's StoreError, exit 1)."""
    from baas_auth import StoreError

    with pytest.raises(StoreError):
        Realm.open(url).list_orgs()
    with pytest.raises(ConfigError, match="did you mean socket_timeout"):
        AsyncRealm.open(f"{url}{'&' if '?' in url else '?'}socket_timout=1")
    assert "Redis" in Cli(tmp_path, url).fails("--json", "list-orgs", status=1)


def test_a_sentinel_url_is_read_whole():
    from baas_auth.stores._redis_urls import read_redis_url

    read = read_redis_url(
        "rediss+sentinel://app:s%40cret@h1:26380,[::1],h3/shop-redis/2"
        "?prefix={shop}:&socket_timeout=0.5&sentinel_password=watch&ssl_cert_reqs=required"
    )
    topology = read.topology
    assert topology is not None
    assert read.prefix == "{shop}:"
    assert (topology.kind, topology.service, topology.tls) == ("sentinel", "shop-redis", True)
    assert topology.nodes == (("h1", 26380), ("::1", 26379), ("h3", 26379))
    assert topology.options == {
        "db": 2,
        "username": "app",
        "password": "s@cret",
        "socket_timeout": 0.5,
        "ssl_cert_reqs": "required",
    }
    assert topology.sentinel_options == {"password": "watch"}
