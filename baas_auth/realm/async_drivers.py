"""The event-loop drivers: run a realm flow to its end without blocking the loop.

``AsyncDriver`` awaits an ``AsyncStore``. ``BridgeDriver`` runs a blocking ``Store``'s calls on a
thread of their own (one: a SQLite connection belongs to its thread), or inline for a store that
never blocks (memory). Both run ``Offload`` work (the password KDF) on a small shared pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Protocol, TypeVar, cast, runtime_checkable

from baas_auth.errors import StoreError
from baas_auth.realm.drivers import Served, Waker, stamp_of, wait_or_wake
from baas_auth.realm.store_commands import (
    Command,
    Flow,
    NetworkCall,
    Offload,
    Pause,
    StoreCommand,
)
from baas_auth.stores.protocols import AsyncStore, Store

__all__ = ["AsyncDriver", "BridgeDriver", "LoopWaker", "Serve", "bridge", "offload_pool"]

T = TypeVar("T")
K = TypeVar("K")

StampRead = Callable[[], Awaitable["int | None"]]
"""A freshness check that waits on the store, awaited by the ASGI adapter (None: ``stamp``,
a plain call, answers)."""


@runtime_checkable
class StampReadAwaited(Protocol):
    """A store whose change stamp is a round trip, offered awaited (``AsyncRedisStore``)."""

    async def read_change_stamp(self) -> int | None: ...


@runtime_checkable
class StampWaits(Protocol):
    """A blocking store that says whether its ``change_stamp`` makes a round trip
    (``RedisStore``'s exact stamp): the bridge then calls it on the store's thread."""

    @property
    def change_stamp_waits(self) -> bool: ...


# The KDF is CPU work that releases the GIL: more threads than cores would only queue it.
_OFFLOAD_THREADS = min(4, os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def offload_pool() -> Executor:
    """The process's pool for slow pure work, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_OFFLOAD_THREADS, thread_name_prefix="baas-auth-kdf")
        return _pool


class LoopWaker(Waker):
    """For a flow run on an event loop: woken from any thread, waited on without blocking."""

    __slots__ = ("_event", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout_ms: int) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_ms / 1000)
        self._event.clear()


class Serve(Protocol):
    """``AsyncDriver.serve`` (``BridgeDriver.serve``), as ``AsyncRealm.serve`` hands it out."""

    def __call__(self, served: Served[K, T], key: K) -> Awaitable[T]: ...


class _Runner:
    """The loop shared by the async drivers: send results in, throw errors in."""

    stamp: Callable[[], int | None]
    read_stamp: StampRead | None

    async def serve(self, served: Served[K, T], key: K) -> T:
        """``Driver.serve`` on the loop: the stamp awaited where reading it waits."""
        stamp = None
        if served.remembers:
            read = self.read_stamp
            try:
                stamp = self.stamp() if read is None else await read()
            except StoreError as error:  # the check is a store read: it fails closed, 503
                return served.refuse(error)
            if stamp is not None:
                answer = served.recall(key, stamp)
                if answer is not None:
                    return answer
        return await self.run(served.flow(key, stamp))

    async def run(self, flow: Flow[T]) -> T:
        reply: object = None
        failure: Exception | None = None
        while True:
            try:
                command = flow.send(reply) if failure is None else flow.throw(failure)
            except StopIteration as done:
                return cast(T, done.value)
            reply, failure = None, None
            try:
                reply = await self.execute(command)
            except Exception as error:  # handed to the flow: it decides, never this loop
                failure = error

    async def execute(self, command: Command) -> object:
        raise NotImplementedError

    @staticmethod
    async def wait_or_wake(command: Command) -> object:
        """Listening, pausing (without blocking the loop) and announcing (``drive``); and
        a network call, by its awaitable entry (which keeps any wait off the loop)."""
        if isinstance(command, NetworkCall):
            return await command.awaited()
        if isinstance(command, Pause):
            if not isinstance(command.waker, LoopWaker):  # never: made by this driver
                raise TypeError("a pause on a waker of another driver")
            await command.waker.wait(command.timeout_ms)
            return None
        if isinstance(command, StoreCommand | Offload):  # never: the drivers run those
            raise TypeError("not a wait")
        loop = asyncio.get_running_loop()
        return wait_or_wake(command, lambda: LoopWaker(loop))

    @staticmethod
    async def offload(command: Offload) -> object:
        work = functools.partial(command.function, *command.args)
        return await asyncio.get_running_loop().run_in_executor(offload_pool(), work)


class AsyncDriver(_Runner):
    """Runs flows over an ``AsyncStore`` on the running event loop. AsyncRealm's driver reads
    a store's stamp awaited (``read_stamp``) where the store reads it with a round trip
    (``AsyncRedisStore.read_change_stamp``); otherwise ``stamp`` is a plain call on the loop,
    answered from memory, or never known."""

    __slots__ = ("read_stamp", "stamp", "store")

    def __init__(self, store: AsyncStore) -> None:
        self.store = store
        self.stamp = stamp_of(store)
        read = store.read_change_stamp if isinstance(store, StampReadAwaited) else None
        self.read_stamp: StampRead | None = read

    async def execute(self, command: Command) -> object:
        if isinstance(command, StoreCommand):
            result: object = await command.run_async(self.store)
            return result
        if isinstance(command, Offload):
            return await self.offload(command)
        return await self.wait_or_wake(command)


class BridgeDriver(_Runner):
    """Runs flows over a blocking ``Store`` from an event loop: its calls on ``store_thread``
    (None: inline, for a store that never blocks). ``stamp``, the store's freshness check,
    runs on the loop when it waits on neither disk nor network; a store whose check makes a
    round trip (``RedisStore``'s exact stamp, ``change_stamp_waits``) has it run on
    ``store_thread`` instead, awaited (``read_stamp``)."""

    __slots__ = ("read_stamp", "stamp", "store", "store_thread")

    def __init__(self, store: Store, store_thread: Executor | None) -> None:
        self.store = store
        self.store_thread = store_thread
        self.stamp = stamp_of(store)
        waits = isinstance(store, StampWaits) and store.change_stamp_waits
        off_the_loop = waits and store_thread is not None
        self.read_stamp: StampRead | None = self._stamp_off_the_loop if off_the_loop else None

    async def _stamp_off_the_loop(self) -> int | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.store_thread, self.stamp)

    async def execute(self, command: Command) -> object:
        if isinstance(command, Offload):
            return await self.offload(command)
        if not isinstance(command, StoreCommand):
            return await self.wait_or_wake(command)
        if self.store_thread is None:
            return command.run(self.store)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.store_thread, command.run, self.store)


@runtime_checkable
class MaybeBlocking(Protocol):
    """A store that says whether its calls block (``MemoryStore.blocking`` is False)."""

    blocking: bool


def bridge(store: Store) -> BridgeDriver:
    """The event-loop driver of a ``Realm`` (whose own driver blocks) for an ASGI server: a
    blocking store's calls on one dedicated thread (a SQLite connection belongs to the thread
    that made it), a store that never blocks (memory) inline."""
    if isinstance(store, MaybeBlocking) and not store.blocking:
        return BridgeDriver(store, None)
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baas-auth-store")
    return BridgeDriver(store, thread)
