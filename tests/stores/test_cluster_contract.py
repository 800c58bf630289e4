"""The Store contract, and the token listing every copy and backup uses, on a three-shard Redis
Cluster (``redis+cluster://``), through both Redis stores.

The tests are those of ``test_contract.py`` and ``test_token_transfer.py``, collected again here
with this module's ``store``: a ``RedisStore`` or an ``AsyncRedisStore`` (behind the blocking
facade) on a cluster started for the module, each test under a fresh prefix with a hash tag, so
every script runs in one slot of one shard, whichever shard that is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from baas_auth.stores import Store
from tests.conftest import fresh_prefix
from tests.redis_topologies import RedisCluster
from tests.stores.conftest import open_redis_store
from tests.stores.test_contract import *  # noqa: F403 - the same tests, on this module's store
from tests.stores.test_token_transfer import *  # noqa: F403


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    servers = RedisCluster(tmp_path_factory.mktemp("cluster"))
    yield servers
    servers.stop()


@pytest.fixture(params=["redis", "redis-async"])
def store(request: pytest.FixtureRequest, cluster: RedisCluster) -> Iterator[Store]:
    prefix = "{" + fresh_prefix().rstrip(":") + "}:"
    with ExitStack() as stack:
        yield open_redis_store(request.param, cluster.url, stack, prefix=prefix)
