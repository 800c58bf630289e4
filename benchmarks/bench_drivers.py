"""Cost of running a realm flow: a flow of ten store reads (``get``) through each driver, so that
the per-command overhead of the drivers (building a command, dispatching it, sending the result
back into the flow) shows beside the store's own work. Memory store: ``Driver``,
``BridgeDriver`` inline, ``AsyncDriver`` over a coroutine facade of it; SQLite (a temp file):
``Driver``, and ``BridgeDriver`` with its calls on the store's own thread.
"""

from __future__ import annotations

import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _timing import Report, RunBatch, Settings, cli, measure, repeat, result

from baas_auth import MemoryStore, SQLiteStore
from baas_auth.realm.async_drivers import AsyncDriver, BridgeDriver
from baas_auth.realm.drivers import Driver
from baas_auth.realm.store_commands import Flow, get

KEYS = [f"k{i}" for i in range(10)]


class SanityError(RuntimeError):
    """A flow answered wrongly; its timing would measure a broken path."""


class _CoroutineMemory:
    """The memory store's ``get`` as a coroutine: an ``AsyncStore`` for the one command read."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def get(self, key: str) -> bytes | None:
        return self._store.get(key)


def ten_reads() -> Flow[int]:
    found = 0
    for key in KEYS:
        found += (yield from get(key)) is not None
    return found


def _filled(store: MemoryStore | SQLiteStore) -> None:
    for key in KEYS:
        store.put(key, b"value")


def _loop_batch(loop: asyncio.AbstractEventLoop, driver: AsyncDriver | BridgeDriver) -> RunBatch:
    async def flows(n: int) -> None:
        for _ in range(n):
            await driver.run(ten_reads())

    def run_batch(n: int) -> None:
        loop.run_until_complete(flows(n))

    return run_batch


def _add(report: Report, name: str, run_batch: RunBatch, settings: Settings, store: str) -> None:
    report.add(result("drivers", name, measure(run_batch, settings), store=store))


def run(settings: Settings, report: Report) -> None:
    memory = MemoryStore()
    _filled(memory)
    if Driver(memory).run(ten_reads()) != len(KEYS):
        raise SanityError("a read of the flow found nothing")
    loop = asyncio.new_event_loop()
    driver = Driver(memory)
    rows: list[tuple[str, RunBatch, str]] = [
        ("Driver, 10 reads, memory", repeat(lambda: driver.run(ten_reads())), "memory"),
        ("BridgeDriver inline, 10 reads, memory", _loop_batch(loop, _inline(memory)), "memory"),
        ("AsyncDriver, 10 reads, memory facade", _loop_batch(loop, _awaited(memory)), "memory"),
    ]
    for name, run_batch, store in rows:
        _add(report, name, run_batch, settings, store)
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(1) as thread:
        sqlite = SQLiteStore(str(Path(folder) / "bench.db"))
        _filled(sqlite)
        blocking = Driver(sqlite)
        bridged = _loop_batch(loop, BridgeDriver(sqlite, thread))
        plain = repeat(lambda: blocking.run(ten_reads()))
        _add(report, "Driver, 10 reads, sqlite", plain, settings, "sqlite")
        _add(report, "BridgeDriver, store thread, 10 reads, sqlite", bridged, settings, "sqlite")
        sqlite.close()
    loop.close()


def _inline(memory: MemoryStore) -> BridgeDriver:
    return BridgeDriver(memory, None)


def _awaited(memory: MemoryStore) -> AsyncDriver:
    return AsyncDriver(_CoroutineMemory(memory))  # type: ignore[arg-type]


if __name__ == "__main__":
    cli(run)
