"""Real servers on loopback: requests per second of uvicorn and gunicorn serving a trivial app,
bare and behind baas_auth (memory, SQLite, Redis) or Starlette's ``AuthenticationMiddleware``,
under a load generator (wrk when it is on PATH, else a bounded Python client).

Every server runs one worker and loads ``_served.py``; its realm is provisioned before it
serves. Every request is ``GET /books/1`` with alice's valid bearer token, allowed by a rule of
her role: the permission check is part of every admitted request. Rounds are interleaved
(every target once, then again), each target's figure is the median of its rounds, and its
ratio the median over rounds of its rate ÷ the rate of the same server's bare app in that
round. A target that answers anything but 200, or drops a connection, is an error, not a figure.

    PYTHONPATH=. python benchmarks/bench_servers.py --quick     # about a minute
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

from _apps import PEER_TOKEN
from _realms import FAST_HASHER, PASSWORD
from _served import PATH, USER, provider_keys, provider_token, seed, trust_provider
from _timing import Report
from bench_stores import RedisServer, start_redis

from baas_auth import Realm, SQLiteStore, Store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WRK_SCRIPT = HERE / "wrk_statuses.lua"
READY_DEADLINE_S = 30.0
"""A server that has not answered by then has failed (a loaded 2-core machine is slow)."""
REQUEST_TIMEOUT_S = 10.0
STOP_WAIT_S = 10.0
TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"
VERSIONS = ("uvicorn", "gunicorn", "starlette", "h11", "httptools", "uvloop", "redis", "hiredis")
GRANT_BODY = f"grant_type=password&username={USER}&password={PASSWORD}"
"""The mixed load's password grant, to the single-app middleware's ``/token`` (``_served``:
``application="acme/shop"``); each moves a SQLite store's change stamp (a new token row)."""


# -- what is measured -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One server and app: ``group`` names the server and the app kind, ``variant`` what wraps
    the app (``_served.py``); ``refusal`` is the status a request without a token must get."""

    group: str
    variant: str
    label: str
    refusal: int | None = None
    grant_every: int = 0
    """Mixed load: one password grant (``POST /token``) in every ``grant_every`` requests, the
    others the usual read (wrk only; 0: reads only)."""

    @property
    def key(self) -> str:
        return f"{self.group}:{self.variant}"

    @property
    def store(self) -> str:
        """The store of the served realm (``_served``'s variant): ``sqlite-mixed`` is SQLite,
        ``redis-mixed`` Redis, ``memory-metrics`` memory, ``sqlite-jwt`` SQLite."""
        variant = self.variant.removesuffix("-mixed").removesuffix("-metrics")
        return variant.removesuffix("-otel").removesuffix("-jwt")

    @property
    def federated(self) -> bool:
        """The bearer is an identity provider's JWT (``_served``'s ``-jwt`` variants)."""
        return self.variant.endswith("-jwt")

    @property
    def server(self) -> str:
        return self.group.split("-", 1)[0]

    @property
    def uses_redis(self) -> bool:
        return self.variant.startswith("redis")


GROUPS = {
    "uvicorn-asgi": "uvicorn, plain ASGI app",
    "uvicorn-starlette": "uvicorn, Starlette app",
    "gunicorn-wsgi": "gunicorn gthread, plain WSGI app",
}
FACTORIES = {
    "uvicorn-asgi": "_served:asgi_app",
    "uvicorn-starlette": "_served:starlette_app",
    "gunicorn-wsgi": "_served:wsgi_app()",
}
TARGETS = (
    Target("uvicorn-asgi", "bare", "bare ASGI app"),
    Target("uvicorn-asgi", "memory", "baas_auth, memory store", 401),
    Target("uvicorn-asgi", "memory-metrics", "baas_auth, memory store, PrometheusMetrics", 401),
    Target("uvicorn-asgi", "memory-jwt", "baas_auth, memory store, provider's JWT", 401),
    Target("uvicorn-asgi", "sqlite", "baas_auth, SQLite store", 401),
    Target("uvicorn-asgi", "sqlite-jwt", "baas_auth, SQLite store, provider's JWT", 401),
    Target("uvicorn-asgi", "redis", "baas_auth, Redis (AsyncRealm, AsyncRedisStore)", 401),
    Target("uvicorn-asgi", "redis-window", "baas_auth, Redis, max_staleness_ms=1000", 401),
    Target("uvicorn-asgi", "redis-full", "baas_auth, Redis, every request decided in full", 401),
    Target("uvicorn-asgi", "sqlite-mixed", "baas_auth, SQLite, 1 token grant per 100", 401, 100),
    Target("uvicorn-asgi", "redis-mixed", "baas_auth, Redis, 1 token grant per 100", 401, 100),
    Target("uvicorn-starlette", "bare", "bare Starlette app"),
    Target("uvicorn-starlette", "memory", "baas_auth (protect), memory store", 401),
    Target("uvicorn-starlette", "sqlite", "baas_auth (protect), SQLite store", 401),
    Target("uvicorn-starlette", "peer", "Starlette AuthenticationMiddleware, dict lookup", 403),
    Target("gunicorn-wsgi", "bare", "bare WSGI app"),
    Target("gunicorn-wsgi", "memory", "baas_auth, memory store", 401),
    Target("gunicorn-wsgi", "memory-metrics", "baas_auth, memory store, PrometheusMetrics", 401),
    Target("gunicorn-wsgi", "memory-jwt", "baas_auth, memory store, provider's JWT", 401),
    Target("gunicorn-wsgi", "sqlite", "baas_auth, SQLite store", 401),
    Target("gunicorn-wsgi", "sqlite-jwt", "baas_auth, SQLite store, provider's JWT", 401),
    Target("gunicorn-wsgi", "redis", "baas_auth, Redis (RedisStore)", 401),
    Target("gunicorn-wsgi", "redis-window", "baas_auth, Redis, max_staleness_ms=1000", 401),
    Target("gunicorn-wsgi", "redis-full", "baas_auth, Redis, every request decided in full", 401),
    Target("gunicorn-wsgi", "sqlite-mixed", "baas_auth, SQLite, 1 token grant per 100", 401, 100),
    Target("gunicorn-wsgi", "redis-mixed", "baas_auth, Redis, 1 token grant per 100", 401, 100),
)


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how hard: the same for every target of a run."""

    seconds: float
    """Each measured round of each target (wrk: whole seconds, at least 1)."""
    warmup: float
    rounds: int
    connections: int
    threads: int
    """gunicorn gthread's threads in its one worker."""

    @classmethod
    def pick(cls, quick: bool) -> Plan:
        if quick:
            return cls(seconds=1, warmup=1, rounds=2, connections=16, threads=4)
        return cls(seconds=5, warmup=3, rounds=5, connections=16, threads=4)


@dataclass(frozen=True, slots=True)
class Sample:
    """What one load run saw."""

    requests: int
    """Responses received, whatever their status."""
    seconds: float
    not_200: int
    socket_errors: int
    """Connections refused, reset or timed out."""
    p50_us: float
    p99_us: float
    server_cpu: float = 0.0
    """The server's CPU time (all its processes) over the run's wall time: near 1.0, the
    server had its core to itself and used it all; well below, something else was slow (or
    other work shared its core)."""
    server_cpu_s: float = 0.0
    server_queued: float = 0.0
    """The time the server's threads waited for a CPU while runnable, over the run's wall time
    (summed over threads): above a few hundredths, other work shared the server's core."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def rate_per_cpu(self) -> float:
        """Requests per second of the server's CPU time: its cost per request, which other
        work on a shared core changes much less than the rate."""
        return self.requests / self.server_cpu_s if self.server_cpu_s > 0 else 0.0

    @property
    def failed(self) -> bool:
        return self.not_200 > 0 or self.socket_errors > 0 or self.requests == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rate": round(self.rate, 1),
            "rate_per_cpu": round(self.rate_per_cpu, 1),
        }


@dataclass(slots=True)
class Outcome:
    """A target's warm-up and rounds, or the reason it has no figure."""

    target: Target
    warmup: Sample | None = None
    rounds: list[Sample] = field(default_factory=list)
    error: str | None = None

    def check(self, sample: Sample, when: str) -> None:
        """An error the first time a run saw anything but 200s."""
        if sample.failed and self.error is None:
            self.error = (
                f"{when}: {sample.not_200} answers other than 200, {sample.socket_errors} socket"
                f" errors, {sample.requests} responses"
            )


# -- load generators ------------------------------------------------------------------------------


class Load(Protocol):
    name: str

    def run(
        self, port: int, authorization: str, seconds: float, grant_every: int = 0
    ) -> Sample: ...


class Wrk:
    """wrk with one thread, ``connections`` keep-alive connections; the Lua script counts the
    answers that are not 200 and hands the token to wrk through the environment."""

    def __init__(self, executable: str, connections: int, pin: Sequence[str]) -> None:
        self.executable, self.connections, self.pin = executable, connections, list(pin)
        self.name = _wrk_version(executable)

    def run(self, port: int, authorization: str, seconds: float, grant_every: int = 0) -> Sample:
        line = [*self.pin, self.executable, "-t1", f"-c{self.connections}"]
        line += [f"-d{max(1, math.ceil(seconds))}s", "--timeout", f"{REQUEST_TIMEOUT_S:.0f}s"]
        line += ["-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}{PATH}"]
        env = {**os.environ, "BENCH_AUTHORIZATION": authorization}
        if grant_every:
            env["BENCH_GRANT_EVERY"], env["BENCH_GRANT_BODY"] = str(grant_every), GRANT_BODY
        bound = math.ceil(seconds) + REQUEST_TIMEOUT_S + STOP_WAIT_S  # wrk ends on its own
        done = subprocess.run(  # noqa: S603
            line, capture_output=True, text=True, env=env, check=False, timeout=bound
        )
        for text in done.stdout.splitlines():
            if text.startswith("BENCH_WRK "):
                found = json.loads(text.removeprefix("BENCH_WRK "))
                errors = found["socket_errors"] + found["timeouts"]
                seconds_run = found["duration_us"] / 1e6
                p50, p99 = found["p50_us"], found["p99_us"]
                return Sample(found["requests"], seconds_run, found["not_200"], errors, p50, p99)
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr or done.stdout}")


def _wrk_version(executable: str) -> str:
    shown = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    words = (shown.stdout or shown.stderr).split()
    return " ".join(words[:2]) if words else "wrk"


@dataclass(slots=True)
class _Tally:
    latencies_ns: list[int] = field(default_factory=list)
    not_200: int = 0
    socket_errors: int = 0


class PythonClient:
    """``connections`` threads, each one keep-alive ``http.client`` connection sending the
    request again as soon as the answer is read, until the run's time is up. Bounded: a fixed
    number of threads, a deadline, a timeout on every socket. It shares the GIL among its
    threads and may not saturate a fast server as wrk does; the ratios then come out closer
    to 1."""

    name = "python http.client"

    def __init__(self, connections: int) -> None:
        self.connections = connections

    def run(self, port: int, authorization: str, seconds: float, grant_every: int = 0) -> Sample:
        if grant_every:
            raise RuntimeError("a mixed load needs wrk (apt-get install wrk)")
        headers = {"Authorization": authorization}
        stop_at = time.perf_counter() + seconds
        tallies = [_Tally() for _ in range(self.connections)]
        workers = [
            threading.Thread(target=_keep_sending, args=(port, headers, stop_at, tally))
            for tally in tallies
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        laps = sorted(lap for tally in tallies for lap in tally.latencies_ns)
        return Sample(
            len(laps),
            elapsed,
            sum(tally.not_200 for tally in tallies),
            sum(tally.socket_errors for tally in tallies),
            _percentile(laps, 50) / 1000,
            _percentile(laps, 99) / 1000,
        )


def _keep_sending(port: int, headers: dict[str, str], stop_at: float, tally: _Tally) -> None:
    connection: http.client.HTTPConnection | None = None
    while time.perf_counter() < stop_at:
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        began = time.perf_counter_ns()
        try:
            connection.request("GET", PATH, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            tally.socket_errors += 1
            connection.close()
            connection = None
            continue
        tally.latencies_ns.append(time.perf_counter_ns() - began)
        if response.status != 200:
            tally.not_200 += 1
    if connection is not None:
        connection.close()


def _percentile(ordered: list[int], percent: int) -> float:
    if not ordered:
        return 0.0
    return float(ordered[min(len(ordered) - 1, len(ordered) * percent // 100)])


# -- pinning --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pinning:
    """Servers on one core, the load generator (and redis-server) on another, when the machine
    has two to give and ``taskset`` is there; otherwise nothing is pinned."""

    server_cpu: int | None = None
    client_cpu: int | None = None

    @classmethod
    def pick(cls, wanted: bool) -> Pinning:
        cpus = sorted(os.sched_getaffinity(0))
        if not wanted or len(cpus) < 2 or shutil.which("taskset") is None:
            return cls()
        return cls(cpus[0], cpus[1])

    @staticmethod
    def _prefix(cpu: int | None) -> list[str]:
        return [] if cpu is None else ["taskset", "-c", str(cpu)]

    def server(self) -> list[str]:
        return self._prefix(self.server_cpu)

    def client(self) -> list[str]:
        return self._prefix(self.client_cpu)

    def move_to_client_cpu(self, pid: int) -> None:
        """Every thread of a running process (redis-server, this process) to the client core."""
        if self.client_cpu is None:
            return
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), {self.client_cpu})


# -- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(target: Target, port: int, plan: Plan) -> list[str]:
    """One worker; no access log; uvicorn without lifespan (the bare ASGI app has none)."""
    factory = FACTORIES[target.group]
    if target.server == "uvicorn":
        options = ["--factory", factory, "--host", "127.0.0.1", "--port", str(port)]
        options += ["--lifespan", "off", "--no-access-log", "--log-level", "warning"]
        return [sys.executable, "-m", "uvicorn", *options]
    options = ["--worker-class", "gthread", "--workers", "1", "--threads", str(plan.threads)]
    options += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    if int(version("gunicorn").split(".")[0]) >= 27:
        options.append("--no-control-socket")  # else one ~/.gunicorn/gunicorn.ctl for all
    return [sys.executable, "-m", "gunicorn", *options, factory]


class Server:
    """One server process on a free loopback port, its output in a log file."""

    def __init__(
        self, target: Target, port: int, command: list[str], env: dict[str, str], log: Path
    ) -> None:
        self.target, self.port, self.log = target, port, log
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603
                command, cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_until_listening(self) -> None:
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                pass
            self._pause_while_alive()
        raise RuntimeError(f"{self.target.key} did not listen:\n{self.log.read_text()}")

    def wait_for_file(self, path: Path) -> str:
        """What the server writes to ``path`` at start (a memory realm's token)."""
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if path.exists():
                return path.read_text()
            self._pause_while_alive()
        raise RuntimeError(f"{self.target.key} wrote no {path.name}:\n{self.log.read_text()}")

    def _pause_while_alive(self) -> None:
        try:
            self.process.wait(timeout=0.05)  # the pause between attempts, and a liveness check
        except subprocess.TimeoutExpired:
            return
        raise RuntimeError(
            f"{self.target.key} exited ({self.process.returncode}):\n{self.log.read_text()}"
        )

    def _pids(self) -> list[int]:
        return [self.process.pid, *_children(self.process.pid)]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its children (gunicorn's worker)."""
        ticks = 0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone, or no /proc: the figure reads 0
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def queued_seconds(self) -> float:
        """How long the server's threads have waited, runnable, for a CPU (``schedstat``): the
        time other work on its core took from it."""
        waited = 0
        for pid in self._pids():
            for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
                try:
                    waited += int(task.read_text().split()[1])
                except (OSError, IndexError, ValueError):
                    continue  # a thread that ended meanwhile, or no schedstats
        return waited / 1e9

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_WAIT_S)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue  # a thread that ended meanwhile
    return found


def get(port: int, authorization: str | None) -> tuple[int, bytes]:
    """One request outside the load, for the checks before a target is measured."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=READY_DEADLINE_S)
    try:
        headers = {} if authorization is None else {"Authorization": authorization}
        connection.request("GET", PATH, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def sanity_error(target: Target, port: int, authorization: str) -> str | None:
    """Why the target must not be measured: its admitted answer is not the inner app's 200
    ``ok``, or (wrapped) a request without the token is not refused."""
    status, body = get(port, authorization)
    if (status, body) != (200, b"ok"):
        return f"with the token: {status} {body[:200]!r}"
    if target.refusal is not None:
        status, body = get(port, None)
        if status != target.refusal:
            return f"without a token: {status} (expected {target.refusal}) {body[:200]!r}"
    return None


# -- realms ---------------------------------------------------------------------------------------


class Realms:
    """Provision each wrapped target's realm before its server starts: a SQLite file or a Redis
    key prefix of its own, seeded here; a memory realm is seeded by the server itself."""

    def __init__(self, folder: Path, redis: RedisServer | None) -> None:
        self.folder, self.redis = folder, redis

    def env(self, target: Target) -> tuple[dict[str, str], str | None]:
        """The server's environment and the Authorization header (None: the server's
        token file, once it has started); a ``-jwt`` target's realm also trusts a provider
        whose public keys go in the environment, and its header is that provider's token."""
        name = target.key.replace(":", "-")
        env = {"BENCH_VARIANT": target.variant}
        if target.store in ("bare", "peer"):
            return env, PEER_TOKEN  # the bare apps get the same header, and ignore it
        jwks, federated = None, None
        if target.federated:
            key, jwks = provider_keys()
            env["BENCH_JWKS"], federated = jwks, "Bearer " + provider_token(key)
        if target.store == "memory":
            env["BENCH_TOKEN_FILE"] = str(self.folder / f"{name}.token")
            return env, federated
        if target.store == "sqlite":
            path = self.folder / f"{name}.db"
            env["BENCH_SQLITE"] = str(path)
            own = self._seeded(SQLiteStore(path), jwks)
            return env, federated or own
        return self._redis_env(env, name)

    def _redis_env(self, env: dict[str, str], name: str) -> tuple[dict[str, str], str]:
        from baas_auth.stores.redis import RedisStore

        if self.redis is None:
            raise RuntimeError("a Redis target without a redis-server")
        env["BENCH_REDIS_URL"], env["BENCH_REDIS_PREFIX"] = self.redis.url(), f"bench:{name}:"
        store = RedisStore(self.redis.url(), prefix=env["BENCH_REDIS_PREFIX"])
        return env, self._seeded(store)

    @staticmethod
    def _seeded(store: Store, jwks: str | None = None) -> str:
        realm = Realm(store, password_hasher=FAST_HASHER)
        try:
            token = seed(realm)
            if jwks is not None:
                trust_provider(realm, jwks)
            return "Bearer " + token
        finally:
            realm.close()


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The project and ``benchmarks/`` importable by the server (it loads ``_served``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


# -- a run ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Running:
    """A started, checked target: its server and the header its requests carry."""

    outcome: Outcome
    server: Server
    authorization: str


def start(target: Target, realms: Realms, plan: Plan, pinning: Pinning, folder: Path) -> Running:
    extra, given = realms.env(target)
    port = free_port()
    command = [*pinning.server(), *server_command(target, port, plan)]
    log = folder / f"{target.key.replace(':', '-')}.log"
    server = Server(target, port, command, server_env(extra), log)
    try:
        server.wait_until_listening()
        authorization = given or ""
        if "BENCH_TOKEN_FILE" in extra:  # a memory realm, seeded once the server has started
            own = "Bearer " + server.wait_for_file(Path(extra["BENCH_TOKEN_FILE"]))
            authorization = given or own
        outcome = Outcome(target, error=sanity_error(target, port, authorization))
    except BaseException:
        server.stop()
        raise
    return Running(outcome, server, authorization)


def measure(running: Running, load: Load, seconds: float) -> Sample:
    server = running.server
    cpu, queued, wall = server.cpu_seconds(), server.queued_seconds(), time.perf_counter()
    target = running.outcome.target
    sample = load.run(server.port, running.authorization, seconds, target.grant_every)
    cpu = server.cpu_seconds() - cpu
    queued = server.queued_seconds() - queued
    wall = time.perf_counter() - wall
    return replace(
        sample,
        server_cpu=round(cpu / wall, 3),
        server_cpu_s=round(cpu, 3),
        server_queued=round(queued / wall, 3),
    )


def run_rounds(started: list[Running], load: Load, plan: Plan) -> None:
    """Warm every target up, then the rounds: each target once per round, in the same order."""
    live = [item for item in started if item.outcome.error is None]
    for item in live:
        _progress(f"warm-up {item.outcome.target.key}")
        item.outcome.warmup = measure(item, load, plan.warmup)
        item.outcome.check(item.outcome.warmup, "warm-up")
    for number in range(1, plan.rounds + 1):
        for item in live:
            sample = measure(item, load, plan.seconds)
            item.outcome.rounds.append(sample)
            item.outcome.check(sample, f"round {number}")
            _progress(
                f"round {number}/{plan.rounds} {item.outcome.target.key}: "
                f"{sample.rate:,.0f} req/s, server CPU {sample.server_cpu:.2f},"
                f" waited {sample.server_queued:.2f}"
            )


def _progress(text: str) -> None:
    print(f"  servers  {text}", file=sys.stderr, flush=True)


def run(
    targets: Sequence[Target], plan: Plan, load: Load, pinning: Pinning, report: Report
) -> list[Outcome]:
    """Start every target's server, measure them in interleaved rounds, stop them."""
    folder = Path(tempfile.mkdtemp(prefix="baas-auth-bench-servers-"))
    redis = _redis(targets, report, pinning)
    try:
        with ExitStack() as servers:
            started = []
            for target in targets:
                _progress(f"start {target.key}")
                running = start(target, Realms(folder, redis), plan, pinning, folder)
                servers.callback(running.server.stop)
                started.append(running)
            run_rounds(started, load, plan)
        return [item.outcome for item in started]
    finally:
        if redis is not None:
            redis.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _redis(targets: Sequence[Target], report: Report, pinning: Pinning) -> RedisServer | None:
    if not any(target.uses_redis for target in targets):
        return None
    shared = Report()
    server = start_redis(shared)
    report.notes += [note.replace("stores:", "servers:", 1) for note in shared.notes]
    if server is not None:
        pinning.move_to_client_cpu(server.process.pid)
    return server


# -- figures --------------------------------------------------------------------------------------


def summary(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Per target: median rate, its range, ratio to the same server's bare app; or its error."""
    bare = {o.target.group: o for o in outcomes if o.target.variant == "bare" and not o.error}
    rows = []
    for outcome in outcomes:
        target = outcome.target
        row: dict[str, Any] = {
            "key": target.key,
            "group": target.group,
            "variant": target.variant,
            "label": target.label,
            "error": outcome.error,
            "warmup": outcome.warmup.as_dict() if outcome.warmup else None,
            "rounds": [sample.as_dict() for sample in outcome.rounds],
        }
        if outcome.error is None and outcome.rounds:
            row.update(_figures(outcome, bare.get(target.group)))
        rows.append(row)
    return rows


def _figures(outcome: Outcome, bare: Outcome | None) -> dict[str, Any]:
    rates = [sample.rate for sample in outcome.rounds]
    figures: dict[str, Any] = {
        "rate": statistics.median(rates),
        "rate_min": min(rates),
        "rate_max": max(rates),
        "p50_us": statistics.median(sample.p50_us for sample in outcome.rounds),
        "p99_us": statistics.median(sample.p99_us for sample in outcome.rounds),
        "server_cpu": statistics.median(sample.server_cpu for sample in outcome.rounds),
        "server_queued": statistics.median(sample.server_queued for sample in outcome.rounds),
        "rate_per_cpu": statistics.median(sample.rate_per_cpu for sample in outcome.rounds),
        "requests": sum(sample.requests for sample in outcome.rounds),
    }
    if bare is not None and len(bare.rounds) == len(outcome.rounds):
        pairs = list(zip(outcome.rounds, bare.rounds, strict=True))
        ratios = [mine.rate / theirs.rate for mine, theirs in pairs]
        figures.update(ratio=statistics.median(ratios), round_ratios=ratios)
        if all(mine.rate_per_cpu and theirs.rate_per_cpu for mine, theirs in pairs):
            costs = [mine.rate_per_cpu / theirs.rate_per_cpu for mine, theirs in pairs]
            figures.update(cpu_ratio=statistics.median(costs))
    return figures


def markdown(rows: list[dict[str, Any]]) -> str:
    header = ["Server, app", "Target", "requests/s", f"min{DASH}max of rounds", f"{TIMES} bare"]
    header += ["p50 ms", "p99 ms", "server CPU", "waited for a CPU", "requests per CPU-s"]
    header.append(f"{TIMES} bare per CPU-s")
    header.append("responses")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join([GROUPS[row["group"]], row["label"], *_cells(row)]) + " |")
    return "\n".join(lines)


def _cells(row: dict[str, Any]) -> list[str]:
    if row["error"] is not None or "rate" not in row:
        return [f"**error**: {row['error']}", *[""] * 9]
    ratio = f"{row['ratio']:.2f}{TIMES}" if "ratio" in row else "n/a"
    cpu_ratio = f"{row['cpu_ratio']:.2f}{TIMES}" if "cpu_ratio" in row else "n/a"
    return [
        f"{row['rate']:,.0f}",
        f"{row['rate_min']:,.0f}{DASH}{row['rate_max']:,.0f}",
        ratio,
        f"{row['p50_us'] / 1000:.2f}",
        f"{row['p99_us'] / 1000:.2f}",
        f"{row['server_cpu']:.2f}",
        f"{row['server_queued']:.2f}",
        f"{row['rate_per_cpu']:,.0f}",
        cpu_ratio,
        f"{row['requests']:,}, all 200",
    ]


def describe(plan: Plan, load: Load, pinning: Pinning, quick: bool) -> dict[str, Any]:
    return {
        "client": load.name,
        "plan": asdict(plan),
        "quick": quick,
        "pinning": asdict(pinning),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": {name: v for name in VERSIONS if (v := _version(name)) is not None},
    }


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


# -- the command ----------------------------------------------------------------------------------


def chosen(only: Sequence[str] | None, report: Report) -> list[Target]:
    """``--only`` keys (``uvicorn-asgi:memory``) or groups (``gunicorn-wsgi``); Redis targets
    are dropped, with a note, when no redis-server can be started."""
    picked = [t for t in TARGETS if not only or t.key in only or t.group in only]
    if not picked:
        raise SystemExit(f"--only matches no target; targets: {', '.join(t.key for t in TARGETS)}")
    missing = _redis_missing() if any(t.uses_redis for t in picked) else None
    if missing is not None:
        report.notes.append(f"servers: {missing}; the Redis targets were skipped")
        picked = [t for t in picked if not t.uses_redis]
    return picked


def _redis_missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH"
    if importlib.util.find_spec("redis") is None:
        return "redis-py is not installed (pip install -e '.[redis]')"
    return None


def load_generator(choice: str, plan: Plan, pinning: Pinning, report: Report) -> Load:
    executable = shutil.which("wrk")
    if choice == "wrk" and executable is None:
        raise SystemExit("--client wrk: wrk is not on PATH (apt-get install wrk)")
    if choice != "python" and executable is not None:
        return Wrk(executable, plan.connections, pinning.client())
    if choice == "auto":
        report.notes.append("servers: wrk is not on PATH; the Python client sent the load")
    pinning.move_to_client_cpu(os.getpid())  # the client's threads run in this process
    return PythonClient(plan.connections)


@contextmanager
def _timed() -> Iterator[dict[str, float]]:
    took = {"started": time.time()}
    yield took
    took["seconds"] = round(time.time() - took["started"], 1)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 s: about a minute")
    parser.add_argument("--only", action="append", help="a target (group:variant) or a group")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seconds", type=float, help="each round of each target")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per target")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--connections", type=int)
    parser.add_argument("--no-pin", action="store_true", help="no taskset pinning")
    parser.add_argument("--json", type=Path, help="write the report here (run.py's format)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="else in this folder")
    parser.add_argument("--list", action="store_true", help="print the targets and exit")
    return parser.parse_args(argv)


def plan_from(args: argparse.Namespace) -> Plan:
    plan = Plan.pick(args.quick)
    given = {
        "seconds": args.seconds,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "connections": args.connections,
    }
    return Plan(**{**asdict(plan), **{k: v for k, v in given.items() if v is not None}})


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(f"{t.key:28} {t.label}" for t in TARGETS))
        return 0
    report, plan = Report(), plan_from(args)
    targets = chosen(args.only, report)
    pinning = Pinning.pick(not args.no_pin)
    load = load_generator(args.client, plan, pinning, report)
    with _timed() as took:
        meta = describe(plan, load, pinning, args.quick)
        rows = summary(run(targets, plan, load, pinning, report))
    meta.update(seconds=took["seconds"], load_average_end=[round(x, 2) for x in os.getloadavg()])
    errors = [row["key"] for row in rows if row["error"] is not None]
    if errors:
        report.notes.append(f"servers: no figure for {', '.join(errors)} (see their error)")
    text = markdown(rows)
    print(text, file=sys.stderr if args.json else sys.stdout)  # run.py prints its own copy
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    payload = {**report.as_dict(), "servers": {"meta": meta, "targets": rows}}
    write(payload, text, args)
    return 1 if errors else 0


def write(payload: dict[str, Any], text: str, args: argparse.Namespace) -> None:
    if args.json is not None:
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"servers-{stamp}.json").write_text(json.dumps(payload, indent=1) + "\n")
    (args.out / f"servers-{stamp}.md").write_text(text + "\n")
    print(f"Saved {args.out / f'servers-{stamp}.json'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
