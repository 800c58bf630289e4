"""The Redis change stamp (docs/redis.md, "Bounded staleness"), on a real redis-server.

The counter ``{prefix}stamp`` moves inside the very script of every write that can change a
decision, and stays put for the writes that cannot (issuing a token, throttling records, uses).
By default the stamp is read for every call (``change_stamp()``, or ``read_change_stamp()``
awaited), a failing read is a ``StoreError``. With ``max_staleness_ms`` above 0 it is offered
from memory, only while the read that brought it is younger than that window on the store's
clock (a fake one here: no sleeps); a write by the store itself, or a failure, withdraws it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from baas_auth import AsyncRealm, ConfigError, Realm, StoreError
from baas_auth.stores import Store
from baas_auth.stores._redis_stamp import MAX_STALENESS_MS, StampWindow
from baas_auth.stores.protocols import ChangeStamped
from baas_auth.stores.redis import AsyncRedisStore
from tests.conftest import FakeClock, fresh_prefix
from tests.redis_server import RedisServer, free_port
from tests.stores.blocking_facade import BlockingStore
from tests.stores.test_change_stamp import DECISIVE_WRITES

WINDOW_MS = 1000

Write = Callable[[Store], object]

HARMLESS_WRITES: dict[str, Write] = {
    "touch_token": lambda s: s.touch_token("t1", 3),
    "swap_transient": lambda s: s.swap_transient("throttle:x", None, b"1", expires_at_ms=10),
    "delete_absent_token": lambda s: s.delete_token("nothing"),
    "delete_absent_key": lambda s: s.delete("role:nothing"),
    "revoke_nobody": lambda s: s.delete_principal_tokens("user:nobody"),
    "purge_nothing": lambda s: s.purge_expired(2),
    "create_existing": lambda s: s.create("role:x", b"other"),
}


class Opened:
    """A Redis store of one kind (sync, or async behind the blocking facade), its prefix,
    the fake clock it tells the window's time by, and the raw counter."""

    def __init__(
        self, open_redis: Callable[..., Store], server: RedisServer, **options: Any
    ) -> None:
        self.prefix = fresh_prefix()
        self.clock = FakeClock()
        self.server = server
        self.store = open_redis(server.url, prefix=self.prefix, clock=self.clock, **options)
        self.store.put("role:x", b"v")
        self.store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=5)

    @property
    def stamped(self) -> ChangeStamped:
        inner = getattr(self.store, "inner", self.store)  # the async store behind the facade
        assert isinstance(inner, ChangeStamped)
        return inner

    def counter(self) -> int:
        raw = self.server.client().get(self.prefix + "stamp")
        return 0 if raw is None else int(raw)


@pytest.fixture
def opened(open_redis: Callable[..., Store], redis_server: RedisServer) -> Opened:
    return Opened(open_redis, redis_server, max_staleness_ms=WINDOW_MS)


def test_issuing_a_token_moves_the_counter(opened: Opened) -> None:
    """Unlike the memory and SQLite stores' writes of a new token, which no loss can undo: a
    restore that loses this token must not bring back a stamp its admissions were remembered
    under."""
    before = opened.counter()
    opened.store.put_token("t2", "user:b", b"r", created_ms=1, expires_at_ms=None)
    assert opened.counter() > before


@pytest.mark.parametrize("write", list(DECISIVE_WRITES))
def test_every_decisive_write_moves_the_counter(opened: Opened, write: str) -> None:
    before = opened.counter()
    DECISIVE_WRITES[write](opened.store)
    assert opened.counter() > before


@pytest.mark.parametrize("write", list(HARMLESS_WRITES))
def test_writes_that_change_no_decision_leave_it(opened: Opened, write: str) -> None:
    """Issuing a token makes no admission untrue; throttling records and uses are not read
    by a recalled decision; a write that changes nothing moves nothing."""
    before = opened.counter()
    HARMLESS_WRITES[write](opened.store)
    assert opened.counter() == before


def exact_stamp(opened: Opened | Store) -> int | None:
    """The stamp as the adapters read it by default: ``change_stamp`` of a ``RedisStore``,
    ``read_change_stamp`` awaited on the loop of an ``AsyncRedisStore``."""
    store = opened.store if isinstance(opened, Opened) else opened
    if isinstance(store, BlockingStore):
        inner = cast(AsyncRedisStore, store.inner)
        assert inner.change_stamp() is None, "never offered from memory without a window"
        return store._loop.run(inner.read_change_stamp())
    assert isinstance(store, ChangeStamped)
    return store.change_stamp()


def test_by_default_the_stamp_is_read_by_every_call(
    open_redis: Callable[..., Store], redis_server: RedisServer
) -> None:
    """No window: each call reads the stamp (a write elsewhere is seen by the very next one),
    and its number stays put while the stored stamp does."""
    default = Opened(open_redis, redis_server)
    first = exact_stamp(default)
    assert first is not None
    assert exact_stamp(default) == first
    elsewhere = redis_server.client()
    elsewhere.incr(default.prefix + "stamp")  # a write by another process moves it
    second = exact_stamp(default)
    assert second is not None
    assert second != first
    assert exact_stamp(default) == second


def test_by_default_a_stamp_that_comes_back_is_a_new_number(
    open_redis: Callable[..., Store], redis_server: RedisServer
) -> None:
    """A restore (or a failover to a replica that lagged) brings back a stored stamp under
    which decisions were remembered: what is offered for it is a number never offered before."""
    default = Opened(open_redis, redis_server)
    elsewhere = redis_server.client()
    key = default.prefix + "stamp"
    old = elsewhere.get(key)
    offered = {exact_stamp(default)}
    elsewhere.incr(key)
    offered.add(exact_stamp(default))
    elsewhere.set(key, old)  # the data of before, restored
    assert exact_stamp(default) not in offered
    elsewhere.delete(key)  # the data lost
    assert exact_stamp(default) is None


def test_by_default_a_failing_stamp_read_is_a_store_error(
    open_redis: Callable[..., Store], redis_server: RedisServer
) -> None:
    """Never a redis-py exception, never None (which would only send the request to a full
    decision): the adapters answer 503."""
    default = Opened(open_redis, redis_server)
    assert exact_stamp(default) is not None
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    unreachable = open_redis(nobody, prefix=default.prefix, timeout=0.5)
    for _ in range(2):  # and again, on a connection made afresh
        with pytest.raises(StoreError, match="change_stamp"):
            exact_stamp(unreachable)


@pytest.mark.parametrize("read", ["get_token", "generation"])
def test_a_read_brings_the_stamp_offered_for_the_window_exactly(opened: Opened, read: str) -> None:
    assert opened.stamped.change_stamp() is None, "nothing read yet"
    getattr(opened.store, read)(*(["t1"] if read == "get_token" else []))
    assert opened.stamped.change_stamp() == opened.counter()
    opened.clock.advance_ms(WINDOW_MS)
    assert opened.stamped.change_stamp() == opened.counter(), "still within the window"
    opened.clock.advance_ms(1)
    assert opened.stamped.change_stamp() is None, "older than the window: decide in full"


def test_a_write_elsewhere_is_offered_only_once_read_again(
    opened: Opened, open_redis: Callable[..., Store]
) -> None:
    opened.store.get_token("t1")
    before = opened.stamped.change_stamp()
    other = open_redis(opened.server.url, prefix=opened.prefix)
    other.delete_token("t1")  # another process, in effect: this store cannot know
    assert opened.stamped.change_stamp() == before
    opened.clock.advance_ms(WINDOW_MS + 1)
    assert opened.stamped.change_stamp() is None
    opened.store.get_token("t1")
    assert opened.stamped.change_stamp() == opened.counter() != before


@pytest.mark.parametrize("write", list(DECISIVE_WRITES))
def test_a_write_by_the_store_itself_withdraws_the_stamp_at_once(
    opened: Opened, write: str
) -> None:
    opened.store.get_token("t1")
    assert opened.stamped.change_stamp() is not None
    DECISIVE_WRITES[write](opened.store)
    assert opened.stamped.change_stamp() is None


def test_issuing_a_token_withdraws_the_stamp(opened: Opened) -> None:
    opened.store.get_token("t1")
    assert opened.stamped.change_stamp() is not None
    opened.store.put_token("t2", "user:b", b"r", created_ms=1, expires_at_ms=None)
    assert opened.stamped.change_stamp() is None


def test_a_failure_withdraws_the_stamp(opened: Opened) -> None:
    opened.store.get_token("t1")
    assert opened.stamped.change_stamp() is not None
    opened.store.close()
    with pytest.raises(StoreError):
        opened.store.get_token("t1")
    assert opened.stamped.change_stamp() is None


def test_a_read_sent_before_a_write_of_ours_is_not_kept() -> None:
    """Its answer may predate the write, which must apply to this process's next request."""
    clock = FakeClock()
    window = StampWindow(WINDOW_MS, clock)
    ticket = window.ticket()
    window.forget()  # the write returned while the read was on the wire
    window.observe(7, ticket)
    assert window.current() is None
    window.observe(8, window.ticket())
    assert window.current() == 8


@pytest.mark.parametrize("bad", [-1, True, 1.5, "100", None, MAX_STALENESS_MS + 1])
def test_bad_windows_are_refused(open_redis: Callable[..., Store], bad: object) -> None:
    with pytest.raises(ConfigError, match="max_staleness_ms"):
        open_redis("redis://127.0.0.1:1/0", max_staleness_ms=bad)


@pytest.mark.parametrize(
    "query",
    ["max_staleness_ms=abc", "max_staleness_ms=-5", "max_staleness_ms=1&max_staleness_ms=2"],
)
def test_bad_windows_in_the_url_are_refused(open_redis: Callable[..., Store], query: str) -> None:
    with pytest.raises(ConfigError, match="max_staleness_ms"):
        open_redis(f"redis://127.0.0.1:1/0?{query}")


def test_the_url_option_wins_and_redis_py_never_sees_it(
    open_redis: Callable[..., Store], redis_server: RedisServer
) -> None:
    url = f"{redis_server.url}?max_staleness_ms=250&socket_timeout=2"
    store = open_redis(url, prefix=fresh_prefix(), max_staleness_ms=WINDOW_MS)
    assert getattr(getattr(store, "inner", store), "max_staleness_ms", None) == 250
    assert store.get_token("absent").record is None  # the client works: the query was taken


def test_realm_open_takes_the_option_from_the_url(redis_server: RedisServer) -> None:
    realm = Realm.open(f"{redis_server.url}?max_staleness_ms=500")
    try:
        assert getattr(realm.store, "max_staleness_ms", None) == 500
    finally:
        realm.close()
    async_realm = AsyncRealm.open(f"{redis_server.url}?max_staleness_ms=500")
    assert getattr(async_realm.store, "max_staleness_ms", None) == 500


def test_a_stamp_lost_with_the_data_is_never_offered_and_starts_again_higher(
    opened: Opened,
) -> None:
    """A server emptied (or restarted without its data) must not bring back a value under
    which decisions were remembered: no stamp is no offer, and a new one starts from the
    server's time in microseconds, above any value the old one reached."""
    old = opened.counter()
    assert old > 10**15, "started from the server's time, not from 0"
    opened.server.client().delete(opened.prefix + "stamp")
    opened.store.get_token("t1")
    assert opened.stamped.change_stamp() is None
    DECISIVE_WRITES["put"](opened.store)
    assert opened.counter() > old
    opened.store.get_token("t1")
    assert opened.stamped.change_stamp() == opened.counter()
