"""A Redis directory key that is not UTF-8 (behaviour §6.3: a store record that cannot be decoded is
a store failure): 503 with ``StoreError`` for every request that reads the app's roles, guests
included, never 500; on both adapters, over ``RedisStore`` and ``AsyncRedisStore``.

Another client wrote such a key into the directory hash and its key index: the scan of the
app's roles hands it back, and decoding the reply used to raise ``UnicodeDecodeError`` outside
the store's handling of failures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters import test_redis_outage
from tests.adapters.test_redis_outage import (
    PREFIX,
    Deployment,
    _refused,
    _served,
    _token,
    deploy,
)
from tests.conftest import FakeClock
from tests.redis_server import RedisServer

server = test_redis_outage.server  # the fixture: a redis-server of the test's own

_BAD_KEY = b"role:acme/shop:\xff\xfe"


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def deployment(
    request: pytest.FixtureRequest,
    server: RedisServer,
    clock: FakeClock,
) -> Iterator[Deployment]:
    yield from deploy(request.param, server, clock)


def test_a_directory_key_that_is_not_utf8_is_503_until_removed(
    deployment: Deployment, server: RedisServer
) -> None:
    alice = _token(deployment, "alice")
    _served(deployment, alice, "alice")
    deployment.calls.clear()
    with server.client() as raw:
        record = raw.hget(f"{PREFIX}dir", "role:acme/shop:guest")
        assert record is not None
        raw.hset(f"{PREFIX}dir", _BAD_KEY, record)
        raw.zadd(f"{PREFIX}dir:keys", {_BAD_KEY: 0})
        raw.incr(f"{PREFIX}gen")  # as any write does: caches are dropped, and the
        raw.incr(f"{PREFIX}stamp")  # decisions remembered under the old stamp with them
        for token in (alice, None, alice):
            _refused(deployment.get(token), deployment)
        raw.hdel(f"{PREFIX}dir", _BAD_KEY)
        raw.zrem(f"{PREFIX}dir:keys", _BAD_KEY)
        raw.incr(f"{PREFIX}gen")
        raw.incr(f"{PREFIX}stamp")
    _served(deployment, alice, "alice")
