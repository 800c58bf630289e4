"""The stores compared through the realm: token validations (the same token, a new token each
call, N concurrent threads or tasks) with throughput and p50/p99; revoke-all of a user's tokens;
memory per live token (Redis ``INFO``/``MEMORY USAGE``, SQLite file size, tracemalloc).

MemoryStore, SQLiteStore (a temp file) and RedisStore under ``Realm``; AsyncRedisStore under
``AsyncRealm``. Redis is a ``redis-server`` this module starts on a free loopback port in a temp
folder (no persistence); without one (or without redis-py) the Redis rows are skipped with a note.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _timing import Report, Result, Settings, cli

from baas_auth import (
    AsyncRealm,
    InvalidTokenError,
    MemoryStore,
    PasswordHasher,
    Principal,
    Realm,
    SQLiteStore,
)
from baas_auth.core.record_keys import user_principal_key

FAST_HASHER = PasswordHasher(n=16, r=1, p=1)
ORG, APP, PASSWORD = "acme", "shop", "wonderland"
MEMORY_DB = 1
"""The Redis database the memory figures are measured in: its own keyspace, nothing else in it."""


class SanityError(RuntimeError):
    """A call answered wrongly; its timing would measure a broken path."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to run: windows of the validation scenarios, and the sizes of the one-shots."""

    windows: int
    window_s: float
    warmup: int
    first_calls: int
    """Calls per window of the first-sightings scenario (each a token never seen before)."""
    revoke_tokens: int
    throttled_grants: int
    memory_users: int
    memory_tokens: tuple[int, ...]
    traced_tokens: int
    threads: tuple[int, ...] = (1, 4, 16)
    tasks: tuple[int, ...] = (1, 16, 64)

    @classmethod
    def pick(cls, settings: Settings) -> Plan:
        if settings.batches < Settings().batches:  # --quick
            return cls(
                windows=3,
                window_s=0.1,
                warmup=50,
                first_calls=300,
                revoke_tokens=1_000,
                throttled_grants=50,
                memory_users=500,
                memory_tokens=(500, 1_500),
                traced_tokens=1_000,
            )
        return cls(
            windows=5,
            window_s=0.3,
            warmup=200,
            first_calls=2_000,
            revoke_tokens=10_000,
            throttled_grants=500,
            memory_users=10_000,
            memory_tokens=(10_000, 100_000),
            traced_tokens=10_000,
        )

    @property
    def first_pool(self) -> int:
        return self.warmup + self.windows * self.first_calls + 1  # +1: the sanity check


# -- a redis-server of our own --------------------------------------------------------------------


class RedisServer:
    """``redis-server`` on a free loopback port, files in a temp folder, no persistence."""

    def __init__(self, executable: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="baas-auth-bench-redis-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        line = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        line += ["--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no"]
        line += ["--logfile", str(self.folder / "redis.log")]
        self.process = subprocess.Popen(line, stdout=subprocess.DEVNULL)  # noqa: S603
        self._wait()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=30)

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        with self.client() as probe:
            while True:
                try:
                    if probe.ping():
                        return
                except Exception:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.01)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis(report: Report) -> RedisServer | None:
    executable = shutil.which("redis-server")
    try:
        import redis  # noqa: F401
    except ImportError:
        report.notes.append("stores: redis-py is not installed; the Redis rows were skipped")
        return None
    if executable is None:
        report.notes.append("stores: redis-server is not on PATH; the Redis rows were skipped")
        return None
    server = RedisServer(executable)
    with server.client() as client:
        info = client.info("server")
    report.notes.append(
        f"stores: redis-server {info['redis_version']} on 127.0.0.1 (TCP, no persistence),"
        f" redis-py {sys.modules['redis'].__version__}"
    )
    return server


# -- the realms -----------------------------------------------------------------------------------

Call = Callable[[str], Any]
"""One validation (or, for scale, one bare redis-py command); awaitable for the async rows."""


class Subject:
    """One store under its realm, seen through the same few calls, sync or async."""

    def __init__(
        self,
        name: str,
        realm: Realm | AsyncRealm,
        loop: asyncio.AbstractEventLoop | None = None,
        server: RedisServer | None = None,
    ) -> None:
        self.name = name
        self.realm: Any = realm
        self.loop = loop
        self.server = server
        """The redis-server behind the store, asked how long it worked (None: not Redis)."""

    def wait(self, value: Any) -> Any:
        """A sync realm's answer as it is; an async realm's awaited on the module's loop."""
        return value if self.loop is None else self.loop.run_until_complete(value)

    def grant(self, username: str = "alice") -> str:
        return str(self.wait(self.realm.password_token(ORG, APP, username, PASSWORD)).access_token)

    def grants(self, count: int, username: str = "alice") -> list[str]:
        if self.loop is None:
            return [self.grant(username) for _ in range(count)]
        return list(self.wait(_async_grants(self.realm, count, username)))

    def check(self, token: str, username: str) -> None:
        principal: Principal = self.wait(self.realm.authenticate_token(token))
        if principal.username != username:
            raise SanityError(f"{self.name}: the token authenticated as {principal.username}")

    def refused(self, token: str) -> None:
        try:
            self.wait(self.realm.authenticate_token(token))
        except InvalidTokenError:
            return
        raise SanityError(f"{self.name}: a revoked token was accepted")

    def revoke(self, username: str) -> int:
        return int(self.wait(self.realm.revoke_user_tokens(ORG, APP, username)))

    def server_cpu_us(self) -> float:
        """CPU time redis-server's main thread has used so far, in µs (0: not Redis): commands,
        scripts and its side of the sockets. Not ``INFO commandstats``, which counts a command
        a script calls twice (in the script's time and under its own name)."""
        if self.server is None:
            return 0.0
        with self.server.client() as client:
            cpu = client.info("cpu")
        return (cpu["used_cpu_sys_main_thread"] + cpu["used_cpu_user_main_thread"]) * 1e6

    def close(self) -> None:
        self.wait(self.realm.close())


async def _async_grants(realm: AsyncRealm, count: int, username: str) -> list[str]:
    return [
        (await realm.password_token(ORG, APP, username, PASSWORD)).access_token
        for _ in range(count)
    ]


def seed(realm: Realm, usernames: Iterable[str] = ("alice", "bob")) -> None:
    realm.create_org(ORG)
    realm.create_app(ORG, APP, roles="usergrid")
    for name in usernames:
        realm.create_user(ORG, APP, name, password=PASSWORD)


def realm_on(store: Any, **settings: Any) -> Realm:
    """A realm with the cheap hasher and, unless asked, no login throttle (4 fewer store calls
    per password grant; the validations never touch it)."""
    settings.setdefault("login_throttle", None)
    return Realm(store, password_hasher=FAST_HASHER, **settings)


def subjects(folder: Path, server: RedisServer | None, loop: Any) -> list[Subject]:
    memory = realm_on(MemoryStore())
    sqlite = realm_on(SQLiteStore(folder / "bench.db"))
    found = [Subject("memory", memory), Subject("sqlite", sqlite)]
    for realm in (memory, sqlite):
        seed(realm)
    if server is not None:
        from baas_auth.stores.redis import AsyncRedisStore, RedisStore

        sync = realm_on(RedisStore(server.url(), timeout=30))
        seed(sync)
        store = AsyncRedisStore(server.url(), timeout=30)
        aio = AsyncRealm(store, password_hasher=FAST_HASHER, login_throttle=None)
        found += [Subject("redis", sync, None, server), Subject("redis-async", aio, loop, server)]
    return found


# -- timing windows -------------------------------------------------------------------------------

Source = Callable[[], str]


@dataclass(frozen=True, slots=True)
class Windows:
    """What the timed windows of one configuration measured."""

    per_call_ns: float
    """Wall time per validation, all workers together (1 / throughput), median of windows."""
    p50_ns: float
    p99_ns: float
    calls: int
    """Timed calls, all windows together (the warm-up not counted)."""
    cpu_share: float


def _summary(walls: list[int], counts: list[int], laps: list[int], cpu: int) -> Windows:
    per_call = statistics.median(wall / count for wall, count in zip(walls, counts, strict=True))
    cuts = statistics.quantiles(laps, n=100, method="inclusive")
    return Windows(per_call, cuts[49], cuts[98], sum(counts), cpu / max(sum(walls), 1))


def _timed_loop(call: Call, source: Source, calls: int, stop_ns: int) -> list[int]:
    """Time each call: ``calls`` of them, or (calls 0) until ``stop_ns``."""
    laps: list[int] = []
    clock = time.perf_counter_ns
    while True:
        start = clock()
        call(source())
        end = clock()
        laps.append(end - start)
        if (calls and len(laps) >= calls) or (not calls and end >= stop_ns):
            return laps


def thread_windows(call: Call, sources: list[Source], plan: Plan, calls: int) -> Windows:
    """N threads calling at once, window after window; between windows they wait at a barrier."""
    barrier = threading.Barrier(len(sources) + 1, timeout=120)
    stop = [0]
    laps: list[list[list[int]]] = [[] for _ in sources]
    failed: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for _ in range(plan.warmup):
                call(sources[index]())
            for _ in range(plan.windows):
                barrier.wait()
                laps[index].append(_timed_loop(call, sources[index], calls, stop[0]))
                barrier.wait()
        except BaseException as exc:  # handed to the main thread, which re-raises it
            failed.append(exc)
            barrier.abort()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(sources))]
    for worker in workers:
        worker.start()
    walls, cpu = [], 0
    try:
        for _ in range(plan.windows):
            gc.collect()
            stop[0] = time.perf_counter_ns() + int(plan.window_s * 1e9)
            cpu_start, start = time.process_time_ns(), time.perf_counter_ns()
            barrier.wait()
            barrier.wait()
            walls.append(time.perf_counter_ns() - start)
            cpu += time.process_time_ns() - cpu_start
    except threading.BrokenBarrierError:
        raise failed[0] if failed else RuntimeError("a worker thread got stuck") from None
    for worker in workers:
        worker.join()
    counts = [sum(len(laps[i][w]) for i in range(len(sources))) for w in range(plan.windows)]
    every = [lap for worker in laps for window in worker for lap in window]
    return _summary(walls, counts, every, cpu)


async def _task_loop(call: Call, source: Source, calls: int, stop_ns: int) -> list[int]:
    laps: list[int] = []
    clock = time.perf_counter_ns
    while True:
        start = clock()
        await call(source())
        end = clock()
        laps.append(end - start)
        if (calls and len(laps) >= calls) or (not calls and end >= stop_ns):
            return laps


async def task_windows(call: Call, sources: list[Source], plan: Plan, calls: int) -> Windows:
    """N asyncio tasks on one loop calling at once, window after window."""
    await asyncio.gather(*(_task_loop(call, s, plan.warmup, 0) for s in sources))
    walls, counts, laps, cpu = [], [], [], 0
    for _ in range(plan.windows):
        gc.collect()
        stop = time.perf_counter_ns() + int(plan.window_s * 1e9)
        cpu_start, start = time.process_time_ns(), time.perf_counter_ns()
        done = await asyncio.gather(*(_task_loop(call, s, calls, stop) for s in sources))
        walls.append(time.perf_counter_ns() - start)
        cpu += time.process_time_ns() - cpu_start
        counts.append(sum(len(mine) for mine in done))
        laps += [lap for mine in done for lap in mine]
    return _summary(walls, counts, laps, cpu)


def windows(subject: Subject, sources: list[Source], plan: Plan, calls: int = 0) -> Windows:
    """The subject's validations timed in windows: threads for a sync realm, else tasks."""
    return run_windows(subject.loop, subject.realm.authenticate_token, sources, plan, calls)


def run_windows(
    loop: asyncio.AbstractEventLoop | None,
    call: Call,
    sources: list[Source],
    plan: Plan,
    calls: int,
) -> Windows:
    if loop is None:
        return thread_windows(call, sources, plan, calls)
    return loop.run_until_complete(task_windows(call, sources, plan, calls))


# -- rows -----------------------------------------------------------------------------------------


def _row(report: Report, group: str, name: str, value: float, cpu: float, **params: Any) -> None:
    """A row; ``per_call_ns`` holds the value in the row's unit (ns, or bytes for memory rows)."""
    report.results.append(Result(group, name, value, 1, 1, round(cpu, 3), params))
    shown = f"{value:,.0f} B" if params.get("unit") == "B" else f"{value / 1000:,.2f} us"
    print(f"  {group:14} {shown:>14}  {name}", file=sys.stderr, flush=True)


def add_windows(
    report: Report, store: str, scenario: str, workers: int, found: Windows, unit: str
) -> None:
    """Three rows: wall time per validation (1 / throughput), p50 and p99 latency."""
    label = f"{store}, {scenario}, {workers} {unit}{'s' if workers > 1 else ''}"
    params = {"store": store, "scenario": scenario, "workers": workers, "calls": found.calls}
    stats = {"per_call": found.per_call_ns, "p50": found.p50_ns, "p99": found.p99_ns}
    for stat, value in stats.items():
        _row(report, "stores", f"{label} [{stat}]", value, found.cpu_share, stat=stat, **params)


def _unit(loop: object) -> str:
    return "thread" if loop is None else "task"


# -- 1. validations -------------------------------------------------------------------------------


def steady(subject: Subject, plan: Plan, report: Report) -> None:
    """Each worker repeats one token of its own, seen before: 1 worker, then more at once."""
    counts = plan.threads if subject.loop is None else plan.tasks
    tokens = subject.grants(max(counts))
    for token in tokens:
        subject.check(token, "alice")
    for workers in counts:
        sources = [_constant(token) for token in tokens[:workers]]
        scenario = "steady" if workers == 1 else "concurrent"
        server = subject.server_cpu_us()
        found = windows(subject, sources, plan)
        add_windows(report, subject.name, scenario, workers, found, _unit(subject.loop))
        if subject.server is not None and workers == 1:
            server_ns = (subject.server_cpu_us() - server) * 1000 / (found.calls + plan.warmup)
            name = f"{subject.name}, steady, redis-server CPU per validation"
            _row(
                report,
                "stores",
                name,
                server_ns,
                found.cpu_share,
                stat="server",
                store=subject.name,
                scenario=scenario,
                workers=1,
            )


def _constant(token: str) -> Source:
    return lambda: token


def first_sightings(subject: Subject, pool: list[str], plan: Plan, report: Report) -> None:
    """One worker, a token this realm has never seen on every call."""
    subject.check(pool[0], "alice")
    fresh = iter(pool[1:])
    found = windows(subject, [fresh.__next__], plan, plan.first_calls)
    add_windows(report, subject.name, "first sightings", 1, found, _unit(subject.loop))


def bare_commands(
    server: RedisServer, loop: asyncio.AbstractEventLoop, plan: Plan, report: Report
) -> None:
    """For scale: a plain redis-py ``GET`` of a 200-byte value, no realm, same workers."""
    import redis.asyncio

    key = "bench:plain"
    with server.client() as client:
        client.set(key, b"x" * 200)
        if client.get(key) != b"x" * 200:
            raise SanityError("redis-py GET returned another value")
        for workers in plan.threads:
            found = run_windows(None, client.get, [_constant(key)] * workers, plan, 0)
            add_windows(report, "redis-py GET", "bare", workers, found, "thread")
    aio = redis.asyncio.Redis.from_url(server.url())
    for workers in plan.tasks:
        found = run_windows(loop, aio.get, [_constant(key)] * workers, plan, 0)
        add_windows(report, "redis.asyncio GET", "bare", workers, found, "task")
    loop.run_until_complete(aio.aclose())


# -- 2. revoke-all --------------------------------------------------------------------------------


def revoke_all(subject: Subject, plan: Plan, report: Report, sqlite_file: Path | None) -> None:
    """Issue ``revoke_tokens`` tokens to bob (timed apart), then revoke them all in one call."""
    count, group = plan.revoke_tokens, "stores-revoke"
    common = {"store": subject.name, "tokens": count}
    size_before = _checkpointed_size(sqlite_file)
    timer = Stopwatch()
    tokens = subject.grants(count, "bob")
    timer.stop()
    name = f"{subject.name}, issue {count:,} tokens (per token)"
    _row(report, group, name, timer.wall / count, timer.share, stat="issue", **common)
    if sqlite_file is not None:
        size = (_checkpointed_size(sqlite_file) - size_before) / count
        name = f"sqlite, file bytes per token, {count:,} tokens of 1 user"
        _row(
            report,
            "stores-memory",
            name,
            size,
            timer.share,
            stat="file",
            per_user=count,
            unit="B",
            **common,
        )
    subject.check(tokens[0], "bob")
    subject.check(tokens[-1], "bob")
    server = subject.server_cpu_us()
    timer = Stopwatch()
    revoked = subject.revoke("bob")
    timer.stop()
    server = subject.server_cpu_us() - server
    if revoked != count:
        raise SanityError(f"{subject.name}: revoke-all revoked {revoked} tokens, not {count}")
    subject.refused(tokens[-1])
    name = f"{subject.name}, revoke-all of {count:,} tokens"
    _row(report, group, name, timer.wall, timer.share, stat="revoke", **common)
    if subject.server is not None:
        name = f"{subject.name}, revoke-all, redis-server CPU"
        _row(report, group, name, server * 1000, timer.share, stat="server", **common)


class Stopwatch:
    """Wall time and the share of it this process had the CPU."""

    def __init__(self) -> None:
        self._cpu, self._start = time.process_time_ns(), time.perf_counter_ns()
        self.wall, self.share = 0, 0.0

    def stop(self) -> None:
        self.wall = time.perf_counter_ns() - self._start
        self.share = (time.process_time_ns() - self._cpu) / max(self.wall, 1)


def _checkpointed_size(path: Path | None) -> int:
    """The database file's size once the WAL is copied into it and truncated."""
    if path is None:
        return 0
    conn = sqlite3.connect(path)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    if busy:
        raise SanityError("the SQLite checkpoint could not complete: a reader held the WAL")
    return path.stat().st_size


def throttled_grants(subject: Subject, plan: Plan, report: Report) -> None:
    """Password grants with the default ``LoginThrottle``: what a real token endpoint pays."""
    kind = Realm if subject.loop is None else AsyncRealm
    throttled = Subject(
        subject.name, kind(subject.realm.store, password_hasher=FAST_HASHER), subject.loop
    )
    throttled.check(throttled.grant(), "alice")
    count = plan.throttled_grants
    timer = Stopwatch()
    throttled.grants(count)
    timer.stop()
    name = f"{subject.name}, password grant with LoginThrottle"
    _row(
        report,
        "stores-revoke",
        name,
        timer.wall / count,
        timer.share,
        stat="throttled",
        store=subject.name,
        tokens=count,
    )


# -- 3. memory per live token ---------------------------------------------------------------------


def traced_memory(plan: Plan, report: Report) -> None:
    """MemoryStore: tracemalloc's growth while issuing (the store's records), then while each
    token is authenticated once (the realm's caches of verified tokens and token records)."""
    subject = Subject("memory", realm_on(MemoryStore()))
    seed(subject.realm)
    subject.check(subject.grant(), "alice")
    count = plan.traced_tokens
    tracemalloc.start()
    try:
        before = _traced()
        tokens = subject.grants(count)
        held = sum(map(sys.getsizeof, tokens)) + sys.getsizeof(tokens)  # ours, not the store's
        stored = _traced() - before - held
        before = _traced()
        for token in tokens:
            subject.realm.authenticate_token(token)
        cached = _traced() - before
    finally:
        tracemalloc.stop()
    common = {"store": "memory", "tokens": count, "per_user": count, "unit": "B"}
    name = f"memory, tracemalloc per token stored, {count:,} tokens"
    _row(report, "stores-memory", name, stored / count, 1.0, stat="traced", **common)
    name = f"memory, realm caches per token seen, {count:,} tokens"
    _row(report, "stores-memory", name, cached / count, 1.0, stat="caches", **common)


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def redis_memory(server: RedisServer, plan: Plan, report: Report) -> None:
    """Tokens issued round-robin to ``memory_users`` users, in a database of their own:
    ``used_memory`` growth per token, and ``MEMORY USAGE`` of one token's keys."""
    from baas_auth.stores.redis import RedisStore

    realm = realm_on(RedisStore(server.url(MEMORY_DB), timeout=30))
    names = tuple(f"user{i:06d}" for i in range(plan.memory_users))
    seed(realm, names)
    subject = Subject("redis", realm)
    with server.client(MEMORY_DB) as client:
        base, issued, timer = _used(client), 0, Stopwatch()
        for target in plan.memory_tokens:
            while issued < target:
                token = subject.grant(names[issued % len(names)])
                issued += 1
            timer.stop()
            subject.check(token, names[(issued - 1) % len(names)])
            per_user = issued // len(names)
            common = {"store": "redis", "tokens": issued, "per_user": per_user, "unit": "B"}
            name = f"redis, used_memory per token, {issued:,} tokens, {per_user} per user"
            per_token = (_used(client) - base) / issued
            _row(
                report, "stores-memory", name, per_token, timer.share, stat="used_memory", **common
            )
            for stat, value in _key_usage(client, realm, names[0], issued).items():
                name = f"redis, MEMORY USAGE {stat}, {issued:,} tokens"
                _row(report, "stores-memory", name, value, timer.share, stat=stat, **common)
    realm.close()


def _used(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def _key_usage(client: Any, realm: Realm, username: str, issued: int) -> dict[str, float]:
    """``MEMORY USAGE`` (exact: SAMPLES 0) of one token's hash, its owner's set, and the
    expiry index divided by the tokens in it; the length of the token record the realm wrote.
    Key names as docs/redis.md lays them out."""
    prefix = "baas:"
    uuid = realm.get_user(ORG, APP, username).uuid
    owner = f"{prefix}tok-of:{user_principal_key(ORG, APP, uuid)}"
    token_id = client.srandmember(owner)
    index = client.zcard(prefix + "tok-by-exp")
    if token_id is None or index != issued:
        raise SanityError(f"redis key layout: owner set {owner!r} or index ({index}) not found")

    def usage(key: str) -> int:
        value = client.memory_usage(key, samples=0)
        if value is None:
            raise SanityError(f"redis key layout: {key!r} not found")
        return int(value)

    token_key = f"{prefix}tok:{token_id.decode()}"
    return {
        "record length": client.hstrlen(token_key, "r"),
        "token hash": usage(token_key),
        "owner set": usage(owner),
        "expiry index per token": usage(prefix + "tok-by-exp") / index,
    }


# -- the module -----------------------------------------------------------------------------------


def run(settings: Settings, report: Report) -> None:
    plan = Plan.pick(settings)
    folder = Path(tempfile.mkdtemp(prefix="baas-auth-bench-stores-"))
    server = start_redis(report)
    loop = asyncio.new_event_loop()
    try:
        found = subjects(folder, server, loop)
        validations(found, plan, report)
        if server is not None:
            bare_commands(server, loop, plan, report)
        for subject in found:
            revoke_all(
                subject, plan, report, folder / "bench.db" if subject.name == "sqlite" else None
            )
            throttled_grants(subject, plan, report)
        traced_memory(plan, report)
        if server is not None:
            redis_memory(server, plan, report)
        for subject in found:
            subject.close()
    finally:
        loop.close()
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def validations(found: list[Subject], plan: Plan, report: Report) -> None:
    """Steady state and concurrency, then first sightings, store by store. The async realm
    reuses the sync Redis realm's pool of fresh tokens: it has never seen them either."""
    pools: dict[str, list[str]] = {}
    for subject in found:
        if subject.name == "redis-async":
            pool = pools["redis"]
        else:
            pool = pools[subject.name] = subject.grants(plan.first_pool)
        steady(subject, plan, report)
        first_sightings(subject, pool, plan, report)


if __name__ == "__main__":
    cli(run)
