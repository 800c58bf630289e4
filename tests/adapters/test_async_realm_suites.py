"""The endpoint suite and the errors table again, with the ASGI adapter over an ``AsyncRealm``.

Every test of ``test_endpoints.py`` (but the WSGI-only ones) is collected here a second time,
with this module's ``world`` and ``make`` being the AsyncRealm ones (``async_world`` and
``make_async`` of ``tests/adapters/conftest.py``: ``AsyncRedisStore`` on the session
redis-server, requests on the realm's own event loop); ``caller`` and ``single`` follow
``make``. Every row of the errors table runs here too. Nothing here is specific to the async
realm: the point is that it answers every request exactly as a ``Realm`` does.
"""

from __future__ import annotations

import pytest

from tests.adapters import test_endpoints, test_errors_table
from tests.adapters.conftest import MakeCaller, World

# The endpoint tests, collected again in this module (so on the fixtures below); those about
# WSGI environ details build a WSGI middleware, which takes no AsyncRealm.
globals().update(
    {
        name: test
        for name, test in vars(test_endpoints).items()
        if name.startswith("test_") and "wsgi" not in name
    }
)


@pytest.fixture
def world(async_world: World) -> World:
    return async_world


@pytest.fixture
def make(make_async: MakeCaller) -> MakeCaller:
    return make_async


@pytest.mark.parametrize("row", test_errors_table.ROWS, ids=[r.id for r in test_errors_table.ROWS])
def test_errors_table_row(row: test_errors_table.Row, make: MakeCaller, world: World) -> None:
    test_errors_table.test_errors_table(row, make, world)
