"""A synchronous ``Store`` over an ``AsyncStore``: each call runs on a dedicated event-loop thread.

This lets the one contract suite run, unchanged, against async stores: every test (threads
included) calls the facade, and every coroutine runs on the same loop, as a server's would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from baas_auth.stores import AsyncStore, TokenLookup
from baas_auth.stores.protocols import AsyncTokenTransfer, TokenEntry

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in its own thread, until ``stop``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="store-loop")
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result (or exception) here."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.run(self.loop.shutdown_asyncgens())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class BlockingStore:
    """The ``Store`` protocol, each method awaiting the same method of an ``AsyncStore``."""

    def __init__(self, make: Callable[[], AsyncStore], loop: LoopThread) -> None:
        self._loop = loop
        self.inner = loop.run(_made(make))  # made on the loop that will use its connections

    def __repr__(self) -> str:
        return f"BlockingStore({self.inner!r})"

    def get(self, key: str) -> bytes | None:
        return self._loop.run(self.inner.get(key))

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._loop.run(self.inner.get_many(keys))

    def put(self, key: str, value: bytes) -> None:
        return self._loop.run(self.inner.put(key, value))

    def create(self, key: str, value: bytes) -> bool:
        return self._loop.run(self.inner.create(key, value))

    def delete(self, key: str) -> bool:
        return self._loop.run(self.inner.delete(key))

    def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        return self._loop.run(self.inner.transact(create=create, put=put, delete=delete))

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        return self._loop.run(self.inner.scan(prefix))

    def generation(self) -> int:
        return self._loop.run(self.inner.generation())

    def put_token(
        self,
        token_id: str,
        principal_key: str,
        record: bytes,
        *,
        created_ms: int,
        expires_at_ms: int | None,
    ) -> None:
        coroutine = self.inner.put_token(
            token_id, principal_key, record, created_ms=created_ms, expires_at_ms=expires_at_ms
        )
        return self._loop.run(coroutine)

    def get_token(self, token_id: str) -> TokenLookup:
        return self._loop.run(self.inner.get_token(token_id))

    def touch_token(self, token_id: str, now_ms: int) -> int | None:
        return self._loop.run(self.inner.touch_token(token_id, now_ms))

    def delete_token(self, token_id: str) -> bool:
        return self._loop.run(self.inner.delete_token(token_id))

    def delete_principal_tokens(self, principal_key: str) -> int:
        return self._loop.run(self.inner.delete_principal_tokens(principal_key))

    def purge_expired(self, now_ms: int) -> int:
        return self._loop.run(self.inner.purge_expired(now_ms))

    def get_transient(self, key: str) -> bytes | None:
        return self._loop.run(self.inner.get_transient(key))

    def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> bool:
        coroutine = self.inner.swap_transient(key, expected, new, expires_at_ms=expires_at_ms)
        return self._loop.run(coroutine)

    def scan_tokens(self) -> list[TokenEntry]:
        assert isinstance(self.inner, AsyncTokenTransfer)
        return self._loop.run(self.inner.scan_tokens())

    def load_tokens(self, entries: Sequence[TokenEntry]) -> None:
        assert isinstance(self.inner, AsyncTokenTransfer)
        return self._loop.run(self.inner.load_tokens(entries))

    def close(self) -> None:
        return self._loop.run(self.inner.close())


async def _made(make: Callable[[], AsyncStore]) -> AsyncStore:
    return make()
