"""What the Sentinel check adds to a change stamp read: the same primary read as ``redis://`` and
as ``redis+sentinel://`` (``ROLE`` pipelined with the ``GET``, a sentinel asked at the same time).

Starts its own ``redis-server`` and sentinel on free loopback ports (no persistence) and times
``change_stamp()`` of ``RedisStore`` and ``AsyncRedisStore`` over both URLs, in rounds that
alternate the URLs so that a busy machine weighs on both alike: per read, the median of the
rounds' wall time and the client's CPU time (``process_time``). Not a test: nothing asserts on
time. ``PYTHONPATH=. python benchmarks/bench_sentinel_stamp.py [--reads N] [--rounds N]``
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from baas_auth.stores.redis import AsyncRedisStore, RedisStore

SERVICE = "bench"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"not within 30 s: {what}")


class Servers:
    """A primary and one sentinel watching it (quorum 1)."""

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise SystemExit("redis-server is not on PATH")
        self.folder = Path(tempfile.mkdtemp(prefix="baas-auth-bench-sentinel-"))
        self.port, self.sentinel_port = _free_port(), _free_port()
        primary = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        primary += ["--appendonly", "no", "--dir", str(self.folder)]
        config = self.folder / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.port} 1\n"
        )
        sentinel_line = [executable, str(config), "--sentinel"]
        self.processes = [
            subprocess.Popen(line, stdout=subprocess.DEVNULL)  # noqa: S603
            for line in (primary, sentinel_line)
        ]
        sentinel = redis.Redis(port=self.sentinel_port)
        _wait(lambda: bool(sentinel.sentinel_get_master_addr_by_name(SERVICE)), "the sentinel")
        sentinel.close()

    @property
    def urls(self) -> dict[str, str]:
        return {
            "redis://": f"redis://127.0.0.1:{self.port}/0",
            "redis+sentinel://": f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}/0",
        }

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def _sync_round(url: str, reads: int) -> tuple[float, float]:
    store = RedisStore(url, prefix="bench:")
    try:
        store.put("k", b"v")  # a stamp to read
        for _ in range(200):
            store.change_stamp()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(reads):
            store.change_stamp()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        store.close()


async def _async_reads(url: str, reads: int) -> tuple[float, float]:
    store = AsyncRedisStore(url, prefix="bench:")
    try:
        await store.put("k", b"v")
        for _ in range(200):
            await store.read_change_stamp()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(reads):
            await store.read_change_stamp()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await store.close()


def _async_round(url: str, reads: int) -> tuple[float, float]:
    return asyncio.run(_async_reads(url, reads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    servers = Servers()
    try:
        for store, run in (("RedisStore", _sync_round), ("AsyncRedisStore", _async_round)):
            rounds: dict[str, list[tuple[float, float]]] = {url: [] for url in servers.urls}
            for _ in range(options.rounds):
                for kind, url in servers.urls.items():
                    rounds[kind].append(run(url, options.reads))
            for kind, times in rounds.items():
                wall = statistics.median(t[0] for t in times) / options.reads * 1e6
                cpu = statistics.median(t[1] for t in times) / options.reads * 1e6
                print(f"| {store} | {kind} | {wall:.1f} µs | {cpu:.1f} µs |")
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
