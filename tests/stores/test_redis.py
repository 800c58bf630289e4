"""Redis-specific behaviour of RedisStore and AsyncRedisStore, against a real redis-server.

The contract suite (test_contract.py) covers what every store does; these tests look at what
only Redis has: server-side expiry, the key layout under a prefix, URLs, the Realm end to end.
Each test runs on both classes through ``open_redis`` unless it is about one of them.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
import redis
import redis.asyncio
from redis.cluster import RedisCluster

from baas_auth import Realm
from baas_auth.errors import ConfigError, InvalidTokenError, StoreError
from baas_auth.stores import AsyncStore, Store
from baas_auth.stores.redis import AsyncRedisStore, RedisStore
from baas_auth.stores.urls import open_store
from tests.conftest import FAST_HASHER, FakeClock
from tests.redis_server import RedisServer
from tests.stores.conftest import fresh_prefix

OpenRedis = Callable[..., Store]

WEEK_MS = 7 * 86_400_000
_databases = itertools.count()


def server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    with redis_server.client() as client:
        yield client


@pytest.fixture
def prefix() -> str:
    return fresh_prefix()


@pytest.fixture
def store(open_redis: OpenRedis, redis_server: RedisServer, prefix: str) -> Store:
    """This module's store: each Redis kind in turn, on the session server, fresh prefix."""
    return open_redis(redis_server.url, prefix=prefix)


@pytest.fixture
def empty_db_url(redis_server: RedisServer) -> str:
    """The URL of a database of the session server that this test has to itself."""
    url = f"redis://127.0.0.1:{redis_server.port}/{1 + next(_databases) % 15}"  # not 0
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


def _put_token(store: Store, token_id: str, owner: str, expires_at_ms: int | None) -> None:
    store.put_token(token_id, owner, b"record", created_ms=1_000, expires_at_ms=expires_at_ms)


# Server-side expiry: housekeeping only, and only for records still valid by the server's clock


def test_a_token_expiring_in_the_future_expires_on_the_server_at_that_instant(
    store: Store, raw: redis.Redis, prefix: str
) -> None:
    expires = server_ms(raw) + 60_000
    _put_token(store, "t1", "user:a", expires)
    assert raw.pexpiretime(f"{prefix}tok:t1") == expires
    assert 0 < raw.pttl(f"{prefix}tok:t1") <= 60_000
    store.touch_token("t1", expires - 1)  # recording a use keeps the expiry
    assert raw.pexpiretime(f"{prefix}tok:t1") == expires


@pytest.mark.parametrize("expires_at_ms", [None, 100, "now"])
def test_a_token_is_never_expired_by_the_server_unless_its_expiry_is_ahead(
    store: Store, raw: redis.Redis, prefix: str, expires_at_ms: int | str | None
) -> None:
    # Tests run realms on fake clocks: whether a token is valid is the realm's decision.
    expires = server_ms(raw) if expires_at_ms == "now" else expires_at_ms
    assert not isinstance(expires, str)
    _put_token(store, "t1", "user:a", expires)
    assert raw.pttl(f"{prefix}tok:t1") == -1
    assert store.get_token("t1").record == b"record"


def test_a_token_put_again_gets_the_new_expiry(store: Store, raw: redis.Redis, prefix: str) -> None:
    _put_token(store, "t1", "user:a", server_ms(raw) + 60_000)
    _put_token(store, "t1", "user:a", None)
    assert raw.pttl(f"{prefix}tok:t1") == -1
    assert raw.zcard(f"{prefix}tok-by-exp") == 0


def test_a_transient_record_expires_on_the_server_only_when_ahead(
    store: Store, raw: redis.Redis, prefix: str
) -> None:
    ahead = server_ms(raw) + 60_000
    assert store.swap_transient("ahead", None, b"1", expires_at_ms=ahead)
    assert store.swap_transient("past", None, b"1", expires_at_ms=100)
    assert raw.pexpiretime(f"{prefix}tmp:ahead") == ahead
    assert raw.pttl(f"{prefix}tmp:past") == -1
    assert store.swap_transient("ahead", b"1", b"2", expires_at_ms=100)  # moved into the past
    assert raw.pttl(f"{prefix}tmp:ahead") == -1
    assert store.get_transient("ahead") == b"2"


def test_purge_collects_past_records_and_their_index_entries(
    store: Store, raw: redis.Redis, prefix: str
) -> None:
    _put_token(store, "old", "user:a", 100)
    _put_token(store, "new", "user:a", server_ms(raw) + 60_000)
    assert store.swap_transient("n", None, b"v", expires_at_ms=100)
    assert store.purge_expired(101) == 1
    assert raw.exists(f"{prefix}tok:old", f"{prefix}tmp:n") == 0
    assert raw.smembers(f"{prefix}tok-of:user:a") == {b"new"}
    assert raw.zcard(f"{prefix}tok-by-exp") == 1
    assert raw.zcard(f"{prefix}tmp-by-exp") == 0


def test_index_entries_of_tokens_the_server_expired_are_collected(
    store: Store, raw: redis.Redis, prefix: str
) -> None:
    for token_id in ["gone1", "gone2", "kept"]:
        _put_token(store, token_id, "user:a", server_ms(raw) + 60_000)
    raw.delete(f"{prefix}tok:gone1", f"{prefix}tok:gone2")  # as the server does at expiry
    assert store.purge_expired(server_ms(raw) + 120_000) == 1  # only "kept" was still there
    assert raw.exists(f"{prefix}tok-of:user:a", f"{prefix}tok-by-exp") == 0


def test_writes_sweep_index_entries_of_records_the_server_expired(
    store: Store, raw: redis.Redis, prefix: str
) -> None:
    # Without any purge, the indexes do not keep what the server has already dropped.
    soon = server_ms(raw) + 1
    _put_token(store, "brief", "user:a", soon)
    assert store.swap_transient("brief", None, b"v", expires_at_ms=soon)
    raw.delete(f"{prefix}tok:brief", f"{prefix}tmp:brief")  # as the server does at expiry
    _wait_for_the_server_clock_to_pass(raw, soon)
    _put_token(store, "next", "user:b", server_ms(raw) + 60_000)
    assert store.swap_transient("next", None, b"v", expires_at_ms=server_ms(raw) + 60_000)
    assert raw.exists(f"{prefix}tok-of:user:a") == 0
    assert raw.zrange(f"{prefix}tok-by-exp", 0, -1) == [b"4:nextuser:b"]
    assert raw.zrange(f"{prefix}tmp-by-exp", 0, -1) == [b"next"]


def test_a_token_id_reused_after_the_server_expired_it_stays_revocable(
    store: Store, raw: redis.Redis, prefix: str
) -> None:
    _put_token(store, "t1", "user:a", server_ms(raw) + 60_000)
    raw.delete(f"{prefix}tok:t1")  # expired by the server; its index entries remain
    _put_token(store, "t1", "user:a", None)
    store.purge_expired(server_ms(raw) + 120_000)  # the stale entry goes, the token stays
    assert store.get_token("t1").record == b"record"
    assert store.delete_principal_tokens("user:a") == 1


# Revocation


def test_revoke_all_removes_every_token_of_the_principal_and_its_set(
    store: Store, raw: redis.Redis, prefix: str
) -> None:
    ahead = server_ms(raw) + 60_000
    for n, expires in enumerate([ahead, None, 100, ahead]):
        _put_token(store, f"a{n}", "user:a", expires)
    _put_token(store, "b0", "user:b", ahead)
    assert store.delete_principal_tokens("user:a") == 4
    assert raw.exists(*(f"{prefix}tok:a{n}" for n in range(4))) == 0
    assert raw.exists(f"{prefix}tok-of:user:a") == 0
    assert raw.zrange(f"{prefix}tok-by-exp", 0, -1) == [b"2:b0user:b"]
    assert store.get_token("b0").record == b"record"


def test_get_token_is_one_round_trip(redis_server: RedisServer, prefix: str) -> None:
    sent: list[tuple[object, ...]] = []

    class Counting(redis.Redis):
        def execute_command(self, *args: object, **options: object) -> object:
            sent.append(args)
            return super().execute_command(*args, **options)

    client = Counting.from_url(redis_server.url)
    store = RedisStore(client, prefix=prefix)
    store.put("k", b"v")
    _put_token(store, "t1", "user:a", None)
    store.get_token("t1")  # the first call may have to load the script
    sent.clear()
    assert store.get_token("t1") == (b"record", store.generation())
    sent.clear()
    store.get_token("t1")
    assert [args[0] for args in sent] == ["EVALSHA"]
    client.close()


def test_scripts_are_loaded_again_when_the_server_forgot_them(
    store: Store, raw: redis.Redis
) -> None:
    store.put("k", b"v")
    raw.script_flush()
    store.put("k", b"w")
    assert store.scan("") == [("k", b"w")]


# Keys and prefixes


def test_every_key_starts_with_the_prefix(open_redis: OpenRedis, empty_db_url: str) -> None:
    prefix = "{acme-auth}:"
    store = open_redis(empty_db_url, prefix=prefix)
    _exercise(store)
    with redis.Redis.from_url(empty_db_url) as client:
        keys = sorted(key.decode() for key in client.scan_iter(count=1000))
    assert keys
    assert all(key.startswith(prefix) for key in keys), keys


def _exercise(store: Store) -> None:
    store.put("dir/1", b"x")
    assert store.transact(create={"dir/2": b"y"}, delete=["dir/1"])
    _put_token(store, "t1", "user:a", 10**14)
    _put_token(store, "t2", "user:b", None)
    store.touch_token("t1", 2_000)
    assert store.swap_transient("n", None, b"1", expires_at_ms=10**14)


def test_two_prefixes_on_one_server_do_not_see_each_other(
    open_redis: OpenRedis, redis_server: RedisServer
) -> None:
    first = open_redis(redis_server.url, prefix=fresh_prefix())
    second = open_redis(redis_server.url, prefix=fresh_prefix())
    _exercise(first)
    assert second.scan("") == []
    assert second.get_many(["dir/1", "dir/2"]) == [None, None]
    assert second.generation() == 0
    assert second.get_token("t1").record is None
    assert second.get_transient("n") is None
    assert second.delete_principal_tokens("user:a") == 0
    assert second.purge_expired(10**15) == 0
    assert first.get_token("t1").record == b"record"
    assert first.get_transient("n") == b"1"


# URLs and construction


def test_unix_socket_url(open_redis: OpenRedis, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("unix")
    server = RedisServer(folder, unix_socket=folder / "redis.sock").start()
    try:
        store = open_redis(f"unix://{folder / 'redis.sock'}?db=0")
        store.put("k", b"v")
        assert store.get("k") == b"v"
    finally:
        server.stop()


@pytest.mark.parametrize("scheme", ["redis", "rediss", "unix"])
def test_open_store_routes_redis_urls(scheme: str) -> None:
    url = "unix:///tmp/no.sock?db=0" if scheme == "unix" else f"{scheme}://localhost:1/0"
    store = open_store(url)  # no connection until the first call
    assert isinstance(store, RedisStore)
    store.close()


def test_open_store_without_the_redis_package_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"  # as if redis were not installed
        "from baas_auth.errors import ConfigError\n"
        "from baas_auth.stores.urls import open_store\n"
        "try:\n    open_store('redis://localhost:6379/0')\n"
        "except ConfigError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'baas-auth[redis]'" in result.stdout, result.stderr


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_a_bad_timeout_is_refused(timeout: object) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        RedisStore("redis://localhost:1/0", timeout=timeout)  # type: ignore[arg-type]


def test_a_bad_url_or_client_is_refused() -> None:
    with pytest.raises(ConfigError, match="Redis URL"):
        RedisStore("http://localhost:6379/0")
    with pytest.raises(ConfigError, match="prefix"):
        RedisStore("redis://localhost:1/0", prefix=b"baas:")  # type: ignore[arg-type]
    async_client = redis.asyncio.Redis()
    with pytest.raises(ConfigError, match=r"redis\.Redis client"):
        RedisStore(async_client)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"redis\.asyncio\.Redis client"):
        AsyncRedisStore(redis.Redis())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="decode_responses"):
        RedisStore(redis.Redis(decode_responses=True))


@pytest.mark.parametrize("cluster", [RedisCluster, redis.asyncio.RedisCluster])
@pytest.mark.parametrize("prefix", ["baas:", "{}baas:", "baas:{", "{baas", "}{baas:"])
def test_a_cluster_client_needs_a_hash_tag_in_the_prefix(cluster: type, prefix: str) -> None:
    # A cluster object without a cluster: the check looks at its type only.
    client = cluster.__new__(cluster)
    store_class = RedisStore if cluster is RedisCluster else AsyncRedisStore
    with pytest.raises(ConfigError, match="hash tag"):
        store_class(client, prefix=prefix)


def test_a_client_passed_in_stays_open_after_close(redis_server: RedisServer, prefix: str) -> None:
    with redis_server.client() as client:
        store = RedisStore(client, prefix=prefix)
        store.put("k", b"v")
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.get("k")
        assert client.hget(f"{prefix}dir", "k") == b"v"


def test_the_stores_are_what_they_say() -> None:
    sync = RedisStore("redis://someone:s3cret@localhost:1/0")
    assert isinstance(sync, Store)
    assert isinstance(AsyncRedisStore("redis://localhost:1/0"), AsyncStore)
    assert RedisStore.blocking is True
    assert repr(sync) == "RedisStore(prefix='baas:', client=redis.client.Redis)"
    sync.close()


# The Realm on Redis, end to end


def test_realm_open_on_redis_end_to_end(empty_db_url: str) -> None:
    clock = FakeClock()
    first = Realm.open(empty_db_url, clock=clock, password_hasher=FAST_HASHER)
    first.create_org("acme")
    first.create_app("acme", "shop")
    first.create_user("acme", "shop", "alice", password="wonderland")
    grant = first.password_token("acme", "shop", "alice", "wonderland")
    second = Realm.open(empty_db_url, clock=clock, password_hasher=FAST_HASHER)
    assert second.authenticate_token(grant.access_token).username == "alice"
    assert first.revoke_token(grant.access_token)
    with pytest.raises(InvalidTokenError):
        second.authenticate_token(grant.access_token)
    _revoke_all_is_seen_at_once(first, second)
    first.close()
    second.close()


def _revoke_all_is_seen_at_once(first: Realm, second: Realm) -> None:
    tokens = [first.password_token("acme", "shop", "alice", "wonderland") for _ in range(3)]
    for grant in tokens:
        assert first.authenticate_token(grant.access_token).username == "alice"
    assert second.revoke_user_tokens("acme", "shop", "alice") == 3
    for grant in tokens:
        with pytest.raises(InvalidTokenError):
            first.authenticate_token(grant.access_token)


def _wait_for_the_server_clock_to_pass(raw: redis.Redis, instant_ms: int) -> None:
    """Spin (a millisecond or two) until the server's clock is past ``instant_ms``."""
    while server_ms(raw) <= instant_ms:
        pass
