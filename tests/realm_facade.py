"""A blocking ``Realm`` over an ``AsyncRealm``: each call runs on a dedicated event-loop thread.

So that every test written against ``Realm`` (the whole realm suite, and every other test that
takes the ``realm`` or ``shop`` fixtures) runs unchanged against ``AsyncRealm`` too, as the
store contract suite runs against async stores through ``tests/stores/blocking_facade.py``.

Every coroutine method of the ``AsyncRealm`` is proxied with ``run_coroutine_threadsafe(…)
.result()`` on one loop, the loop the realm and its store were made on (so calls from many test
threads all meet on that loop, as a server's requests would); properties and plain methods
pass through. ``store`` is a blocking view of the realm's ``AsyncStore``, for the few tests
that read a record back.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from baas_auth import AsyncRealm, Realm
from tests.stores.blocking_facade import BlockingStore, LoopThread

__all__ = ["BlockingRealm"]


class BlockingRealm:
    """``Realm``'s methods, each awaiting the same method of an ``AsyncRealm`` on ``loop``.

    ``make`` is called on the loop (an async client binds to the loop that first uses it). The
    facade owns the loop unless one is given, and stops it on ``close``. ``loop`` is where
    anything else using the realm must run too (an ASGI middleware over ``inner``).
    """

    def __init__(self, make: Callable[[], AsyncRealm], loop: LoopThread | None = None) -> None:
        self._owns_loop = loop is None
        self.loop = LoopThread() if loop is None else loop
        try:
            self.inner: AsyncRealm = self.loop.run(_made(make))
            self.store = BlockingStore(lambda: self.inner.store, self.loop)
        except BaseException:
            self._stop_loop()
            raise
        missing = sorted(_public(Realm) - set(dir(self)))
        assert not missing, f"the facade does not reach AsyncRealm's {missing}"

    def __repr__(self) -> str:
        return f"BlockingRealm({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self.loop.run(attr(*args, **kwargs))

        return call

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self.inner)))

    def close(self) -> None:
        try:
            self.loop.run(self.inner.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        if self._owns_loop:
            self.loop.stop()


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


async def _made(make: Callable[[], AsyncRealm]) -> AsyncRealm:
    return make()
