"""The Redis stores when the server fails: every call raises StoreError within the timeout,
with no hidden retries, and the same store answers again once the server is back.

Each test has its own redis-server (or a socket that never answers), never the session one.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baas_auth.errors import StoreError
from baas_auth.stores import Store
from tests.redis_server import RedisServer

OpenRedis = Callable[..., Store]

TIMEOUT_S = 0.5
REFUSED_WITHIN_S = 4 * TIMEOUT_S


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that accepts connections (the kernel does, into the backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def _every_call(store: Store) -> list[Callable[[], object]]:
    return [
        lambda: store.get("k"),
        lambda: store.get_many(["k", "l"]),
        lambda: store.put("k", b"v"),
        lambda: store.transact(create={"c": b"v"}),
        lambda: store.scan(""),
        lambda: store.generation(),
        lambda: store.put_token("t", "user:a", b"r", created_ms=1, expires_at_ms=None),
        lambda: store.get_token("t"),
        lambda: store.touch_token("t", 2),
        lambda: store.delete_principal_tokens("user:a"),
        lambda: store.purge_expired(1),
        lambda: store.swap_transient("n", None, b"v", expires_at_ms=1),
    ]


def _fails_within(call: Callable[[], object], limit_s: float) -> float:
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        call()
    elapsed = time.monotonic() - started
    assert elapsed < limit_s, f"{elapsed:.2f} s"
    assert raised.value.__cause__ is not None  # the driver's error, chained
    return elapsed


def test_a_server_that_never_answers_fails_the_call_after_one_timeout(
    open_redis: OpenRedis, silent_url: str
) -> None:
    # redis.Redis(host=…) retries by default (3 times, with backoff, also around connecting):
    # the store must wait one timeout, not several.
    store = open_redis(silent_url, timeout=TIMEOUT_S)
    for call in [lambda: store.get("k"), lambda: store.get_token("t")]:
        elapsed = _fails_within(call, 2 * TIMEOUT_S)
        assert elapsed >= 0.9 * TIMEOUT_S


def test_a_hung_server_fails_calls_on_open_connections_after_one_timeout(
    open_redis: OpenRedis, own_server: RedisServer
) -> None:
    store = open_redis(own_server.url, timeout=TIMEOUT_S)
    store.put("k", b"v")  # a connection is open and idle in the pool
    assert own_server.process is not None
    os.kill(own_server.process.pid, signal.SIGSTOP)
    try:
        elapsed = _fails_within(lambda: store.get("k"), 2 * TIMEOUT_S)
        assert elapsed >= 0.9 * TIMEOUT_S
    finally:
        os.kill(own_server.process.pid, signal.SIGCONT)
    assert store.get("k") == b"v"


def test_a_killed_server_fails_every_call_quickly_and_its_restart_is_picked_up(
    open_redis: OpenRedis, own_server: RedisServer
) -> None:
    store = open_redis(own_server.url, timeout=TIMEOUT_S)
    _write_some(store)
    own_server.kill()
    for call in _every_call(store):
        # Refused at once: no waiting out a timeout, no retrying with backoff (seconds). The
        # bound is loose on purpose: a loaded 2-core machine took 0.56 s to schedule a refused
        # connection of the asyncio store's loop thread.
        _fails_within(call, REFUSED_WITHIN_S)
    own_server.start()  # the same port, the same append-only file
    assert store.get("dir/1") == b"one"  # the same store object, no reconnecting by hand
    _check_some(store)


def _write_some(store: Store) -> None:
    store.put("dir/1", b"one")
    assert store.transact(create={"dir/2": b"two"})
    store.put_token("t1", "user:a", b"token", created_ms=1, expires_at_ms=None)
    assert store.swap_transient("n", None, b"count", expires_at_ms=10**14)


def _check_some(store: Store) -> None:
    assert store.scan("dir/") == [("dir/1", b"one"), ("dir/2", b"two")]
    assert store.get_token("t1") == (b"token", store.generation())
    assert store.get_transient("n") == b"count"
    assert store.delete_principal_tokens("user:a") == 1


def test_a_closed_store_fails_without_touching_the_network(
    open_redis: OpenRedis, silent_url: str
) -> None:
    store = open_redis(silent_url, timeout=TIMEOUT_S)
    store.close()
    for call in _every_call(store):
        started = time.monotonic()
        with pytest.raises(StoreError, match="closed"):
            call()
        assert time.monotonic() - started < 0.1
